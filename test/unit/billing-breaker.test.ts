/**
 * The payment providers' circuit breaker (lambdas/shared/billing/breaker.ts): its transitions, on
 * an in-memory store that applies the same conditions as the DynamoDB one and counts writes, with
 * a clock the test moves by hand. The DynamoDB store itself runs in
 * test/integration/billing-payments.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CLOSED, phase, type BreakerState, type BreakerStore, type Permit } from '../../lambdas/shared/billing/breaker';

/** One state per provider; each write applies only when its condition holds, as DynamoDB's would. */
class MemoryBreakerStore implements BreakerStore {
  readonly states = new Map<string, BreakerState>();
  writes = 0;
  reads = 0;

  async get(provider: string): Promise<BreakerState> {
    this.reads++;
    return this.states.get(provider) ?? CLOSED;
  }

  async addFailure(provider: string): Promise<number | undefined> {
    return this.write(provider, (s) => (s.openUntil === undefined ? { ...s, failures: s.failures + 1 } : undefined))?.failures;
  }

  async open(provider: string, threshold: number, until: number): Promise<boolean> {
    return !!this.write(provider, (s) =>
      s.openUntil === undefined && s.failures >= threshold ? { failures: 0, openUntil: until } : undefined,
    );
  }

  async resetFailures(provider: string): Promise<void> {
    this.write(provider, (s) => (s.openUntil === undefined && s.failures > 0 ? { failures: 0 } : undefined));
  }

  async claimProbe(provider: string, openUntil: number, now: number, probe: { id: string; until: number }): Promise<boolean> {
    return !!this.write(provider, (s) =>
      s.openUntil === openUntil && (s.probeUntil === undefined || s.probeUntil <= now)
        ? { ...s, probeId: probe.id, probeUntil: probe.until }
        : undefined,
    );
  }

  async settleProbe(provider: string, probeId: string, reopenUntil?: number): Promise<boolean> {
    return !!this.write(provider, (s) => {
      if (s.probeId !== probeId) return undefined;
      return reopenUntil === undefined ? { failures: 0 } : { failures: s.failures, openUntil: reopenUntil };
    });
  }

  /** Applies `change` to the state; it answers undefined when its condition fails. */
  private write(provider: string, change: (state: BreakerState) => BreakerState | undefined): BreakerState | undefined {
    this.writes++;
    const next = change(this.states.get(provider) ?? CLOSED);
    if (next) this.states.set(provider, next);
    return next;
  }
}

function setup(config = {}) {
  let now = Date.parse('2026-11-21T10:00:00.000Z');
  const store = new MemoryBreakerStore();
  const breaker = new CircuitBreaker(store, () => new Date(now), config);
  return { store, breaker, advance: (ms: number) => (now += ms), now: () => now };
}

/** A call that failed with a provider error, through whatever permit the breaker gives. */
async function failOnce(breaker: CircuitBreaker, provider = 'a'): Promise<Permit | undefined> {
  const permit = await breaker.acquire(provider);
  if (permit) await breaker.failed(permit);
  return permit;
}

describe('CircuitBreaker', () => {
  it('tells its phase from the state and the time', () => {
    expect(phase({ failures: 3 }, 0)).toBe('closed');
    expect(phase({ failures: 0, openUntil: 100 }, 99)).toBe('open');
    expect(phase({ failures: 0, openUntil: 100 }, 100)).toBe('half-open');
    expect(phase({ failures: 0, openUntil: 100, probeId: 'p', probeUntil: 110 }, 105)).toBe('probing');
    expect(phase({ failures: 0, openUntil: 100, probeId: 'p', probeUntil: 110 }, 110)).toBe('half-open');
  });

  it('lets calls through while closed; a success with no failures on record writes nothing', async () => {
    const { store, breaker } = setup();
    for (let i = 0; i < 10; i++) {
      const permit = await breaker.acquire('a');
      expect(permit).toEqual({ kind: 'closed', provider: 'a', failures: 0 });
      await breaker.succeeded(permit!);
    }
    expect(store.reads).toBe(10);
    expect(store.writes).toBe(0);
  });

  it('opens after 5 consecutive provider errors, for 60 s', async () => {
    const { store, breaker, advance, now } = setup();
    for (let i = 0; i < 4; i++) await failOnce(breaker);
    expect(await breaker.acquire('a')).toMatchObject({ kind: 'closed', failures: 4 });
    await failOnce(breaker);
    expect(store.states.get('a')).toEqual({ failures: 0, openUntil: now() + 60_000 });
    expect(await breaker.acquire('a')).toBeUndefined();
    advance(59_999);
    expect(await breaker.acquire('a')).toBeUndefined();
    // Other providers have their own breaker.
    expect(await breaker.acquire('b')).toMatchObject({ kind: 'closed' });
  });

  it('counts consecutive errors only: a success in between starts the count again', async () => {
    const { store, breaker } = setup();
    for (let i = 0; i < 4; i++) await failOnce(breaker);
    const permit = await breaker.acquire('a');
    await breaker.succeeded(permit!);
    expect(store.states.get('a')).toEqual({ failures: 0 });
    for (let i = 0; i < 4; i++) await failOnce(breaker);
    expect(await breaker.acquire('a')).toMatchObject({ kind: 'closed', failures: 4 });
  });

  it('lets one probe through after 60 s; its success closes the breaker', async () => {
    const { store, breaker, advance } = setup();
    for (let i = 0; i < 5; i++) await failOnce(breaker);
    advance(60_000);
    const probe = await breaker.acquire('a');
    expect(probe).toMatchObject({ kind: 'probe', provider: 'a' });
    // While the probe is out, everybody else is kept out.
    expect(await breaker.acquire('a')).toBeUndefined();
    expect(await breaker.acquire('a')).toBeUndefined();
    await breaker.succeeded(probe!);
    expect(store.states.get('a')).toEqual({ failures: 0 });
    expect(await breaker.acquire('a')).toMatchObject({ kind: 'closed', failures: 0 });
  });

  it('of concurrent callers after the open period, exactly one probes', async () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 5; i++) await failOnce(breaker);
    advance(61_000);
    const permits = await Promise.all(Array.from({ length: 20 }, () => breaker.acquire('a')));
    expect(permits.filter((p) => p?.kind === 'probe')).toHaveLength(1);
    expect(permits.filter((p) => p === undefined)).toHaveLength(19);
  });

  it('re-opens for another 60 s when the probe fails', async () => {
    const { store, breaker, advance, now } = setup();
    for (let i = 0; i < 5; i++) await failOnce(breaker);
    advance(60_000);
    const probe = await failOnce(breaker);
    expect(probe?.kind).toBe('probe');
    expect(store.states.get('a')).toEqual({ failures: 0, openUntil: now() + 60_000 });
    advance(30_000);
    expect(await breaker.acquire('a')).toBeUndefined();
    advance(30_000);
    expect(await breaker.acquire('a')).toMatchObject({ kind: 'probe' });
  });

  it('hands the probe to another caller when its holder never reports (after 10 s)', async () => {
    const { store, breaker, advance } = setup();
    for (let i = 0; i < 5; i++) await failOnce(breaker);
    advance(60_000);
    const lost = await breaker.acquire('a');
    expect(lost?.kind).toBe('probe');
    advance(9_999);
    expect(await breaker.acquire('a')).toBeUndefined();
    advance(1);
    const second = await breaker.acquire('a');
    expect(second?.kind).toBe('probe');
    // The first holder's late answer no longer decides: the probe is the second caller's.
    await breaker.failed(lost!);
    expect(store.states.get('a')).toMatchObject({ probeId: second?.kind === 'probe' ? second.probeId : 'none' });
    await breaker.succeeded(second!);
    expect(phase(store.states.get('a')!, 0)).toBe('closed');
  });

  it('ignores provider errors of calls let through before it opened', async () => {
    const { store, breaker, now } = setup();
    const late = await Promise.all(Array.from({ length: 3 }, () => breaker.acquire('a')));
    for (let i = 0; i < 5; i++) await failOnce(breaker);
    for (const permit of late) await breaker.failed(permit!);
    expect(store.states.get('a')).toEqual({ failures: 0, openUntil: now() + 60_000 });
  });

  it('takes its thresholds from the config', async () => {
    const { breaker, advance } = setup({ failureThreshold: 2, openMs: 5_000 });
    await failOnce(breaker);
    expect(await breaker.acquire('a')).toMatchObject({ kind: 'closed' });
    await failOnce(breaker);
    expect(await breaker.acquire('a')).toBeUndefined();
    advance(5_000);
    expect(await breaker.acquire('a')).toMatchObject({ kind: 'probe' });
    expect(() => new CircuitBreaker(new MemoryBreakerStore(), undefined, { failureThreshold: 0 })).toThrow(/failureThreshold/);
  });
});
