/**
 * The payment side of billing against DynamoDB Local: the sandbox providers and their ledger, the
 * circuit breakers' shared state, and the processor's charge claim, failover and payment records
 * (lambdas/shared/billing/{sandbox-provider,dynamo-sandbox-ledger,breaker,dynamo-breaker,
 * payment-processor,dynamo-payments}.ts). "Charges once" rests on DynamoDB's conditional writes,
 * so it runs on a real DynamoDB, one fresh table per test, with a clock the test moves by hand.
 * Providers are wrapped only to count calls and, where a test says so, to die after charging.
 */
import { describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { CircuitBreaker } from '../../lambdas/shared/billing/breaker';
import { BREAKER_ENTITY, breakerKey, DynamoBreakerStore } from '../../lambdas/shared/billing/dynamo-breaker';
import {
  CHARGE_CLAIM_ENTITY,
  chargeClaimKey,
  DynamoChargeClaims,
  DynamoPaymentStore,
  encodeCursor,
} from '../../lambdas/shared/billing/dynamo-payments';
import { DynamoSandboxLedger, SANDBOX_CHARGE_ENTITY } from '../../lambdas/shared/billing/dynamo-sandbox-ledger';
import { ChargeInProgress, PaymentProvidersUnavailable } from '../../lambdas/shared/billing/errors';
import { paymentIdFor, ProviderPaymentProcessor } from '../../lambdas/shared/billing/payment-processor';
import type { ChargeCommand, Payment } from '../../lambdas/shared/billing/payments';
import { ProviderError, type ChargeOutcome, type ChargeRequest, type PaymentProvider } from '../../lambdas/shared/billing/providers';
import { sandboxProviders, SandboxProvider } from '../../lambdas/shared/billing/sandbox-provider';
import type { DocumentClientLike } from '../../lambdas/shared/dynamodb';
import { BadRequestError } from '../../lambdas/shared/errors';
import { getItem, useLocalDynamo, type LocalDynamo } from '../support/realtime-local';

let local: LocalDynamo;
let table: string;

useLocalDynamo((started, fresh) => {
  local = started;
  table = fresh;
});

const T0 = Date.parse('2026-11-21T10:00:00.000Z');

/** A sandbox provider that counts its calls and can be told to die right after a charge. */
class Spy implements PaymentProvider {
  calls = 0;
  /** Throws this many times after the provider answered, standing for an invocation that died. */
  dieAfterCharge = 0;
  /** While set, a charge waits for it at the door of the provider (a slow probe). */
  gate?: Promise<void>;

  constructor(private readonly inner: PaymentProvider) {}

  get name(): string {
    return this.inner.name;
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    this.calls++;
    if (this.gate) await this.gate;
    const outcome = await this.inner.charge(request);
    if (this.dieAfterCharge > 0) {
      this.dieAfterCharge--;
      throw new Error('invocation died');
    }
    return outcome;
  }
}

/** DynamoDB Local's client, recording the name of every command sent. */
class RecordingClient implements DocumentClientLike {
  readonly sent: string[] = [];
  send(command: object): Promise<Record<string, unknown>> {
    this.sent.push(command.constructor.name);
    return (local.db as DocumentClientLike).send(command);
  }
}

function setup() {
  let now = T0;
  const clock = () => new Date(now);
  const db = new RecordingClient();
  const [a, b] = sandboxProviders(new DynamoSandboxLedger(db, table, clock), clock).map((p) => new Spy(p));
  const payments = new DynamoPaymentStore(db, table);
  const breakerStore = new DynamoBreakerStore(db, table);
  const processor = new ProviderPaymentProcessor({
    providers: [a!, b!],
    breaker: new CircuitBreaker(breakerStore, clock),
    claims: new DynamoChargeClaims(db, table),
    payments,
    clock,
  });
  return { a: a!, b: b!, db, payments, breakerStore, processor, clock, advance: (ms: number) => (now += ms) };
}

let keys = 0;
function command(paymentToken: string, overrides: Partial<ChargeCommand> = {}): ChargeCommand {
  return {
    chargeKey: `subscribe:sub_${++keys}`,
    userId: 'u1',
    amount: { amount: 999, currency: 'USD' },
    paymentToken,
    purpose: 'subscription',
    reason: 'subscribe',
    subscriptionId: 'sub_1',
    description: 'Basic monthly',
    ...overrides,
  };
}

async function items(entity: string): Promise<Record<string, unknown>[]> {
  const out = await local.db.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return (out.Items ?? []).filter((item) => item.entity === entity);
}

async function settled<T>(promises: Promise<T>[]): Promise<{ values: T[]; errors: unknown[] }> {
  const results = await Promise.allSettled(promises);
  return {
    values: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    errors: results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : [])),
  };
}

/** Five charges answered by the second provider after a provider error at the first: opens the first's breaker. */
async function openFirstBreaker(s: ReturnType<typeof setup>): Promise<void> {
  for (let i = 0; i < 5; i++) await s.processor.charge(command('tok_provider_error'));
}

describe('the test tokens', () => {
  it.each([
    ['tok_ok', 'succeeded', 'sandbox-a', undefined],
    ['tok_declined', 'failed', 'sandbox-a', 'card_declined'],
    ['tok_insufficient_funds', 'failed', 'sandbox-a', 'insufficient_funds'],
    ['tok_provider_error', 'succeeded', 'sandbox-b', undefined],
    ['tok_unknown', 'failed', 'sandbox-a', 'card_declined'],
    ['__proto__', 'failed', 'sandbox-a', 'card_declined'],
  ])('%s → %s at %s', async (token, status, provider, failureCode) => {
    const { processor } = setup();
    const cmd = command(token, { reason: 'renewal', periodEnd: '2026-12-21T10:00:00.000Z' });
    const payment = await processor.charge(cmd);
    const expected: Payment = {
      id: paymentIdFor(cmd.chargeKey),
      userId: 'u1',
      purpose: 'subscription',
      reason: 'renewal',
      subscriptionId: 'sub_1',
      amount: 999,
      currency: 'USD',
      status: status as Payment['status'],
      provider,
      ...(failureCode ? { failureCode } : {}),
      periodEnd: '2026-12-21T10:00:00.000Z',
      chargeKey: cmd.chargeKey,
      createdAt: new Date(T0).toISOString(),
    };
    expect(payment).toStrictEqual(expected);
    // Every field top-level on the item: the stream consumers build events and frames from it.
    expect(await items('Payment')).toStrictEqual([
      { pk: 'USER#u1', sk: `PAYMENT#${expected.createdAt}#${expected.id}`, entity: 'Payment', ...expected },
    ]);
    expect(await items(SANDBOX_CHARGE_ENTITY)).toEqual([
      expect.objectContaining({
        pk: `SANDBOX#${provider}#CHARGE#${cmd.chargeKey}`,
        sk: 'CHARGE',
        status: status === 'succeeded' ? 'succeeded' : 'declined',
        customerId: 'u1',
        amount: 999,
        currency: 'USD',
        expiresAt: T0 / 1000 + 35 * 24 * 3600,
      }),
    ]);
  });

  it('tok_all_providers_down → PaymentProvidersUnavailable: nothing charged, nothing recorded, the key free again', async () => {
    const { processor, a, b } = setup();
    const cmd = command('tok_all_providers_down');
    await expect(processor.charge(cmd)).rejects.toThrow(PaymentProvidersUnavailable);
    expect([a.calls, b.calls]).toEqual([1, 1]);
    expect(await items('Payment')).toEqual([]);
    expect(await items(SANDBOX_CHARGE_ENTITY)).toEqual([]);
    expect(await getItem(local.db, table, chargeClaimKey(cmd.chargeKey).pk, 'CHARGE')).toEqual(
      expect.objectContaining({ entity: CHARGE_CLAIM_ENTITY, leaseUntil: 0, provider: 'sandbox-b' }),
    );
    // Released: a retry at once tries again rather than meeting ChargeInProgress.
    await expect(processor.charge(cmd)).rejects.toThrow(PaymentProvidersUnavailable);
    expect([a.calls, b.calls]).toEqual([1, 2]);
  });

  it('tok_fail_after_first: the first charge succeeds, later ones decline, a repeat of the first keeps its answer', async () => {
    const { processor } = setup();
    const first = command('tok_fail_after_first');
    expect((await processor.charge(first)).status).toBe('succeeded');
    expect(await processor.charge(command('tok_fail_after_first'))).toMatchObject({ status: 'failed', failureCode: 'card_declined' });
    expect(await processor.charge(command('tok_fail_after_first'))).toMatchObject({ status: 'failed', failureCode: 'card_declined' });
    expect((await processor.charge(first)).status).toBe('succeeded');
    // Another customer's card is another card.
    expect((await processor.charge(command('tok_fail_after_first', { userId: 'u2' }))).status).toBe('succeeded');
  });

  it('tok_fail_first: the first charge declines insufficient_funds, later ones succeed, a repeat of the first keeps its answer', async () => {
    const { processor } = setup();
    const first = command('tok_fail_first');
    expect(await processor.charge(first)).toMatchObject({ status: 'failed', failureCode: 'insufficient_funds' });
    expect((await processor.charge(command('tok_fail_first'))).status).toBe('succeeded');
    expect(await processor.charge(first)).toMatchObject({ status: 'failed', failureCode: 'insufficient_funds' });
    expect(await processor.charge(command('tok_fail_first', { userId: 'u2' }))).toMatchObject({ status: 'failed' });
  });

  it('tok_fail_after_first: of two concurrent first charges, one succeeds', async () => {
    const { processor } = setup();
    const payments = await Promise.all([
      processor.charge(command('tok_fail_after_first')),
      processor.charge(command('tok_fail_after_first')),
    ]);
    expect(payments.map((p) => p.status).sort()).toEqual(['failed', 'succeeded']);
  });

  it('a sandbox provider answers a repeated key with its first outcome and charges nothing; a provider error writes nothing', async () => {
    const ledger = new DynamoSandboxLedger(local.db, table);
    const provider = new SandboxProvider('sandbox-x', ledger, { failsOn: ['tok_provider_error'] });
    const request = {
      chargeKey: 'k1',
      amount: { amount: 500, currency: 'EUR' as const },
      paymentToken: 'tok_ok',
      customerId: 'u1',
      description: 'd',
    };
    const first = await provider.charge(request);
    const again = await Promise.all(Array.from({ length: 10 }, () => provider.charge(request)));
    expect(first).toEqual({
      status: 'succeeded',
      provider: 'sandbox-x',
      providerChargeId: expect.stringMatching(/^ch_[0-9a-f]{24}$/),
      chargedAt: expect.any(String),
    });
    for (const outcome of again) expect(outcome).toStrictEqual(first);
    // The same key declined stays declined, even with another token.
    const declined = await provider.charge({ ...request, chargeKey: 'k2', paymentToken: 'tok_declined' });
    expect(await provider.charge({ ...request, chargeKey: 'k2' })).toStrictEqual(declined);
    await expect(provider.charge({ ...request, chargeKey: 'k3', paymentToken: 'tok_provider_error' })).rejects.toThrow(ProviderError);
    expect((await items(SANDBOX_CHARGE_ENTITY)).map((i) => i.chargeKey).sort()).toEqual(['k1', 'k2']);
  });
});

describe('failover and the circuit breaker', () => {
  it('never fails a decline over', async () => {
    const { processor, a, b } = setup();
    await processor.charge(command('tok_declined'));
    await processor.charge(command('tok_insufficient_funds'));
    expect([a.calls, b.calls]).toEqual([2, 0]);
  });

  it('opens the first provider after 5 provider errors: the next charge skips it; after 60 s one probe closes it', async () => {
    const s = setup();
    await openFirstBreaker(s);
    expect([s.a.calls, s.b.calls]).toEqual([5, 5]);
    expect(await getItem(local.db, table, breakerKey('sandbox-a').pk, 'BREAKER')).toEqual(
      expect.objectContaining({ entity: BREAKER_ENTITY, openUntil: T0 + 60_000 }),
    );

    expect(await s.processor.charge(command('tok_ok'))).toMatchObject({ status: 'succeeded', provider: 'sandbox-b' });
    expect([s.a.calls, s.b.calls]).toEqual([5, 6]);
    s.advance(59_999);
    expect(await s.processor.charge(command('tok_ok'))).toMatchObject({ provider: 'sandbox-b' });
    expect(s.a.calls).toBe(5);

    s.advance(1);
    expect(await s.processor.charge(command('tok_ok'))).toMatchObject({ status: 'succeeded', provider: 'sandbox-a' });
    expect(s.a.calls).toBe(6);
    expect(await s.breakerStore.get('sandbox-a')).toEqual({ failures: 0 });
    expect(await s.processor.charge(command('tok_ok'))).toMatchObject({ provider: 'sandbox-a' });
  });

  it('lets exactly one of many concurrent charges probe an open provider', async () => {
    const s = setup();
    await openFirstBreaker(s);
    s.advance(60_000);
    // The probe is held at the provider until the other nine are done: had it closed the breaker
    // first, a later charge would rightly go to sandbox-a, and the count would prove nothing.
    let release!: () => void;
    s.a.gate = new Promise<void>((resolve) => (release = resolve));
    let done = 0;
    const charges = Array.from({ length: 10 }, () => s.processor.charge(command('tok_ok')).finally(() => done++));
    for (const deadline = Date.now() + 10_000; done < 9; await new Promise((resolve) => setTimeout(resolve, 10))) {
      if (Date.now() > deadline) throw new Error(`${10 - done} charges wait at sandbox-a: more than one probe`);
    }
    expect(s.a.calls).toBe(6);
    release();
    const payments = await Promise.all(charges);
    expect(s.a.calls).toBe(6);
    expect(payments.filter((p) => p.provider === 'sandbox-a')).toHaveLength(1);
    expect(payments.filter((p) => p.provider === 'sandbox-b')).toHaveLength(9);
  });

  it('re-opens when the probe fails with a provider error (and the charge goes to the second provider)', async () => {
    const s = setup();
    await openFirstBreaker(s);
    s.advance(60_000);
    expect(await s.processor.charge(command('tok_provider_error'))).toMatchObject({ provider: 'sandbox-b' });
    expect(await s.breakerStore.get('sandbox-a')).toEqual({ failures: 0, openUntil: T0 + 120_000 });
  });

  it('a decline is an answer: it resets the count of provider errors', async () => {
    const s = setup();
    for (let i = 0; i < 4; i++) await s.processor.charge(command('tok_provider_error'));
    expect((await s.breakerStore.get('sandbox-a')).failures).toBe(4);
    await s.processor.charge(command('tok_declined'));
    expect((await s.breakerStore.get('sandbox-a')).failures).toBe(0);
  });

  it('a normal charge costs one breaker read and three writes (claim, provider ledger, payment)', async () => {
    const s = setup();
    await s.processor.charge(command('tok_ok'));
    expect(s.db.sent).toEqual(['UpdateCommand', 'GetCommand', 'PutCommand', 'PutCommand']);
  });
});

describe('DynamoBreakerStore', () => {
  it('applies each transition only on the state it was decided on', async () => {
    const store = new DynamoBreakerStore(local.db, table);
    expect(await store.get('p')).toEqual({ failures: 0 });
    for (let i = 1; i <= 5; i++) expect(await store.addFailure('p')).toBe(i);
    // A success reset the count after the 5th error: the opening decided on it no longer applies.
    await store.resetFailures('p');
    expect(await store.open('p', 5, T0)).toBe(false);
    for (let i = 0; i < 5; i++) await store.addFailure('p');
    expect(await store.open('p', 5, T0)).toBe(true);
    expect(await store.open('p', 5, T0 + 1)).toBe(false);
    // While open, errors and successes of calls let through before change nothing.
    expect(await store.addFailure('p')).toBeUndefined();
    await store.resetFailures('p');
    expect(await store.get('p')).toEqual({ failures: 0, openUntil: T0 });
    // A probe claim names the opening it saw, and waits for a live claim to end.
    expect(await store.claimProbe('p', T0 - 1, T0, { id: 'x', until: T0 + 10 })).toBe(false);
    expect(await store.claimProbe('p', T0, T0, { id: 'x', until: T0 + 10 })).toBe(true);
    expect(await store.claimProbe('p', T0, T0 + 9, { id: 'y', until: T0 + 19 })).toBe(false);
    expect(await store.claimProbe('p', T0, T0 + 10, { id: 'y', until: T0 + 20 })).toBe(true);
    expect(await store.settleProbe('p', 'x', T0 + 60_000)).toBe(false);
    expect(await store.settleProbe('p', 'y', T0 + 60_000)).toBe(true);
    expect(await store.get('p')).toEqual({ failures: 0, openUntil: T0 + 60_000 });
    expect(await store.claimProbe('p', T0 + 60_000, T0 + 60_000, { id: 'z', until: T0 + 60_010 })).toBe(true);
    expect(await store.settleProbe('p', 'z')).toBe(true);
    expect(await getItem(local.db, table, 'BREAKER#p', 'BREAKER')).toEqual({
      pk: 'BREAKER#p',
      sk: 'BREAKER',
      entity: BREAKER_ENTITY,
      failures: 0,
    });
  });

  it('of concurrent probe claims, one wins', async () => {
    const store = new DynamoBreakerStore(local.db, table);
    for (let i = 0; i < 5; i++) await store.addFailure('p');
    await store.open('p', 5, T0);
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claimProbe('p', T0, T0, { id: `c${i}`, until: T0 + 10 })));
    expect(claims.filter(Boolean)).toHaveLength(1);
  });
});

describe('a charge key charges once', () => {
  it('50 parallel and 50 sequential charges of one key: one charge, one payment, the same answer or ChargeInProgress', async () => {
    const { processor, a } = setup();
    const cmd = command('tok_ok');
    const { values, errors } = await settled(Array.from({ length: 50 }, () => processor.charge(cmd)));
    expect(values.length).toBeGreaterThanOrEqual(1);
    for (const error of errors) expect(error).toBeInstanceOf(ChargeInProgress);
    const [payment] = values;
    for (const value of values) expect(value).toStrictEqual(payment);
    for (let i = 0; i < 50; i++) expect(await processor.charge(cmd)).toStrictEqual(payment);
    expect(a.calls).toBe(1);
    expect(await items(SANDBOX_CHARGE_ENTITY)).toHaveLength(1);
    expect(await items('Payment')).toHaveLength(1);
  });

  it('answers the recorded payment after the lease ran out, without charging', async () => {
    const s = setup();
    const cmd = command('tok_ok');
    const payment = await s.processor.charge(cmd);
    s.advance(31_000);
    expect(await s.processor.charge(cmd)).toStrictEqual(payment);
    expect(s.a.calls).toBe(1);
  });

  it('keeps the key while its holder is charging: ChargeInProgress until the lease runs out', async () => {
    const s = setup();
    const cmd = command('tok_ok');
    s.a.dieAfterCharge = 1;
    await expect(s.processor.charge(cmd)).rejects.toThrow('invocation died');
    s.advance(29_999);
    await expect(s.processor.charge(cmd)).rejects.toThrow(ChargeInProgress);
    s.advance(1);
    const payment = await s.processor.charge(cmd);
    // The provider answered the charge it already took: one ledger item, one payment.
    expect(payment).toMatchObject({ status: 'succeeded', provider: 'sandbox-a', createdAt: new Date(T0).toISOString() });
    expect(s.a.calls).toBe(2);
    expect(await items(SANDBOX_CHARGE_ENTITY)).toHaveLength(1);
  });

  it('a retry after a failover starts at the provider it failed over to, never the first again', async () => {
    const s = setup();
    const cmd = command('tok_provider_error');
    s.b.dieAfterCharge = 1;
    await expect(s.processor.charge(cmd)).rejects.toThrow('invocation died');
    expect([s.a.calls, s.b.calls]).toEqual([1, 1]);
    expect(await getItem(local.db, table, chargeClaimKey(cmd.chargeKey).pk, 'CHARGE')).toMatchObject({ provider: 'sandbox-b' });
    s.advance(30_000);
    expect(await s.processor.charge(cmd)).toMatchObject({ status: 'succeeded', provider: 'sandbox-b' });
    expect([s.a.calls, s.b.calls]).toEqual([1, 2]);
    expect(await items(SANDBOX_CHARGE_ENTITY)).toEqual([expect.objectContaining({ provider: 'sandbox-b', chargeKey: cmd.chargeKey })]);
  });

  it('a retry after its holder died asks the pinned provider even when its breaker opened since', async () => {
    const s = setup();
    const cmd = command('tok_ok');
    s.a.dieAfterCharge = 1;
    await expect(s.processor.charge(cmd)).rejects.toThrow('invocation died');
    await openFirstBreaker(s);
    s.advance(30_000);
    expect(await s.processor.charge(cmd)).toMatchObject({ status: 'succeeded', provider: 'sandbox-a' });
    const charges = (await items(SANDBOX_CHARGE_ENTITY)).filter((i) => i.chargeKey === cmd.chargeKey);
    expect(charges).toEqual([expect.objectContaining({ provider: 'sandbox-a' })]);
  });
});

describe('payment history', () => {
  async function chargeAt(s: ReturnType<typeof setup>, userId: string, n: number): Promise<Payment[]> {
    const out: Payment[] = [];
    for (let i = 0; i < n; i++) {
      s.advance(1_000);
      out.push(await s.processor.charge(command(i % 2 ? 'tok_declined' : 'tok_ok', { userId })));
    }
    return out;
  }

  it('pages newest first with an opaque cursor, every attempt included', async () => {
    const s = setup();
    const mine = await chargeAt(s, 'u1', 5);
    await chargeAt(s, 'u2', 2);
    const first = await s.payments.list('u1', 2);
    expect(first.payments).toStrictEqual([mine[4], mine[3]]);
    const second = await s.payments.list('u1', 2, first.next);
    expect(second.payments).toStrictEqual([mine[2], mine[1]]);
    const third = await s.payments.list('u1', 2, second.next);
    expect(third).toStrictEqual({ payments: [mine[0]] });
    expect(await s.payments.list('u1', 5)).toStrictEqual({ payments: [...mine].reverse() });
    expect(await s.payments.list('nobody', 5)).toStrictEqual({ payments: [] });
  });

  it('refuses a tampered or foreign cursor naming the field', async () => {
    const s = setup();
    await chargeAt(s, 'u1', 3);
    const { next } = await s.payments.list('u1', 1);
    const bad = [
      'not base64!',
      `${next}!`,
      encodeCursor('PROFILE'),
      encodeCursor('PAYMENT#'),
      encodeCursor('SUBSCRIPTION#x'),
      encodeCursor(`PAYMENT#2026-11-21T10:00:00.000Z#${'x'.repeat(300)}`),
      'A'.repeat(1000),
      '',
    ];
    for (const cursor of bad) {
      const error = await s.payments.list('u1', 1, cursor).catch((e: unknown) => e);
      expect(error, cursor).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).details).toEqual([expect.objectContaining({ field: 'cursor' })]);
    }
  });

  it("another user's cursor only positions within the caller's own payments", async () => {
    const s = setup();
    const mine = await chargeAt(s, 'u1', 2);
    await chargeAt(s, 'u2', 3);
    const { next } = await s.payments.list('u2', 1);
    // Their cursor is newer than all of mine: after it come my payments, and none of theirs.
    expect(await s.payments.list('u1', 10, next)).toStrictEqual({ payments: [...mine].reverse() });
  });
});
