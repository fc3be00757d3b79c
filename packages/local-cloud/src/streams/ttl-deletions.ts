/**
 * Which stream REMOVE records come from Time to Live deletions.
 *
 * On AWS, the stream record of an item that TTL deleted carries
 * `userIdentity: {type: "Service", principalId: "dynamodb.amazonaws.com"}` (consumers filter on it,
 * e.g. to archive expired items). DynamoDB Local has no TTL, so the local cloud's sweeper
 * (`../dynamodb/ttl-sweeper.ts`) deletes expired items with ordinary DeleteItem calls, and
 * DynamoDB Local writes ordinary REMOVE records for them. To tag those records, the sweeper
 * announces each deletion here *before* making it (the stream record may be read before the
 * DeleteItem call returns) and withdraws it if the conditional delete fails; the record builder
 * (`toShardRecord` in `./records.ts`) asks `isTtlRemoval` for every REMOVE record it builds.
 *
 * Matching: a REMOVE record of the same table and key whose old image (when the stream view has
 * one) holds the TTL value the sweeper deleted on. The first record that matches claims the
 * announcement; its sequence number is remembered, so every other reader of the same stream
 * (several mappings may read one shard separately) tags the same record and no other. An
 * application delete of the very item the sweeper is deleting, in the instant between the two,
 * could be tagged instead of the sweeper's (whose delete then fails): the one imprecision.
 *
 * A process-wide registry keyed by table name, because that is how DynamoDB Local's tables are
 * keyed (clouds sharing one DynamoDB Local share its tables), and because the record builder is
 * reached from the shard readers without a context to pass it through. Both maps are bounded.
 */
import type { AttributeJson, ImageJson } from './dynamodb-json';

/** The identity AWS puts on stream records of TTL deletions. */
export const TTL_USER_IDENTITY = { type: 'Service', principalId: 'dynamodb.amazonaws.com' } as const;

/** At most this many announcements and this many claimed records are remembered (oldest go first). */
const MAX_ENTRIES = 50_000;

interface Announcement {
  readonly id: number;
  readonly ttlAttribute: string;
  /** The TTL attribute's number, as DynamoDB returned it (`N`). */
  readonly ttlValue: string;
}

export class TtlDeletions {
  /** `table \n canonical key` → deletions announced and not yet seen in a stream. */
  private readonly pending = new Map<string, Announcement[]>();
  private pendingCount = 0;
  /** `streamArn \n sequenceNumber` of records recognised as TTL deletions. */
  private readonly claimed = new Set<string>();
  private nextId = 1;

  /** Announces that the sweeper is about to delete this item; returns a token for `withdraw`. */
  announce(table: string, keys: ImageJson, ttlAttribute: string, ttlValue: string): number {
    const id = this.nextId++;
    const slot = slotOf(table, keys);
    const list = this.pending.get(slot) ?? [];
    list.push({ id, ttlAttribute, ttlValue });
    this.pending.set(slot, list);
    this.pendingCount++;
    while (this.pendingCount > MAX_ENTRIES) {
      const [oldest, entries] = this.pending.entries().next().value!;
      entries.shift();
      this.pendingCount--;
      if (entries.length === 0) this.pending.delete(oldest);
    }
    return id;
  }

  /** The delete did not happen (the item changed or is gone): no record will come. */
  withdraw(table: string, keys: ImageJson, id: number): void {
    const slot = slotOf(table, keys);
    const list = this.pending.get(slot);
    const index = list?.findIndex((a) => a.id === id) ?? -1;
    if (!list || index < 0) return;
    list.splice(index, 1);
    this.pendingCount--;
    if (list.length === 0) this.pending.delete(slot);
  }

  /** Whether this stream record is the REMOVE of a TTL deletion. */
  isTtlRemoval(streamArn: string, sequenceNumber: string, eventName: string, keys: ImageJson, oldImage: ImageJson | undefined): boolean {
    const recordId = `${streamArn}\n${sequenceNumber}`;
    if (this.claimed.has(recordId)) return true;
    if (eventName !== 'REMOVE' || this.pendingCount === 0) return false;
    const table = tableOfStream(streamArn);
    if (!table) return false;
    const slot = slotOf(table, keys);
    const list = this.pending.get(slot);
    const index =
      list?.findIndex((a) => {
        // KEYS_ONLY and NEW_IMAGE streams have no old image: the key decides alone.
        const old = oldImage?.[a.ttlAttribute];
        return oldImage === undefined || (old !== undefined && old.N === a.ttlValue);
      }) ?? -1;
    if (!list || index < 0) return false;
    list.splice(index, 1);
    this.pendingCount--;
    if (list.length === 0) this.pending.delete(slot);
    this.claimed.add(recordId);
    if (this.claimed.size > MAX_ENTRIES) this.claimed.delete(this.claimed.values().next().value!);
    return true;
  }
}

/** The registry the sweeper fills and the stream record builder consults. */
export const ttlDeletions = new TtlDeletions();

/** `arn:aws:dynamodb:ddblocal:000000000000:table/NAME/stream/2024-...` → NAME. */
function tableOfStream(streamArn: string): string | undefined {
  return /:table\/([^/]+)\/stream\//.exec(streamArn)?.[1];
}

function slotOf(table: string, keys: ImageJson): string {
  const canonical = Object.keys(keys)
    .sort()
    .map((name) => [name, canonicalValue(keys[name]!)]);
  return `${table}\n${JSON.stringify(canonical)}`;
}

/** Key attributes are S, N or B: one type tag and a string each. */
function canonicalValue(value: AttributeJson): string {
  const [type, v] = Object.entries(value)[0] ?? ['', ''];
  return `${type}:${String(v)}`;
}
