/**
 * Time to Live on the virtual clock. AWS deletes items whose TTL has passed (lazily: typically
 * within a day or two). DynamoDB Local has a TTL job too, but on the *wall clock*: an advance of
 * the virtual clock, or a clock started in the future, never expires anything there. The sweeper
 * deletes what has expired by the virtual clock, with AWS's rules:
 *
 * - Only tables whose template enables TTL (`TimeToLiveSpecification`) are looked at; others are
 *   never scanned.
 * - An item expires when its TTL attribute is a Number of epoch seconds earlier than the virtual
 *   clock's now. A missing attribute, another type (a String holding digits, a list, ...) or a
 *   value more than five years in the past keeps the item (AWS ignores those too).
 * - Each delete is conditional on the TTL value the scan saw, so an item whose TTL was just
 *   extended (or that was rewritten) survives.
 * - Stream records of these deletions carry AWS's TTL `userIdentity`
 *   (`{type: "Service", principalId: "dynamodb.amazonaws.com"}`): each deletion is announced to
 *   `../streams/ttl-deletions.ts`, which the stream record builder consults.
 *
 * When: a sweep is due once `periodSeconds` (30 by default) of *virtual* time have passed since
 * the last one. Two things start a due sweep:
 * - a real-time check, re-armed from the clock's speed (so at `--clock-factor 1` the tables are
 *   swept every 30 s; faster clocks at most every 250 ms of real time), and
 * - the clock settling: the sweeper is registered as a settleable part that is busy while a sweep
 *   is due or running, and starts the due sweep when asked. `POST /clock/advance` settles before
 *   moving, at every timer it fires and at the end, so an advance deletes what expired on the way
 *   (at the latest at its end) and its stream records are delivered before it returns. The sweeper
 *   sets no virtual timers of its own on purpose: one every 30 s would make advancing a month
 *   stop (and settle) 86,400 times.
 *
 * DynamoDB Local's own job keeps running (the tables have TTL enabled, so DescribeTimeToLive is
 * right): items expired by the wall clock may go that way first, which is harmless (the sweeper's
 * conditional delete then finds nothing), and its stream records are made AWS-like in
 * `../streams/records.ts`. The one divergence left: while the virtual clock is *behind* the wall
 * clock (frozen or slowed for long, or started in the past), DynamoDB Local deletes items that
 * have not expired in virtual time yet.
 *
 * Cost of a sweep: one paginated Scan per TTL table, projecting only the key attributes and the
 * TTL attribute, with the expiry test as a filter (DynamoDB Local evaluates it), then one
 * conditional DeleteItem per expired item.
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import type { VirtualClock } from '../clock';
import type { CloudModel } from '../model';
import type { LocalTable } from './tables';
import { toAttributeJson, type ImageJson } from '../streams/dynamodb-json';
import { ttlDeletions } from '../streams/ttl-deletions';

export interface TtlSweeperOptions {
  readonly model: CloudModel;
  /** Every table of the cloud; only those with a TTL attribute are swept. */
  readonly tables: readonly LocalTable[];
  readonly clock: VirtualClock;
  /** DynamoDB Local's endpoint. */
  readonly endpoint: string;
  readonly region: string;
  /** Virtual seconds between sweeps. @default 30 */
  readonly periodSeconds?: number;
  /** Failures (a sweep that could not finish). @default console.error */
  readonly log?: (line: string) => void;
}

/** What the sweeper has done to one table (for tests and debugging). */
export interface TtlTableStats {
  sweeps: number;
  deleted: number;
}

/** A table with TTL enabled, as the sweeper sees it. */
export interface SweptTable {
  readonly table: LocalTable;
  readonly ttlAttribute: string;
  readonly keyAttributes: readonly string[];
}

const DEFAULT_PERIOD_SECONDS = 30;
/** AWS ignores TTL values more than five years in the past. */
const MAX_PAST_SECONDS = 5 * 365 * 24 * 60 * 60;
/** Bounds of the real-time check's delay. */
const MIN_CHECK_MS = 250;
const MAX_CHECK_MS = 5_000;
/** While the clock is frozen, how often to look whether it was scaled. */
const FROZEN_CHECK_MS = 1_000;

export class TtlSweeper {
  /** The tables with TTL enabled: the only ones ever scanned. */
  readonly tables: readonly SweptTable[];
  /** Per table name. */
  readonly stats = new Map<string, TtlTableStats>();
  private readonly client: DynamoDBClient;
  private readonly clock: VirtualClock;
  private readonly periodMs: number;
  private readonly log: (line: string) => void;
  /** Virtual time of the last sweep's start (-Infinity: a sweep is due at once). */
  private lastSweepAt = Number.NEGATIVE_INFINITY;
  private running?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(options: TtlSweeperOptions) {
    this.clock = options.clock;
    this.periodMs = (options.periodSeconds ?? DEFAULT_PERIOD_SECONDS) * 1000;
    if (!(this.periodMs > 0)) throw new RangeError(`TTL sweep period must be > 0 seconds, got ${options.periodSeconds}`);
    this.log = options.log ?? ((line) => console.error(line));
    this.tables = options.tables
      .filter((t) => t.ttlAttribute)
      .map((table) => {
        const keySchema = (options.model.properties(table.resource).KeySchema ?? []) as Array<{ AttributeName: string }>;
        return { table, ttlAttribute: table.ttlAttribute!, keyAttributes: keySchema.map((k) => k.AttributeName) };
      });
    for (const t of this.tables) this.stats.set(t.table.name, { sweeps: 0, deleted: 0 });
    this.client = new DynamoDBClient({
      endpoint: options.endpoint,
      region: options.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }

  /** Starts the real-time check (nothing at all when no table has TTL). */
  start(): void {
    if (this.tables.length > 0) this.arm();
  }

  /**
   * For the clock's settle: false while a sweep runs or is due, and then a due sweep is started,
   * so settling (and advancing) waits for expired items to be deleted.
   */
  isIdle(): boolean {
    if (this.running) return false;
    if (this.stopped || this.tables.length === 0 || !this.isDue()) return true;
    void this.sweep();
    return false;
  }

  /** Sweeps every TTL table now (or joins the sweep under way). */
  sweep(): Promise<void> {
    if (this.stopped || this.tables.length === 0) return Promise.resolve();
    this.running ??= this.sweepAll()
      .catch((error: unknown) => this.log(`TTL sweep failed: ${(error as Error).message}`))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /**
   * Deletes one item if its TTL attribute still holds `ttlValue` (the conditional delete of a
   * sweep). Returns whether it was deleted.
   */
  async deleteExpired(tableName: string, key: Record<string, AttributeValue>, ttlValue: string): Promise<boolean> {
    const swept = this.tables.find((t) => t.table.name === tableName);
    if (!swept) throw new Error(`table ${tableName} has no TTL attribute`);
    return this.deleteItem(swept, key, ttlValue);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    this.client.destroy();
  }

  private isDue(): boolean {
    return this.clock.now() - this.lastSweepAt >= this.periodMs;
  }

  /** The real-time check: sweeps when due, then waits about until the next sweep is due. */
  private arm(): void {
    if (this.stopped) return;
    const factor = this.clock.factor;
    // Frozen clock: only an advance moves time, and settling sweeps then; look again soon
    // anyway, in case the clock is scaled.
    const wait = factor > 0 ? (this.lastSweepAt + this.periodMs - this.clock.now()) / factor : FROZEN_CHECK_MS;
    this.timer = setTimeout(
      () => {
        const work = this.isDue() ? this.sweep() : Promise.resolve();
        void work.finally(() => this.arm());
      },
      Math.min(MAX_CHECK_MS, Math.max(MIN_CHECK_MS, Number.isFinite(wait) ? wait : 0)),
    );
    this.timer.unref();
  }

  private async sweepAll(): Promise<void> {
    const now = this.clock.now();
    this.lastSweepAt = now;
    for (const swept of this.tables) {
      if (this.stopped) return;
      try {
        await this.sweepTable(swept, now);
      } catch (error) {
        if (!this.stopped)
          this.log(`TTL sweep of table ${swept.table.name} failed (retried at the next sweep): ${(error as Error).message}`);
      }
    }
  }

  private async sweepTable(swept: SweptTable, nowMs: number): Promise<void> {
    const stats = this.stats.get(swept.table.name)!;
    stats.sweeps++;
    const nowSeconds = nowMs / 1000;
    const names: Record<string, string> = { '#ttl': swept.ttlAttribute };
    swept.keyAttributes.forEach((name, i) => {
      names[`#k${i}`] = name;
    });
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: swept.table.name,
          ProjectionExpression: ['#ttl', ...swept.keyAttributes.map((_, i) => `#k${i}`)].join(', '),
          // Comparisons against a number are false for any other type, so only Numbers match.
          FilterExpression: '#ttl < :now AND #ttl >= :oldest',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':now': { N: String(nowSeconds) },
            ':oldest': { N: String(nowSeconds - MAX_PAST_SECONDS) },
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (this.stopped) return;
        const ttl = item[swept.ttlAttribute]?.N;
        // Defensive: the filter already kept only expired numbers.
        if (ttl === undefined || !(Number(ttl) < nowSeconds)) continue;
        const key: Record<string, AttributeValue> = {};
        for (const name of swept.keyAttributes) key[name] = item[name]!;
        if (await this.deleteItem(swept, key, ttl)) stats.deleted++;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && !this.stopped);
  }

  private async deleteItem(swept: SweptTable, key: Record<string, AttributeValue>, ttlValue: string): Promise<boolean> {
    const name = swept.table.name;
    // Announced before the delete: the stream record may be read before DeleteItem returns.
    const keysJson: ImageJson = {};
    for (const [k, v] of Object.entries(key)) keysJson[k] = toAttributeJson(v);
    const token = swept.table.streamArn ? ttlDeletions.announce(name, keysJson, swept.ttlAttribute, ttlValue) : undefined;
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: name,
          Key: key,
          ConditionExpression: '#ttl = :ttl',
          ExpressionAttributeNames: { '#ttl': swept.ttlAttribute },
          ExpressionAttributeValues: { ':ttl': { N: ttlValue } },
        }),
      );
      return true;
    } catch (error) {
      if (token !== undefined) ttlDeletions.withdraw(name, keysJson, token);
      // The item changed since the scan (TTL extended, rewritten) or is gone: it stays.
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
