/**
 * A circuit breaker per payment provider (DESIGN.md section 5), its state shared by every
 * invocation through a `BreakerStore` (dynamo-breaker.ts keeps it in the domain table).
 *
 *   closed ──N consecutive provider errors──▶ open ──openMs later──▶ half-open
 *   half-open ──one caller claims the probe──▶ probe succeeds: closed | probe fails: open again
 *
 * Only provider errors count: a decline is an answer, so it proves the provider works. Every
 * transition is one conditional write in the store, so concurrent callers cannot both open the
 * breaker, both probe it, or undo each other's decision. A charge through a closed breaker with
 * no failures on record costs one read and no write.
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../clock';

/** What the store holds for one provider. Times are epoch milliseconds of the injected clock. */
export interface BreakerState {
  /** Consecutive provider errors counted while closed. */
  readonly failures: number;
  /** Set while open or half-open: until then no call goes through. */
  readonly openUntil?: number;
  /** The caller holding the half-open probe, and until when its claim holds. */
  readonly probeId?: string;
  readonly probeUntil?: number;
}

export const CLOSED: BreakerState = { failures: 0 };

/**
 * The breaker's state per provider. Each write is conditional on the fact the caller acted on, and
 * answers whether it applied; a write that did not apply means another caller moved the state first.
 */
export interface BreakerStore {
  /** The provider's state; `CLOSED` when nothing was ever recorded. */
  get(provider: string): Promise<BreakerState>;
  /** Adds a provider error while closed; answers the new count, undefined when the breaker was not closed. */
  addFailure(provider: string): Promise<number | undefined>;
  /** Opens a closed breaker until `until`, if it still counts at least `threshold` failures. */
  open(provider: string, threshold: number, until: number): Promise<boolean>;
  /** Forgets the failures of a closed breaker that counts some. */
  resetFailures(provider: string): Promise<void>;
  /** Claims the probe of the breaker opened until `openUntil`, unless a live claim (probeUntil > now) holds it. */
  claimProbe(provider: string, openUntil: number, now: number, probe: { readonly id: string; readonly until: number }): Promise<boolean>;
  /** Ends the probe `probeId` holds: closes the breaker, or re-opens it until `reopenUntil`. */
  settleProbe(provider: string, probeId: string, reopenUntil?: number): Promise<boolean>;
}

export interface BreakerConfig {
  /** Consecutive provider errors that open the breaker. @default 5 */
  readonly failureThreshold?: number;
  /** How long it stays open before one probe is let through. @default 60_000 */
  readonly openMs?: number;
  /** How long a probe claim holds, so a probe whose caller died does not keep the breaker shut. @default 10_000 */
  readonly probeLeaseMs?: number;
}

/** Leave to call a provider: through a closed breaker, or as its half-open probe. */
export type Permit =
  | { readonly kind: 'closed'; readonly provider: string; readonly failures: number }
  | { readonly kind: 'probe'; readonly provider: string; readonly probeId: string };

/** Where a breaker stands at `now`, from its state alone. */
export function phase(state: BreakerState, now: number): 'closed' | 'open' | 'half-open' | 'probing' {
  if (state.openUntil === undefined) return 'closed';
  if (now < state.openUntil) return 'open';
  return state.probeUntil !== undefined && state.probeUntil > now ? 'probing' : 'half-open';
}

export class CircuitBreaker {
  private readonly failureThreshold: number;
  private readonly openMs: number;
  private readonly probeLeaseMs: number;

  constructor(
    private readonly store: BreakerStore,
    private readonly clock: Clock = systemClock,
    config: BreakerConfig = {},
  ) {
    this.failureThreshold = config.failureThreshold ?? 5;
    this.openMs = config.openMs ?? 60_000;
    this.probeLeaseMs = config.probeLeaseMs ?? 10_000;
    if (!Number.isInteger(this.failureThreshold) || this.failureThreshold < 1)
      throw new Error('failureThreshold must be a positive integer');
    if (this.openMs <= 0 || this.probeLeaseMs <= 0) throw new Error('openMs and probeLeaseMs must be positive');
  }

  /** Leave to call `provider` now; undefined while it is open or another caller holds its probe. */
  async acquire(provider: string): Promise<Permit | undefined> {
    const state = await this.store.get(provider);
    const now = this.clock().getTime();
    switch (phase(state, now)) {
      case 'closed':
        return { kind: 'closed', provider, failures: state.failures };
      case 'half-open': {
        const probeId = randomUUID();
        const claimed = await this.store.claimProbe(provider, state.openUntil!, now, { id: probeId, until: now + this.probeLeaseMs });
        return claimed ? { kind: 'probe', provider, probeId } : undefined;
      }
      default:
        return undefined;
    }
  }

  /** The provider answered (a charge or a decline). */
  async succeeded(permit: Permit): Promise<void> {
    if (permit.kind === 'probe') await this.store.settleProbe(permit.provider, permit.probeId);
    // Only a breaker with failures on record is written: the common charge costs no write here.
    else if (permit.failures > 0) await this.store.resetFailures(permit.provider);
  }

  /** The provider failed with a provider error. */
  async failed(permit: Permit): Promise<void> {
    const reopenUntil = this.clock().getTime() + this.openMs;
    if (permit.kind === 'probe') {
      await this.store.settleProbe(permit.provider, permit.probeId, reopenUntil);
      return;
    }
    const failures = await this.store.addFailure(permit.provider);
    if (failures !== undefined && failures >= this.failureThreshold)
      await this.store.open(permit.provider, this.failureThreshold, reopenUntil);
  }
}
