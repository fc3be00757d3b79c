/**
 * The publish handler (`POST /api/v1/topics/{topic}/events`, lambdas/http/topics/publish.ts) itself,
 * its module loaded as Lambda loads it, writing to DynamoDB Local: payloads DynamoDB (or the SDK's
 * marshaller) refuses are answered 400 naming the path, where they used to reach the store and
 * fail as a 500; `__proto__` keys, which zod's record used to drop silently, are refused too; and
 * what DynamoDB does store, right up to each limit, is written and reads back as sent.
 *
 * Each refused case is also written straight through the store, as the handler used to, to show it
 * is a real refusal (not the validation being stricter than DynamoDB): the day DynamoDB or the SDK
 * accepts one of them, that assertion fails and the limit can be relaxed.
 */
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TopicEventStore } from '../../lambdas/shared/realtime/dynamo-topic-events';
import { publishBodySchema } from '../../lambdas/shared/realtime/topic-events';
import { partition, startLocalDynamo, type LocalDynamo } from '../support/realtime-local';

let local: LocalDynamo;
let table: string;
let handler: (event: object, context: Context) => Promise<{ statusCode: number; body: string }>;

beforeAll(async () => {
  local = await startLocalDynamo();
  table = await local.newTable();
  // The handler builds its client and reads its table at module scope, from the environment.
  vi.stubEnv('DOMAIN_TABLE_NAME', table);
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', local.server.endpoint);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'x');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'x');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Test');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  ({ handler } = (await import('../../lambdas/http/topics/publish')) as unknown as { handler: typeof handler });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await local?.stop();
});

const context = { functionName: 'publish', awsRequestId: 'req' } as Context;
let topics = 0;

/** Invokes the handler as API Gateway would, as the admin, with `payload` spliced in as raw JSON text. */
async function publish(payloadJson: string, topic = `feed:p${topics++}`) {
  const response = await handler(
    {
      routeKey: 'POST /api/v1/topics/{topic}/events',
      pathParameters: { topic },
      body: `{"event":"e","payload":${payloadJson}}`,
      requestContext: { requestId: 'api-1', authorizer: { lambda: { userId: 'admin-1', role: 'admin' } } },
    },
    context,
  );
  return {
    topic,
    status: response.statusCode,
    body: JSON.parse(response.body) as { error?: { code: string; message: string; details: { field: string; message: string }[] } },
  };
}

const nested = (levels: number, inner = '1') => '{"a":'.repeat(levels) + inner + '}'.repeat(levels);

// [case, payload as JSON text, the field the 400 names]
const REFUSED: [string, string, string][] = [
  ['an integer beyond 2^53', '{"n":9007199254740993}', 'payload.n'],
  ['a negative integer beyond -2^53', '{"n":-9007199254740993}', 'payload.n'],
  ['1e999 (Infinity once parsed)', '{"n":1e999}', 'payload.n'],
  ['-1e999', '{"n":-1e999}', 'payload.n'],
  ['a float beyond 2^53', '{"n":1.5e300}', 'payload.n'],
  ['a magnitude below 1e-130', '{"n":1e-131}', 'payload.n'],
  ['objects nested 32 deep (the payload counts as one)', nested(32), `payload${'.a'.repeat(31)}`],
  ['arrays nested 32 deep', `{"l":${'['.repeat(31)}1${']'.repeat(31)}}`, `payload.l${'.0'.repeat(30)}`],
  ['an empty key', '{"":1}', 'payload.""'],
  ['a nested empty key', '{"a":{"":1}}', 'payload.a.""'],
  ['a key named constructor', '{"constructor":1}', 'payload.constructor'],
  ['a nested key named constructor', '{"a":[{"constructor":"x"}]}', 'payload.a.0.constructor'],
  ['a lone surrogate in a key', '{"\\ud800":1}', 'payload."\\ud800"'],
  ['a bad number inside an array', '{"l":[1,{"n":1e999}]}', 'payload.l.1.n'],
];

describe('publish: payloads DynamoDB cannot store', () => {
  it.each(REFUSED)('used to fail in the store (500): %s', async (_name, payloadJson) => {
    const store = new TopicEventStore(local.db, table);
    const body = publishBodySchema.parse({ event: 'e', payload: JSON.parse(payloadJson) });
    await expect(store.publish('feed:direct', body, 'admin-1')).rejects.toThrow();
  });

  it.each(REFUSED)('answers 400 bad_request naming the path: %s', async (_name, payloadJson, field) => {
    const res = await publish(payloadJson);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'bad_request', message: expect.any(String) });
    expect(res.body.error!.details.map((d) => d.field)).toContain(field);
    expect((await partition(local.db, table, `TOPIC#${res.topic}`)).length).toBe(0);
  });

  // DynamoDB Local stores it (202 before), but a DynamoDB string is UTF-8, which has no encoding
  // for half a surrogate pair: refused rather than stored mangled or refused by DynamoDB itself.
  it('refuses a lone surrogate in a string value', async () => {
    const res = await publish('{"s":"a\\udc00b"}');
    expect(res.status).toBe(400);
    expect(res.body.error!.details).toEqual([{ field: 'payload.s', message: expect.stringContaining('surrogate') }]);
  });

  it('refuses __proto__ keys, which zod used to drop silently (202 without them)', async () => {
    // Before: the record schema copied the payload key by key, and `copy["__proto__"] = v` sets
    // the copy's prototype instead of a key, so the event was stored without it.
    expect(publishBodySchema.parse(JSON.parse('{"event":"e","payload":{"__proto__":{"x":1},"k":2}}')).payload).toEqual({ k: 2 });
    for (const [payloadJson, field] of [
      ['{"__proto__":{"x":1},"k":2}', 'payload.__proto__'],
      ['{"a":{"__proto__":null}}', 'payload.a.__proto__'],
    ]) {
      const res = await publish(payloadJson!);
      expect(res.status, payloadJson).toBe(400);
      expect(res.body.error!.details.map((d) => d.field)).toContain(field);
    }
  });

  it('names every problem of one payload, each at its path', async () => {
    const res = await publish('{"a":1e999,"b":{"":2},"c":"\\ud83d"}');
    expect(res.status).toBe(400);
    expect(res.body.error!.details.map((d) => d.field)).toEqual(['payload.a', 'payload.b.""', 'payload.c']);
  });

  it('still answers 400 for a payload that is not an object', async () => {
    const res = await publish('"no"');
    expect(res.status).toBe(400);
    expect(res.body.error!.details).toEqual([expect.objectContaining({ field: 'payload' })]);
  });
});

describe('publish: what DynamoDB stores, right up to its limits', () => {
  it('writes the payload and it reads back as sent', async () => {
    const payload = {
      max: Number.MAX_SAFE_INTEGER,
      min: Number.MIN_SAFE_INTEGER,
      tiny: 1e-130,
      negativeTiny: -1e-130,
      float: 0.1 + 0.2,
      zero: 0,
      empty: '',
      emptyList: [],
      emptyMap: {},
      nothing: null,
      astral: '😀 \u00e9',
      '😀': 'astral key',
      constructor_: 'a key that only looks like one',
      deep: JSON.parse(nested(30)), // with the payload, the 31 levels DynamoDB stores
    };
    const res = await publish(JSON.stringify(payload));
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const [item] = await partition(local.db, table, `TOPIC#${res.topic}`);
    expect(item?.payload).toEqual(payload);
  });
});
