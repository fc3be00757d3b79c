/**
 * The virtual clock shared by every part of the local cloud: Lambda workers (their `Date`),
 * schedules, Step Functions Wait states, queue delays and visibility timeouts, message timestamps.
 *
 * Virtual time runs at `factor` × real time from an anchor (factor 1 = real time, the default of
 * `local-cloud`; 0 = frozen, only `advance` moves it; 86400 = a day per second). Timers are kept in
 * virtual time. `advance` moves time to each due timer in order and lets the system settle between
 * them (no running invocation, no visible message waiting for a consumer, no runnable execution),
 * so advancing 7 days gives the same outcome as living them.
 *
 * The current anchor is mirrored into a SharedArrayBuffer that Lambda workers read, so `Date.now()`
 * inside a handler is virtual time without a message round trip.
 */

/** Something that can tell whether it still has work in flight (see `VirtualClock.settle`). */
export interface Settleable {
  readonly name: string;
  /** True when this part has nothing runnable right now (waiting on a timer counts as idle). */
  isIdle(): boolean | Promise<boolean>;
}

export interface TimerHandle {
  readonly id: number;
  readonly due: number;
}

interface Timer {
  readonly id: number;
  readonly due: number;
  readonly callback: () => void;
  readonly label?: string;
}

const realNow = () => performance.timeOrigin + performance.now();

export class VirtualClock {
  /** [anchorVirtualMs, anchorRealMs, factor] as read by workers; index 3 is a sequence counter. */
  readonly shared = new SharedArrayBuffer(4 * 8);
  private readonly view = new Float64Array(this.shared);
  private anchorVirtual: number;
  private anchorReal: number;
  private currentFactor: number;
  private timers: Timer[] = [];
  private nextId = 1;
  private realTimer?: NodeJS.Timeout;
  private advancing = false;
  private readonly settleables: Settleable[] = [];
  private inFlight = 0;

  constructor(options: { start?: number; factor?: number } = {}) {
    this.anchorVirtual = options.start ?? Date.now();
    this.anchorReal = realNow();
    this.currentFactor = options.factor ?? 1;
    this.publish();
  }

  /** Current virtual time in epoch milliseconds. */
  now(): number {
    return this.anchorVirtual + (realNow() - this.anchorReal) * this.currentFactor;
  }

  date(): Date {
    return new Date(this.now());
  }

  get factor(): number {
    return this.currentFactor;
  }

  /** Changes the speed of virtual time from now on. */
  scale(factor: number): void {
    if (!Number.isFinite(factor) || factor < 0) throw new RangeError(`clock factor must be a number ≥ 0, got ${factor}`);
    this.rebase(this.now(), factor);
  }

  /** Calls `callback` when virtual time reaches `due` (epoch ms). */
  setTimer(due: number, callback: () => void, label?: string): TimerHandle {
    const timer: Timer = { id: this.nextId++, due, callback, label };
    // Keep sorted by due time, then by creation, so equal times fire in the order they were set.
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.due > due) i--;
    this.timers.splice(i, 0, timer);
    this.arm();
    return { id: timer.id, due };
  }

  /** Calls `callback` after `ms` of virtual time. */
  setTimeout(ms: number, callback: () => void, label?: string): TimerHandle {
    return this.setTimer(this.now() + Math.max(0, ms), callback, label);
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (!handle) return;
    this.timers = this.timers.filter((t) => t.id !== handle.id);
    this.arm();
  }

  /** Pending timers (for the control API and debugging). */
  pending(): Array<{ due: string; label?: string }> {
    return this.timers.map((t) => ({ due: new Date(t.due).toISOString(), label: t.label }));
  }

  /** Registers a part of the local cloud whose idleness `settle` waits for. */
  register(settleable: Settleable): void {
    this.settleables.push(settleable);
  }

  /**
   * Counts `work` as in flight until it settles: `settle` waits for it. Services wrap invocations
   * and deliveries in this so nothing started is missed.
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.begin();
    return work.finally(() => this.end());
  }

  /** Counts one operation as in flight until the matching `end()` (for hot paths that cannot afford a promise). */
  begin(): void {
    this.inFlight++;
  }

  end(): void {
    this.inFlight--;
  }

  /**
   * Resolves once nothing is in flight and every registered part is idle, twice in a row a short
   * real-time moment apart (stream records and queue pollers need a poll to show up).
   */
  async settle(timeoutMs = 120_000): Promise<void> {
    const deadline = realNow() + timeoutMs;
    let quietRounds = 0;
    while (quietRounds < 2) {
      if (realNow() > deadline)
        throw new Error(`the local cloud did not settle within ${timeoutMs} ms: busy: ${(await this.busyParts()).join(', ')}`);
      quietRounds = (await this.busyParts()).length === 0 ? quietRounds + 1 : 0;
      await new Promise((r) => setTimeout(r, quietRounds === 0 ? 10 : 30));
    }
  }

  /** Names of the parts that are not idle right now. */
  async busyParts(): Promise<string[]> {
    const busy: string[] = this.inFlight > 0 ? [`${this.inFlight} tracked operation(s)`] : [];
    for (const s of this.settleables) if (!(await s.isIdle())) busy.push(s.name);
    return busy;
  }

  /**
   * Moves virtual time forward to `target` (epoch ms), firing every timer due on the way in
   * order and settling after each. Real-time progression is paused meanwhile.
   */
  async advanceTo(target: number): Promise<void> {
    if (this.advancing) throw new Error('the clock is already being advanced');
    const now = this.now();
    if (target < now)
      throw new RangeError(`cannot move the clock back (now ${new Date(now).toISOString()}, asked ${new Date(target).toISOString()})`);
    this.advancing = true;
    const factor = this.currentFactor;
    this.rebase(now, 0);
    try {
      await this.settle();
      for (;;) {
        const next = this.timers[0];
        if (!next || next.due > target) break;
        this.rebase(Math.max(this.anchorVirtual, next.due), 0);
        this.fireDue();
        await this.settle();
      }
      this.rebase(target, 0);
      this.fireDue();
      await this.settle();
    } finally {
      this.advancing = false;
      this.rebase(this.anchorVirtual, factor);
    }
  }

  async advance(seconds: number): Promise<void> {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`seconds must be a number ≥ 0, got ${seconds}`);
    await this.advanceTo(this.now() + seconds * 1000);
  }

  stop(): void {
    clearTimeout(this.realTimer);
    this.timers = [];
  }

  private rebase(virtual: number, factor: number): void {
    this.anchorVirtual = virtual;
    this.anchorReal = realNow();
    this.currentFactor = factor;
    this.publish();
    this.arm();
  }

  /** Fires every timer due at the current virtual time, in order. */
  private fireDue(): void {
    const now = this.now();
    while (this.timers.length > 0 && this.timers[0]!.due <= now) {
      const timer = this.timers.shift()!;
      try {
        timer.callback();
      } catch (error) {
        console.error(`clock timer ${timer.label ?? timer.id} failed:`, error);
      }
    }
  }

  /** Arms one real timer for the earliest virtual timer (none while frozen or advancing). */
  private arm(): void {
    clearTimeout(this.realTimer);
    this.realTimer = undefined;
    if (this.advancing || this.currentFactor === 0 || this.timers.length === 0) return;
    const delay = Math.max(0, (this.timers[0]!.due - this.now()) / this.currentFactor);
    this.realTimer = setTimeout(
      () => {
        this.fireDue();
        this.arm();
      },
      Math.min(delay, 2 ** 31 - 1),
    );
    this.realTimer.unref();
  }

  private publish(): void {
    // Workers read [virtual, real, factor] between two equal sequence numbers (a seqlock).
    const seq = new Int32Array(this.shared, 24, 2);
    Atomics.add(seq, 0, 1);
    this.view[0] = this.anchorVirtual;
    this.view[1] = this.anchorReal;
    this.view[2] = this.currentFactor;
    Atomics.add(seq, 0, 1);
  }
}
