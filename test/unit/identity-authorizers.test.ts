/**
 * The two authorizers (lambdas/http/auth/authorizer.ts, lambdas/realtime/connect-authorizer.ts):
 * a refused credential is an outcome, logged at info with its reason and no stack, never at error
 * (issue 11, finding 8), and still fails with exactly `Unauthorized`, the one error API Gateway
 * answers with 401. The signing key and the ticket table are stand-ins; the token checks are real.
 */
import type { Context } from 'aws-lambda';
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Test');
vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
vi.stubEnv('SIGNING_SECRET_ARN', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:signing');
vi.stubEnv('REALTIME_TABLE_NAME', 'realtime');

const KEY = 'k'.repeat(64);
const ticketTable = vi.hoisted(() => ({ send: async (_command: object): Promise<Record<string, unknown>> => ({}) }));

vi.mock('../../lambdas/shared/identity/secrets-reader', () => ({
  secretsManagerReader: () => async () => JSON.stringify({ key: 'k'.repeat(64) }),
}));
vi.mock('../../lambdas/shared/dynamodb', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../lambdas/shared/dynamodb')>()),
  createDocumentClient: () => ({ send: (command: object) => ticketTable.send(command) }),
}));

const { handler: httpAuthorizer } = await import('../../lambdas/http/auth/authorizer');
const { handler: connectAuthorizer } = await import('../../lambdas/realtime/connect-authorizer');
const { AuthorizerRefusal, instrument, logger, metrics } = await import('../../lambdas/shared/observability');
const { AccessTokens } = await import('../../lambdas/shared/identity/tokens');

const context = { functionName: 'fn', awsRequestId: 'lambda-1' } as Context;
const encode = (text: string) => new TextEncoder().encode(text);

const spies = () => ({
  info: vi.spyOn(logger, 'info'),
  warn: vi.spyOn(logger, 'warn'),
  error: vi.spyOn(logger, 'error'),
  counted: vi.spyOn(metrics, 'addMetric'),
});
let { info, warn, error, counted } = spies();

beforeEach(() => {
  ({ info, warn, error, counted } = spies());
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** What the invocation failed with; fails the test when it did not fail. */
async function refusal(invocation: Promise<unknown>): Promise<Error> {
  const thrown = await invocation.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(thrown).toBeInstanceOf(Error);
  return thrown as Error;
}

/** Asserts one invocation was refused as an outcome: exactly `Unauthorized`, info with the reason, no error log. */
async function expectRefused(invocation: Promise<unknown>, reason: string, metric: string) {
  const thrown = await refusal(invocation);
  expect(error).not.toHaveBeenCalled();
  expect(warn).not.toHaveBeenCalled();
  expect(info.mock.calls).toEqual([['Credentials refused', { reason }]]);
  expect(thrown.message).toBe('Unauthorized');
  // No frames: the Lambda runtime prints the stack of what a handler throws.
  expect(thrown.stack).toBe('Error: Unauthorized');
  expect(counted.mock.calls.map(([name]) => name)).toEqual([metric]);
  info.mockClear();
  counted.mockClear();
}

async function sign(
  options: { key?: string; alg?: string; iat?: number; exp?: number; audience?: string; claims?: Record<string, unknown> } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'user', ...options.claims })
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setSubject('u1')
    .setIssuer('realtime-platform')
    .setAudience(options.audience ?? 'realtime-platform-api')
    .setIssuedAt(options.iat ?? now)
    .setExpirationTime(options.exp ?? now + 600)
    .setJti('j1')
    .sign(encode(options.key ?? KEY));
}

const httpEvent = (authorization?: string) => ({
  headers: authorization === undefined ? {} : { authorization },
  requestContext: { requestId: 'r1' },
});

describe('HTTP API authorizer', () => {
  it('authorizes a valid access token, logging nothing', async () => {
    const { token } = await new AccessTokens(async () => encode(KEY)).issue({ userId: 'u1', role: 'admin' });
    await expect(httpAuthorizer(httpEvent(`Bearer ${token}`), context)).resolves.toEqual({
      isAuthorized: true,
      context: { userId: 'u1', role: 'admin' },
    });
    expect(info).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
  });

  it('refuses each kind of bad token at info with its reason, never as an error', async () => {
    const now = Math.floor(Date.now() / 1000);
    const valid = await sign();
    const [h, p, s] = valid.split('.');
    const elevated = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), role: 'admin' })).toString(
      'base64url',
    );
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    const cases: [string | undefined, string][] = [
      [undefined, 'no_bearer_token'],
      [`Basic ${valid}`, 'no_bearer_token'],
      ['Bearer garbage', 'malformed'],
      [`Bearer ${h}.${elevated}.${s}`, 'bad_signature'],
      [`Bearer ${await sign({ key: 'z'.repeat(64) })}`, 'bad_signature'],
      [`Bearer ${unsigned}`, 'algorithm'],
      [`Bearer ${await sign({ alg: 'HS512' })}`, 'algorithm'],
      [`Bearer ${await sign({ iat: now - 7200, exp: now - 3600 })}`, 'expired'],
      [`Bearer ${await sign({ audience: 'someone-else' })}`, 'wrong_claims'],
      [`Bearer ${await sign({ claims: { role: 'root' } })}`, 'malformed'],
    ];
    for (const [authorization, reason] of cases) {
      await expectRefused(httpAuthorizer(httpEvent(authorization), context), reason, 'TokenRefused');
    }
  });
});

describe('WebSocket $connect authorizer', () => {
  const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:api/local/$connect';
  const connectEvent = (ticket?: string) => ({
    methodArn: METHOD_ARN,
    queryStringParameters: ticket === undefined ? null : { ticket },
    requestContext: { requestId: 'r2' },
  });
  const TICKET = 'A'.repeat(43);
  const conditionFailed = (item?: object) =>
    Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException', Item: item });

  it('allows this $connect for the ticket’s user', async () => {
    ticketTable.send = async () => ({ Attributes: { userId: 'u1', role: 'user' } });
    const result = await connectAuthorizer(connectEvent(TICKET), context);
    expect(result).toMatchObject({ principalId: 'u1', context: { userId: 'u1', role: 'user' } });
    expect(result.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN }]);
    expect(info).not.toHaveBeenCalled();
  });

  it('refuses missing, malformed, unknown or used, and expired tickets at info with the reason', async () => {
    ticketTable.send = async () => {
      throw conditionFailed();
    };
    await expectRefused(connectAuthorizer(connectEvent(), context), 'missing', 'TicketRefused');
    await expectRefused(connectAuthorizer(connectEvent('not-a-ticket'), context), 'malformed', 'TicketRefused');
    await expectRefused(connectAuthorizer(connectEvent(TICKET), context), 'unknown_or_used', 'TicketRefused');
    ticketTable.send = async () => {
      throw conditionFailed({ pk: { S: 'ticket#x' }, expiresAt: { N: '1' } });
    };
    await expectRefused(connectAuthorizer(connectEvent(TICKET), context), 'expired', 'TicketRefused');
  });

  it('still logs a real failure (the table unreachable) as an error', async () => {
    ticketTable.send = async () => {
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    };
    const thrown = await refusal(connectAuthorizer(connectEvent(TICKET), context));
    expect(thrown.message).toBe('socket hang up');
    expect(error).toHaveBeenCalledWith('Unhandled error', thrown);
    expect(info).not.toHaveBeenCalled();
  });
});

describe('instrument and AuthorizerRefusal', () => {
  it('logs a refusal at info and anything else at error, rethrowing both', async () => {
    const refusing = instrument(async () => {
      throw new AuthorizerRefusal('expired');
    });
    await expect(refusing({}, context)).rejects.toThrow(/^Unauthorized$/);
    expect(info).toHaveBeenCalledWith('Credentials refused', { reason: 'expired' });
    expect(error).not.toHaveBeenCalled();

    const failing = instrument(async () => {
      throw new Error('boom');
    });
    await expect(failing({}, context)).rejects.toThrow('boom');
    expect(error).toHaveBeenCalledWith('Unhandled error', expect.objectContaining({ message: 'boom' }));
  });
});
