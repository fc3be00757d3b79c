/**
 * Identity's DynamoDB stores (lambdas/shared/identity/dynamo-*.ts) against DynamoDB Local: a user
 * and its email item written in one conditional transaction, refresh tokens and WebSocket tickets
 * stored hashed and consumed once (also when raced), and the login attempt budget's atomic reservations.
 * Conditions, transactions and concurrent writes are DynamoDB's semantics, so they run on a real
 * DynamoDB, one fresh table per test. Only a transaction conflict is injected: DynamoDB Local
 * cannot be made to produce one on demand.
 */
import { describe, expect, it } from 'vitest';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DocumentClientLike } from '../../lambdas/shared/dynamodb';
import { EmailTaken, TooManyAttempts } from '../../lambdas/shared/identity/errors';
import { DynamoLoginThrottle } from '../../lambdas/shared/identity/dynamo-login-throttle';
import { DynamoRefreshTokenStore, REFRESH_TOKEN_TTL_SECONDS } from '../../lambdas/shared/identity/dynamo-refresh-tokens';
import { TICKET_TTL_SECONDS, TicketStore } from '../../lambdas/shared/identity/dynamo-tickets';
import { DynamoUserStore } from '../../lambdas/shared/identity/dynamo-users';
import { MAX_FAILURES, retryAfterSeconds, WINDOW_SECONDS } from '../../lambdas/shared/identity/login-lockout';
import { hashOpaqueToken } from '../../lambdas/shared/identity/tokens';
import { useLocalDynamo, type LocalDynamo } from '../support/realtime-local';

let local: LocalDynamo;
let table: string;

useLocalDynamo((started, fresh) => {
  local = started;
  table = fresh;
});

/**
 * DynamoDB Local's client, recording every command a store sends; `beforeSend` runs first and may
 * throw to stand for a failure DynamoDB returned.
 */
class RecordingClient implements DocumentClientLike {
  readonly sent: object[] = [];
  beforeSend?: (command: object) => void;

  async send(command: object): Promise<Record<string, unknown>> {
    this.sent.push(command);
    this.beforeSend?.(command);
    const real: DocumentClientLike = local.db;
    return real.send(command);
  }
}

/** Every item of the test's table. */
async function tableItems(): Promise<Record<string, unknown>[]> {
  const out = await local.db.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return out.Items ?? [];
}

/** An error as the SDK raises it: what the stores look at is its name (and cancellation reasons). */
function sdkError(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(name), { name }, extra);
}

const T0 = new Date('2026-11-21T10:00:00.000Z');
const T0_SECONDS = T0.getTime() / 1000;

/** A clock the test moves by hand. */
function manualClock(start = T0) {
  let now = start.getTime();
  return { clock: () => new Date(now), advance: (seconds: number) => (now += seconds * 1000) };
}

describe('DynamoUserStore', () => {
  it('writes the profile and the email item in one transaction, both conditional', async () => {
    const db = new RecordingClient();
    const user = await new DynamoUserStore(db, table, () => T0).create({ email: ' Ada@Example.COM ', name: 'Ada', passwordHash: 'h' });
    expect(user).toEqual({ id: expect.any(String), email: 'ada@example.com', name: 'Ada', role: 'user', createdAt: T0.toISOString() });
    expect(db.sent).toHaveLength(1);
    const stored = await tableItems();
    expect(stored).toEqual(
      expect.arrayContaining([
        { pk: 'EMAIL#ada@example.com', sk: 'EMAIL', entity: 'UserEmail', userId: user.id },
        expect.objectContaining({ pk: `USER#${user.id}`, sk: 'PROFILE', passwordHash: 'h', email: 'ada@example.com' }),
      ]),
    );
    const input = (db.sent[0] as { input: { TransactItems: { Put: { ConditionExpression: string } }[] } }).input;
    expect(input.TransactItems.map((t) => t.Put.ConditionExpression)).toEqual(['attribute_not_exists(pk)', 'attribute_not_exists(pk)']);
  });

  it('refuses a second account for the same email in another case with EmailTaken', async () => {
    const store = new DynamoUserStore(new RecordingClient(), table);
    await store.create({ email: 'ada@example.com', name: 'Ada', passwordHash: 'h' });
    await expect(store.create({ email: 'ADA@example.com', name: 'Other', passwordHash: 'h' })).rejects.toThrow(EmailTaken);
  });

  it('retries a transaction conflict and lets the condition decide', async () => {
    const db = new RecordingClient();
    let conflicts = 2;
    db.beforeSend = () => {
      if (conflicts-- > 0) {
        throw sdkError('TransactionCanceledException', { CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }] });
      }
    };
    const store = new DynamoUserStore(
      db,
      table,
      () => T0,
      async () => undefined,
    );
    await expect(store.create({ email: 'a@b.co', name: 'A', passwordHash: 'h' })).resolves.toMatchObject({ email: 'a@b.co' });
    expect(db.sent).toHaveLength(3);
  });

  it('finds users by email (any case) and by id, with the hash', async () => {
    const store = new DynamoUserStore(new RecordingClient(), table);
    const user = await store.create({ email: 'ada@example.com', name: 'Ada', passwordHash: 'h' });
    expect(await store.findByEmail('ADA@EXAMPLE.com')).toEqual({ ...user, passwordHash: 'h' });
    expect(await store.findById(user.id)).toEqual({ ...user, passwordHash: 'h' });
    expect(await store.findByEmail('nobody@example.com')).toBeUndefined();
  });
});

describe('DynamoRefreshTokenStore', () => {
  it('stores only the hash of the token, with a 30-day TTL', async () => {
    const db = new RecordingClient();
    const token = await new DynamoRefreshTokenStore(db, table, () => T0).issue('u1');
    expect(await tableItems()).toEqual([
      {
        pk: `REFRESH#${hashOpaqueToken(token)}`,
        sk: 'REFRESH',
        entity: 'RefreshToken',
        userId: 'u1',
        createdAt: T0.toISOString(),
        expiresAt: T0_SECONDS + REFRESH_TOKEN_TTL_SECONDS,
      },
    ]);
    expect(JSON.stringify(await tableItems())).not.toContain(token);
  });

  it('consumes a token once', async () => {
    const store = new DynamoRefreshTokenStore(new RecordingClient(), table, () => T0);
    const token = await store.issue('u1');
    expect(await store.consume(token)).toBe('u1');
    expect(await store.consume(token)).toBeUndefined();
  });

  it('refuses expired, malformed and (for logout) other users’ tokens', async () => {
    const { clock, advance } = manualClock();
    const store = new DynamoRefreshTokenStore(new RecordingClient(), table, clock);
    const token = await store.issue('u1');
    expect(await store.consume(token, 'u2')).toBeUndefined();
    expect(await store.consume('x'.repeat(10))).toBeUndefined();
    advance(REFRESH_TOKEN_TTL_SECONDS);
    expect(await store.consume(token)).toBeUndefined();
  });
});

describe('TicketStore', () => {
  it('issues a 60-second ticket stored hashed with the user and role', async () => {
    const db = new RecordingClient();
    const issued = await new TicketStore(db, table, () => T0).issue({ userId: 'u1', role: 'user' });
    expect(issued.expiresAt).toBe(new Date(T0.getTime() + TICKET_TTL_SECONDS * 1000).toISOString());
    expect(await tableItems()).toEqual([
      { pk: `ticket#${hashOpaqueToken(issued.ticket)}`, sk: 'ticket', userId: 'u1', role: 'user', expiresAt: T0_SECONDS + 60 },
    ]);
  });

  it('works exactly once, even for concurrent connects', async () => {
    const store = new TicketStore(new RecordingClient(), table, () => T0);
    const { ticket } = await store.issue({ userId: 'u1', role: 'admin' });
    const results = await Promise.all([store.consume(ticket), store.consume(ticket), store.consume(ticket)]);
    expect(results).toEqual(
      expect.arrayContaining([
        { principal: { userId: 'u1', role: 'admin' } },
        { refused: 'unknown_or_used' },
        { refused: 'unknown_or_used' },
      ]),
    );
    expect(await store.consume(ticket)).toEqual({ refused: 'unknown_or_used' });
  });

  it('refuses an expired ticket and a forged one without reading the table, saying why', async () => {
    const { clock, advance } = manualClock();
    const db = new RecordingClient();
    const store = new TicketStore(db, table, clock);
    const { ticket } = await store.issue({ userId: 'u1', role: 'user' });
    advance(TICKET_TTL_SECONDS);
    expect(await store.consume(ticket)).toEqual({ refused: 'expired' });

    const sent = db.sent.length;
    expect(await store.consume(undefined)).toEqual({ refused: 'missing' });
    expect(await store.consume('')).toEqual({ refused: 'missing' });
    for (const forged of ['abc', `${ticket}x`, `${'a'.repeat(42)}!`]) {
      expect(await store.consume(forged)).toEqual({ refused: 'malformed' });
    }
    expect(db.sent.length).toBe(sent);
    // A well-formed but unknown ticket is looked up and refused.
    expect(await store.consume('A'.repeat(43))).toEqual({ refused: 'unknown_or_used' });
  });
});

describe('DynamoLoginThrottle', () => {
  it('computes the wait from the window (pure)', () => {
    expect(retryAfterSeconds(undefined, 100)).toBe(0);
    expect(retryAfterSeconds({ attempts: MAX_FAILURES - 1, windowStart: 100 }, 100)).toBe(0);
    expect(retryAfterSeconds({ attempts: MAX_FAILURES, windowStart: 100 }, 160)).toBe(WINDOW_SECONDS - 60);
    expect(retryAfterSeconds({ attempts: MAX_FAILURES + 3, windowStart: 100 }, 160)).toBe(WINDOW_SECONDS - 60);
    expect(retryAfterSeconds({ attempts: MAX_FAILURES, windowStart: 100 }, 100 + WINDOW_SECONDS)).toBe(0);
  });

  it('refuses an email (any case) after 5 reserved attempts until 15 minutes after the first', async () => {
    const { clock, advance } = manualClock();
    const throttle = new DynamoLoginThrottle(new RecordingClient(), table, clock);
    for (let i = 1; i <= MAX_FAILURES; i++) {
      await throttle.reserve(i % 2 ? 'ADA@example.com' : 'ada@example.com');
      advance(10);
    }
    const error = await throttle.reserve('Ada@Example.com').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManyAttempts);
    expect((error as TooManyAttempts).retryAfterSeconds).toBe(WINDOW_SECONDS - 50);
    await throttle.reserve('someone-else@example.com');

    advance(WINDOW_SECONDS - 50);
    // The window has ended: the next attempt opens a new one.
    await throttle.reserve('ada@example.com');
    expect(await tableItems()).toContainEqual(
      expect.objectContaining({ pk: 'LOGIN#ada@example.com', attempts: 1, windowStart: T0_SECONDS + WINDOW_SECONDS }),
    );
  });

  it('grants exactly the budget to 30 concurrent reservations, opening one window', async () => {
    const throttle = new DynamoLoginThrottle(new RecordingClient(), table, () => T0);
    const settled = await Promise.allSettled(Array.from({ length: 30 }, () => throttle.reserve('a@b.co')));
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(MAX_FAILURES);
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as unknown);
    expect(refused.every((e) => e instanceof TooManyAttempts && e.retryAfterSeconds === WINDOW_SECONDS)).toBe(true);
    expect(await tableItems()).toEqual([
      expect.objectContaining({
        pk: 'LOGIN#a@b.co',
        attempts: MAX_FAILURES,
        windowStart: T0_SECONDS,
        expiresAt: T0_SECONDS + WINDOW_SECONDS,
      }),
    ]);
  });

  it('replaces an item counted the old way (failures, no attempts) with a new window', async () => {
    await local.db.send(
      new PutCommand({
        TableName: table,
        Item: { pk: 'LOGIN#a@b.co', sk: 'ATTEMPTS', failures: 9, windowStart: T0_SECONDS, expiresAt: T0_SECONDS + 900 },
      }),
    );
    await new DynamoLoginThrottle(new RecordingClient(), table, () => T0).reserve('a@b.co');
    expect(await tableItems()).toEqual([expect.objectContaining({ attempts: 1, windowStart: T0_SECONDS })]);
  });

  it('clears the window on reset', async () => {
    const db = new RecordingClient();
    const throttle = new DynamoLoginThrottle(db, table, () => T0);
    for (let i = 0; i < MAX_FAILURES; i++) await throttle.reserve('a@b.co');
    await expect(throttle.reserve('a@b.co')).rejects.toThrow(TooManyAttempts);
    await throttle.reset('a@b.co');
    expect(await tableItems()).toEqual([]);
    await throttle.reserve('a@b.co');
  });
});
