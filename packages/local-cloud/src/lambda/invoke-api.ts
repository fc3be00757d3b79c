/**
 * The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) for the real
 * `@aws-sdk/client-lambda`: RequestResponse returns the payload with `X-Amz-Function-Error` on
 * failure, Event answers 202 and runs asynchronously, DryRun answers 204.
 */
import { AwsError, decodePathSegment, type RestService } from '../aws-protocol';
import type { AsyncInvoker } from './async';
import type { LambdaService } from './service';

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export function lambdaInvokeApi(lambda: LambdaService, asyncInvoker: AsyncInvoker): RestService {
  return {
    name: 'Lambda',
    matches: (method, path) => method === 'POST' && INVOKE_PATH.test(path),
    async handle(request) {
      const name = decodePathSegment(INVOKE_PATH.exec(request.path)![1]!, 'InvalidParameterValueException');
      const fn = lambda.get(name);
      if (!fn) throw new AwsError('ResourceNotFoundException', `Function not found: ${name}`, 404);
      let event: unknown = null;
      if (request.body.length > 0) {
        try {
          event = JSON.parse(request.body.toString('utf8'));
        } catch {
          throw new AwsError('InvalidRequestContentException', 'Could not parse request body into json', 400);
        }
      }
      const type = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
      if (type === 'DryRun') return { status: 204 };
      if (type === 'Event') {
        const requestId = asyncInvoker.invoke(fn, event);
        return { status: 202, body: Buffer.alloc(0), headers: { 'x-amzn-requestid': requestId } };
      }
      if (type !== 'RequestResponse') throw new AwsError('InvalidParameterValueException', `Unknown invocation type ${type}`);
      const result = await fn.invoke(event);
      const headers: Record<string, string> = {
        'x-amz-executed-version': '$LATEST',
        'x-amzn-requestid': result.requestId,
        'content-type': 'application/json',
      };
      if (result.ok) return { status: 200, body: Buffer.from(result.payload), headers };
      return {
        status: 200,
        body: Buffer.from(
          JSON.stringify({
            errorType: result.error.errorType,
            errorMessage: result.error.errorMessage,
            trace: result.error.stackTrace ?? [],
          }),
        ),
        headers: { ...headers, 'x-amz-function-error': result.functionError },
      };
    },
  };
}
