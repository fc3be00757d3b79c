import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';

// Quiet Powertools before the module creates its logger and metrics.
vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Test');
vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'test');
const { apiGatewayRequestId, instrument, logger } = await import('../../lambdas/shared/observability');

const context = {
  functionName: 'fn',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:fn',
  memoryLimitInMB: '256',
  awsRequestId: 'lambda-request-1',
} as Context;

describe('observability', () => {
  it('finds the API Gateway request id, and nothing in events without one', () => {
    expect(apiGatewayRequestId({ requestContext: { requestId: 'req-1' } })).toBe('req-1');
    expect(apiGatewayRequestId({ requestContext: {} })).toBeUndefined();
    expect(apiGatewayRequestId({ Records: [] })).toBeUndefined();
    expect(apiGatewayRequestId(null)).toBeUndefined();
  });

  it('passes the result through and sets the correlation id for the invocation only', async () => {
    let seen: unknown;
    const handler = instrument(
      async (event: { requestContext: { requestId: string } }) => {
        seen = logger.getCorrelationId();
        return event.requestContext.requestId.toUpperCase();
      },
      { correlationId: apiGatewayRequestId },
    );
    await expect(handler({ requestContext: { requestId: 'req-9' } }, context)).resolves.toBe('REQ-9');
    expect(seen).toBe('req-9');
    expect(logger.getCorrelationId()).toBeUndefined();
  });

  it('rethrows what the handler throws', async () => {
    const handler = instrument(async () => {
      throw new Error('boom');
    });
    await expect(handler({}, context)).rejects.toThrow('boom');
  });
});
