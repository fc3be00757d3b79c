/**
 * Billing attacked end to end (DESIGN.md sections 4 and 5; docs/billing.md), as a hostile client
 * and a hostile queue would: every input wrong in every way a client can make it wrong, the same
 * request 50 times at once, duplicate and foreign due jobs, a cancel landing while a renewal is
 * being charged, another user's ids and cursors, and every provider down for an hour. What must
 * hold: a 4xx naming the problem and never a 5xx; one charge per thing paid for; nothing of one
 * user reachable by another; no due job done twice, none lost.
 *
 * The clock only moves forward and the circuit breakers are shared: the tests run in file order,
 * the one that takes every provider down last. Bounded: at most 50 requests in flight, a few
 * advances of the virtual clock.
 */
import { request as httpRequest } from 'node:http';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { clientConfig } from '@realtime/local-cloud/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, type BillingUser, billingApi } from '../support/billing-api';
import { usePlatform } from '../support/platform';

const platform = usePlatform();
let sqs: SQSClient;
let lambda: LambdaClient;

const { call, control, newUser, relogin, status, history, now, advanceTo, resource } = billingApi(platform, 'billing-attack');
type User = BillingUser;

/** A request with headers exactly as given (fetch refuses non-ASCII header values). */
function rawPost(path: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  const url = new URL(platform.cloud.endpoints.httpUrl!);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const subscribe = (user: User, paymentToken: string, headers: Record<string, string> = {}) =>
  call('POST', '/api/v1/subscriptions/subscribe', user.accessToken, { planId: 'basic-monthly', paymentToken }, headers);
const payNow = (user: User, subscriptionId: string, headers: Record<string, string> = {}) =>
  call('POST', '/api/v1/payments/process', user.accessToken, { purpose: 'subscription', subscriptionId, paymentToken: 'tok_ok' }, headers);
const cancelNow = (user: User) => call('POST', '/api/v1/subscriptions/cancel', user.accessToken, { atPeriodEnd: false });
const succeeded = async (user: User) => (await history(user)).filter((p) => p.status === 'succeeded');

/** `<status>` or `<status> <error code>`. */
const outcome = (a: Answer) => `${a.status} ${a.body?.error?.code ?? ''}`.trim();

/** How many answers had each outcome. */
function tally(answers: readonly Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[outcome(a)] = (counts[outcome(a)] ?? 0) + 1;
  return counts;
}

const clockNow = async () => (await now()).getTime();

const chargeQueue = () => resource('AWS::SQS::Queue', 'BillingQueuesCharges').url!;
const chargeDeadLetters = () => resource('AWS::SQS::Queue', 'BillingQueuesChargesDeadLetterQueue').url!;

/** The messages of the charge dead-letter queue naming `subscriptionId`, taken off it. */
async function takeDeadLetters(subscriptionId: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: chargeDeadLetters(), MaxNumberOfMessages: 10 }));
    if (Messages.length === 0) return bodies;
    for (const m of Messages) {
      if (m.Body?.includes(subscriptionId)) bodies.push(m.Body);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: chargeDeadLetters(), ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

beforeAll(() => {
  sqs = new SQSClient(clientConfig(platform.cloud, 'sqs'));
  lambda = new LambdaClient(clientConfig(platform.cloud, 'lambda'));
});

afterAll(() => {
  sqs?.destroy();
  lambda?.destroy();
});

describe('billing under attack', () => {
  it('answers hostile bodies, queries and headers on every billing route with a 400 naming the problem, never a 5xx', async () => {
    const user = await newUser('input');
    const sub = '/api/v1/subscriptions/subscribe';
    const pay = '/api/v1/payments/process';
    const ok = { planId: 'basic-monthly', paymentToken: 'tok_ok' };
    const cases: [method: string, path: string, body: unknown, field: string][] = [
      ['POST', sub, { ...ok, planId: '__proto__' }, 'planId'],
      ['POST', sub, { ...ok, planId: 'constructor' }, 'planId'],
      ['POST', sub, { ...ok, planId: 'basic-monthly\u0000' }, 'planId'],
      ['POST', sub, { ...ok, planId: 'b\u00e4sic-monthly' }, 'planId'],
      ['POST', sub, { ...ok, planId: 'x'.repeat(65) }, 'planId'],
      ['POST', sub, { ...ok, planId: ['basic-monthly'] }, 'planId'],
      ['POST', sub, { ...ok, paymentToken: 't\u00f6k_ok' }, 'paymentToken'],
      ['POST', sub, { ...ok, paymentToken: 'tok_ok\u202e' }, 'paymentToken'],
      ['POST', sub, { ...ok, paymentToken: 'x'.repeat(129) }, 'paymentToken'],
      ['POST', sub, { ...ok, paymentToken: 1e308 }, 'paymentToken'],
      ['POST', sub, { ...ok, paymentToken: null }, 'paymentToken'],
      ['POST', sub, { ...ok, amount: -1 }, 'amount'],
      ['POST', sub, { ...ok, amount: 0.5 }, 'amount'],
      ['POST', sub, { ...ok, currency: 'XXX' }, 'currency'],
      ['POST', sub, '{"planId":"basic-monthly","paymentToken":"tok_ok","__proto__":{"amount":1}}', '__proto__'],
      ['POST', '/api/v1/subscriptions/cancel', { atPeriodEnd: 'false' }, 'atPeriodEnd'],
      ['POST', '/api/v1/subscriptions/cancel', { atPeriodEnd: 0 }, 'atPeriodEnd'],
      ['POST', '/api/v1/subscriptions/cancel', { atPeriodEnd: false, refund: true }, 'refund'],
      ['POST', '/api/v1/subscriptions/cancel', '1e999', '(root)'],
      ['PUT', '/api/v1/subscriptions/payment-method', { paymentToken: ['tok_ok'] }, 'paymentToken'],
      ['PUT', '/api/v1/subscriptions/payment-method', { paymentToken: 'tok_ok', userId: 'someone-else' }, 'userId'],
      ['POST', pay, { purpose: 'subscription', subscriptionId: '', paymentToken: 'tok_ok' }, 'subscriptionId'],
      ['POST', pay, { purpose: 'subscription', subscriptionId: 'x'.repeat(129), paymentToken: 'tok_ok' }, 'subscriptionId'],
      ['POST', pay, { purpose: 'subscription', subscriptionId: 'sub_x', paymentToken: 'tok_ok', amount: 1 }, 'amount'],
      ['POST', pay, { purpose: 'refund', subscriptionId: 'sub_x', paymentToken: 'tok_ok' }, 'purpose'],
      ['POST', pay, { purpose: '__proto__', subscriptionId: 'sub_x', paymentToken: 'tok_ok' }, 'purpose'],
      ['POST', pay, { purpose: 'booking', subscriptionId: 'sub_x', paymentToken: 'tok_ok' }, 'bookingId'],
      ['POST', pay, { subscriptionId: 'sub_x', paymentToken: 'tok_ok' }, 'purpose'],
    ];
    const forged = (sk: string) => Buffer.from(sk, 'utf8').toString('base64url');
    const queries: [query: string, field: string][] = [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=1e2', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=', 'limit'],
      ['limit=1.5', 'limit'],
      ['limit=1&limit=2', 'limit'],
      ['cursor=', 'cursor'],
      ['cursor=not-a-cursor', 'cursor'],
      ['cursor=%00', 'cursor'],
      [`cursor=${'A'.repeat(2000)}`, 'cursor'],
      [`cursor=${forged('SUBSCRIPTION')}`, 'cursor'],
      [`cursor=${forged('IDEMPOTENCY')}`, 'cursor'],
      [`cursor=${forged('PAYMENT#2027-01-01T00:00:00Z#pay_x#')}`, 'cursor'],
      [`cursor=${Buffer.from(JSON.stringify({ pk: 'USER#someone', sk: 'PAYMENT#x' })).toString('base64url')}`, 'cursor'],
    ];
    const answers = await Promise.all([
      ...cases.map(async ([method, path, body, field]) => ({
        what: `${method} ${path} ${JSON.stringify(body)}`,
        field,
        answer: await call(method, path, user.accessToken, body),
      })),
      ...queries.map(async ([query, field]) => ({
        what: `history?${query.slice(0, 80)}`,
        field,
        answer: await call('GET', `/api/v1/payments/history?${query}`, user.accessToken),
      })),
    ]);
    for (const { what, field, answer } of answers) {
      expect(answer.status, `${what} → ${JSON.stringify(answer.body)}`).toBe(400);
      expect(answer.body.error.code, what).toBe('bad_request');
      expect(
        answer.body.error.details.map((d: { field: string }) => d.field),
        what,
      ).toContain(field);
    }

    // Idempotency-Key: 1 to 255 printable ASCII characters, else a 400 naming the header and nothing run.
    const body = JSON.stringify(ok);
    const headers = { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' };
    for (const key of ['k'.repeat(256), 'cl\u00e9', '\u00ff\u00fe', Buffer.from('k\u20ac', 'utf8').toString('latin1')]) {
      const answer = await rawPost(sub, { ...headers, 'idempotency-key': key }, body);
      expect(answer.status, JSON.stringify(key)).toBe(400);
      expect(JSON.parse(answer.text).error.details, JSON.stringify(key)).toEqual([
        { field: 'Idempotency-Key', message: expect.any(String) },
      ]);
    }
    expect(await history(user)).toEqual([]);
    expect(await status(user)).toEqual({ subscription: null, access: false });
    // 255 is in range, and a key of one user or route is not another's.
    expect((await rawPost(sub, { ...headers, 'idempotency-key': 'k'.repeat(255) }, body)).status).toBe(201);
    await cancelNow(user);
  });

  it('50 subscribes of one user at once, with 50 keys and with none: one charge, one subscription; a key that lost the race gets through when retried', async () => {
    const keyed = await newUser('storm-keys');
    const keys = Array.from({ length: 50 }, (_, i) => `storm-${i}`);
    const first = await Promise.all(keys.map((key) => subscribe(keyed, 'tok_ok', { 'idempotency-key': key })));
    for (const a of first) expect(['201', '409 already_subscribed', '409 request_in_progress']).toContain(outcome(a));
    expect(
      first.filter((a) => a.status === 201),
      JSON.stringify(tally(first)),
    ).toHaveLength(1);
    const winner = first.find((a) => a.status === 201)!;
    expect(await succeeded(keyed)).toHaveLength(1);

    // Each key again: the winner's answer replayed; a refusal that meant "no" replayed; one that
    // meant "not now" (request_in_progress) not kept, so the retry runs and learns the truth.
    const again = await Promise.all(keys.map((key) => subscribe(keyed, 'tok_ok', { 'idempotency-key': key })));
    for (const [i, a] of again.entries()) {
      const before = first[i]!;
      if (before.status === 201) expect([a.status, a.body, a.headers.get('idempotent-replayed')]).toEqual([201, winner.body, 'true']);
      else expect([a.status, a.body.error.code], `key ${keys[i]} was ${before.body.error.code}`).toEqual([409, 'already_subscribed']);
    }
    expect(await succeeded(keyed)).toHaveLength(1);

    const bare = await newUser('storm-bare');
    const answers = await Promise.all(Array.from({ length: 50 }, () => subscribe(bare, 'tok_ok')));
    expect(
      answers.filter((a) => a.status === 201),
      JSON.stringify(tally(answers)),
    ).toHaveLength(1);
    for (const a of answers) expect(['201', '409 already_subscribed', '409 request_in_progress']).toContain(outcome(a));
    expect(await succeeded(bare)).toHaveLength(1);
    expect((await status(bare)).subscription.id).toBe(answers.find((a) => a.status === 201)!.body.subscription.id);

    await Promise.all([cancelNow(keyed), cancelNow(bare)]);
  });

  it('50 payments of one past_due subscription at once charge once; another user can neither pay it, nor see it, nor meet its keys', async () => {
    const owner = await newUser('past-due');
    const other = await newUser('other');
    const { body } = await subscribe(owner, 'tok_fail_after_first', { 'idempotency-key': 'shared-key' });
    const id = body.subscription.id as string;
    // The same key is the other user's own: it subscribes them, it replays nothing of the owner's.
    const theirs = await subscribe(other, 'tok_ok', { 'idempotency-key': 'shared-key' });
    expect([theirs.status, theirs.headers.get('idempotent-replayed')]).toEqual([201, null]);
    expect(theirs.body.subscription.id).not.toBe(id);

    await advanceTo(Date.parse(body.subscription.currentPeriodEnd) + 60_000);
    await Promise.all([relogin(owner), relogin(other)]);
    expect((await status(owner)).subscription.status).toBe('past_due');

    const foreign = await payNow(other, id);
    expect([foreign.status, foreign.body.error.code]).toEqual([404, 'not_found']);
    const ownHistory = await call('GET', '/api/v1/payments/history?limit=1', owner.accessToken);
    expect(ownHistory.body.nextCursor).toEqual(expect.any(String));
    // The owner's cursor with the other's token pages the other's own payments, never the owner's.
    const crossed = await call('GET', `/api/v1/payments/history?limit=100&cursor=${ownHistory.body.nextCursor}`, other.accessToken);
    expect(crossed.status).toBe(200);
    for (const p of crossed.body.payments) expect(p.subscriptionId).not.toBe(id);

    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => payNow(owner, id, i % 2 === 0 ? { 'idempotency-key': `pay-${i}` } : {})),
    );
    expect(
      answers.filter((a) => a.status === 201),
      JSON.stringify(tally(answers)),
    ).toHaveLength(1);
    for (const a of answers) expect(['201', '409 no_payment_due', '409 request_in_progress']).toContain(outcome(a));
    const payments = await history(owner);
    expect(payments.map((p) => p.status)).toEqual(['succeeded', 'failed', 'succeeded']);
    expect((await status(owner)).subscription).toMatchObject({ status: 'active', currentPeriodStart: body.subscription.currentPeriodEnd });
    expect((await status(other)).subscription.id).toBe(theirs.body.subscription.id);

    await Promise.all([cancelNow(owner), cancelNow(other)]);
  });

  it('a cancel now that lands while the renewal is being charged never leaves a paid renewal on a cancelled subscription', async () => {
    const racers = await Promise.all(Array.from({ length: 6 }, (_, i) => newUser(`race-${i}`)));
    const subs = (await Promise.all(racers.map((u) => subscribe(u, 'tok_ok')))).map((a) => a.body.subscription);
    const ends = subs.map((s) => Date.parse(s.currentPeriodEnd));
    await advanceTo(Math.min(...ends) - 120_000);
    await Promise.all(racers.map(relogin));

    // Each racer cancels the moment its renewal's charge claim appears, while the clock fires the renewals.
    const table = String(platform.stateful.DomainTableName);
    const advancing = control('/clock/advance', { to: new Date(Math.max(...ends) + 5_000).toISOString() });
    let advanced = false;
    void advancing.then(() => (advanced = true));
    const cancels = await Promise.all(
      racers.map(async (user, i) => {
        const key = { pk: `CHARGE#renewal:${subs[i].id}:${subs[i].currentPeriodEnd}`, sk: 'CHARGE' };
        while (!advanced) {
          if ((await platform.db.send(new GetCommand({ TableName: table, Key: key }))).Item) return cancelNow(user);
        }
        return cancelNow(user);
      }),
    );
    await advancing;
    await control('/settled');
    // Answered while the charge held the subscription: 409, and the cancel goes through after it.
    for (const c of cancels) expect(['200', '409 request_in_progress']).toContain(outcome(c));
    for (const [i, user] of racers.entries()) {
      if (cancels[i]!.status !== 200) expect((await cancelNow(user)).status).toBe(200);
      const { subscription } = await status(user);
      expect(subscription.status).toBe('canceled');
      // Renewed before the cancel (the period it paid for is the one cancelled), or cancelled before any renewal charge.
      const paid = await succeeded(user);
      expect(paid.length, `racer ${i}: ${JSON.stringify(subscription)} ${JSON.stringify(paid)}`).toBeLessThanOrEqual(2);
      if (paid.length === 2) expect(subscription.currentPeriodStart, `racer ${i}`).toBe(subs[i].currentPeriodEnd);
      else expect(subscription.currentPeriodEnd, `racer ${i}`).toBe(subs[i].currentPeriodEnd);
    }
  }, 60_000);

  it('the same due job delivered six times at its due time, and malformed or foreign jobs on the charge queue: one renewal, nothing else', async () => {
    const victim = await newUser('queue-victim');
    const attacker = await newUser('queue-attacker');
    const s = (await subscribe(victim, 'tok_ok')).body.subscription;
    const job = { userId: victim.userId, subscriptionId: s.id, dueAt: s.currentPeriodEnd };
    const hostile = [
      'not json',
      ' ',
      'null',
      '[]',
      '{}',
      '1e999',
      `${'['.repeat(5000)}${']'.repeat(5000)}`,
      JSON.stringify({ ...job, dueAt: 'tomorrow' }),
      JSON.stringify({ ...job, extra: 1 }),
      `{"userId":"${victim.userId}","subscriptionId":"${s.id}","dueAt":"${s.currentPeriodEnd}","__proto__":{"x":1}}`,
      JSON.stringify({ ...job, userId: attacker.userId }),
      JSON.stringify({ ...job, subscriptionId: 'sub_of_nobody' }),
      JSON.stringify({ ...job, dueAt: '2000-01-01T00:00:00Z' }),
      JSON.stringify({ ...job, dueAt: '9999-12-31T23:59:59Z' }),
      JSON.stringify({ ...job, dueAt: s.currentPeriodEnd.replace('.000Z', 'Z') }),
      JSON.stringify({ userId: '__proto__', subscriptionId: 'constructor', dueAt: '2000-01-01T00:00:00Z' }),
      JSON.stringify({ userId: 'u'.repeat(129), subscriptionId: s.id, dueAt: s.currentPeriodEnd }),
      'x'.repeat(200_000),
    ];
    for (const MessageBody of hostile) await sqs.send(new SendMessageCommand({ QueueUrl: chargeQueue(), MessageBody }));
    // Five copies of the real job early: each finds it not due yet and puts it back, due at its time.
    await advanceTo(Date.parse(s.currentPeriodEnd) - 30_000);
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: chargeQueue(),
        Entries: Array.from({ length: 5 }, (_, i) => ({ Id: String(i), MessageBody: JSON.stringify(job) })),
      }),
    );
    await control('/settled');
    expect(await succeeded(victim)).toHaveLength(1);
    // Past the due time, and past the visibility timeout of the copies that met the renewal under way.
    await advanceTo(Date.parse(s.currentPeriodEnd) + 200_000);
    await relogin(victim);
    expect(await succeeded(victim)).toHaveLength(2);
    expect((await status(victim)).subscription).toMatchObject({ status: 'active', currentPeriodStart: s.currentPeriodEnd });
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: chargeQueue(),
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect([Attributes?.ApproximateNumberOfMessages, Attributes?.ApproximateNumberOfMessagesNotVisible]).toEqual(['0', '0']);
    expect(await takeDeadLetters(s.id)).toEqual([]);
    await relogin(attacker);
    expect(await status(attacker)).toEqual({ subscription: null, access: false });
    await cancelNow(victim);
  });

  it('every provider down for an hour at the renewal: retried, dead-lettered, nothing charged; after recovery a redrive and the reconciliation charge it once', async () => {
    const user = await newUser('outage');
    const s = (await subscribe(user, 'tok_ok')).body.subscription;
    expect(
      (await call('PUT', '/api/v1/subscriptions/payment-method', user.accessToken, { paymentToken: 'tok_all_providers_down' })).status,
    ).toBe(200);
    await advanceTo(Date.parse(s.currentPeriodEnd) + 3_600_000);
    await relogin(user);
    // Not a decline: still active, nothing charged, the job in the dead-letter queue (alarm) after its receives.
    expect((await status(user)).subscription).toMatchObject({ status: 'active', currentPeriodEnd: s.currentPeriodEnd });
    expect(await succeeded(user)).toHaveLength(1);
    const dead = await takeDeadLetters(s.id);
    expect(dead.length).toBeGreaterThanOrEqual(1);

    // The provider is back (here: a payment method that works). Every dead letter redriven, twice,
    // and the reconciliation run as well: one renewal.
    expect((await call('PUT', '/api/v1/subscriptions/payment-method', user.accessToken, { paymentToken: 'tok_ok' })).status).toBe(200);
    for (const MessageBody of [...dead, ...dead]) await sqs.send(new SendMessageCommand({ QueueUrl: chargeQueue(), MessageBody }));
    const reconciled = await lambda.send(
      new InvokeCommand({ FunctionName: resource('AWS::Lambda::Function', 'BillingReconcile').physicalId, Payload: '{}' }),
    );
    expect(reconciled.FunctionError).toBeUndefined();
    // Past the visibility timeout of the copies that met the renewal under way: they find it done.
    await advanceTo((await clockNow()) + 200_000);
    await relogin(user);
    expect(await succeeded(user)).toHaveLength(2);
    expect((await status(user)).subscription).toMatchObject({ status: 'active', currentPeriodStart: s.currentPeriodEnd });
    expect(await takeDeadLetters(s.id)).toEqual([]);
    await cancelNow(user);
  }, 60_000);
});
