/**
 * The WebSocket limits (limits.ts) in the realtime table. Items, each with the table's TTL
 * attribute `expiresAt`, so nothing a client causes here outlives its use:
 *
 *   pk `frames#<connectionId>`  sk `<window start, epoch s>`  frames: the connection's frames in
 *                                                              that window; expires a minute after it
 *   pk `user#<userId>`          sk `slot#<nnn>`                connectionId: the connection holding
 *                                                              slot nnn; expires 2 h 1 min after its
 *                                                              connect, when the connection has
 *                                                              certainly ended
 *   pk `user#<userId>`          sk `tickets#<window start>`    issued: the user's tickets that minute;
 *                                                              expires a minute after it
 *
 * Why the frame counter is not on the connection's `meta` item: subscribe and unsubscribe update
 * `meta` (its `subs` count) inside transactions, and a transaction is cancelled by a concurrent
 * write to one of its items, so a counter written by every frame there would make a connection's
 * subscribes conflict with its own pings. Its own partition also keeps `conn#<id>` to what
 * `$disconnect` reads, and the item small: each frame costs exactly one write unit.
 *
 * Counting is one atomic write each: an `ADD` for frames (the count decides, it never needs to
 * stop), and for tickets an `ADD` conditioned on the count being under the cap, so 50 parallel
 * requests never take more than the cap. A slot is claimed with a put conditioned on the slot
 * being free or expired; the Query before it only picks which slots are worth trying.
 */
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { isConditionalCheckFailed, type DocumentClientLike } from '../dynamodb';
import { MAX_CONNECTION_SECONDS } from './dynamo-connections';
import {
  fixedWindow,
  freeSlots,
  secondsUntilEnd,
  TICKET_WINDOW_SECONDS,
  TooManyTickets,
  type ConnectionSlots,
  type FrameCounter,
  type HeldSlot,
  type TicketQuota,
  type Window,
} from './limits';

/** Counters outlive their window by this much: TTL is lazy anyway, and clocks drift. */
const COUNTER_TTL_MARGIN_SECONDS = 60;

/**
 * How long a claimed slot holds without a `$disconnect`: API Gateway's 2-hour cap on a
 * connection, plus a minute for clocks. Past it the connection has certainly ended.
 */
export const SLOT_HOLD_SECONDS = MAX_CONNECTION_SECONDS + 60;

/** The most slots a user may have: a Query of them stays one small page. */
export const MAX_SLOTS = 1000;

export const frameCounterKey = (connectionId: string, windowStart: number) => ({ pk: `frames#${connectionId}`, sk: String(windowStart) });
export const userPartition = (userId: string) => `user#${userId}`;
export const slotKey = (userId: string, slot: number) => ({ pk: userPartition(userId), sk: `slot#${String(slot).padStart(3, '0')}` });
export const ticketCounterKey = (userId: string, windowStart: number) => ({ pk: userPartition(userId), sk: `tickets#${windowStart}` });

const countSchema = z.object({ frames: z.number().int() });
const slotItemSchema = z.object({ sk: z.string().regex(/^slot#\d+$/), connectionId: z.string(), expiresAt: z.number() });

export class DynamoFrameCounter implements FrameCounter {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
  ) {}

  async add(connectionId: string, window: Window): Promise<number> {
    const out = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: frameCounterKey(connectionId, window.start),
        UpdateExpression: 'ADD frames :one SET expiresAt = if_not_exists(expiresAt, :expiresAt)',
        ExpressionAttributeValues: { ':one': 1, ':expiresAt': window.end + COUNTER_TTL_MARGIN_SECONDS },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return countSchema.parse(out.Attributes).frames;
  }
}

export class DynamoConnectionSlots implements ConnectionSlots {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    readonly cap: number,
    private readonly clock: Clock = systemClock,
    private readonly random: () => number = Math.random,
  ) {
    if (!Number.isInteger(cap) || cap < 1 || cap > MAX_SLOTS)
      throw new RangeError(`cap must be an integer from 1 to ${MAX_SLOTS}, got ${cap}`);
  }

  async claim(userId: string, connectionId: string): Promise<number | undefined> {
    const now = epochSeconds(this.clock());
    const held = (await this.slots(userId)).map(({ slot, expiresAt }): HeldSlot => ({ slot, expiresAt }));
    for (const slot of freeSlots(this.cap, held, now, this.random() * this.cap)) {
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...slotKey(userId, slot), connectionId, claimedAt: now, expiresAt: now + SLOT_HOLD_SECONDS },
            // Free (never claimed or released) or held by a connection that has certainly ended.
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
            ExpressionAttributeValues: { ':now': now },
          }),
        );
        return slot;
      } catch (error) {
        // A concurrent connect of the same user took it first: try the next one.
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
    return undefined;
  }

  async release(userId: string, connectionId: string): Promise<void> {
    const mine = (await this.slots(userId)).filter((s) => s.connectionId === connectionId);
    for (const { slot } of mine) {
      try {
        await this.client.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: slotKey(userId, slot),
            // Never free a slot another connection has claimed since (after this one's expired).
            ConditionExpression: 'connectionId = :connectionId',
            ExpressionAttributeValues: { ':connectionId': connectionId },
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
  }

  /** The user's slot items, strongly consistent: a release just before must count as free. */
  private async slots(userId: string): Promise<{ slot: number; connectionId: string; expiresAt: number }[]> {
    const slots: { slot: number; connectionId: string; expiresAt: number }[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :slot)',
          ExpressionAttributeValues: { ':pk': userPartition(userId), ':slot': 'slot#' },
          ProjectionExpression: 'sk, connectionId, expiresAt',
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const item of (page.Items as unknown[] | undefined) ?? []) {
        const parsed = slotItemSchema.safeParse(item);
        if (!parsed.success) continue;
        const { sk, connectionId, expiresAt } = parsed.data;
        slots.push({ slot: Number(sk.slice('slot#'.length)), connectionId, expiresAt });
      }
      ExclusiveStartKey = page.LastEvaluatedKey as Record<string, unknown> | undefined;
    } while (ExclusiveStartKey);
    return slots;
  }
}

export class DynamoTicketQuota implements TicketQuota {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    readonly perMinute: number,
  ) {
    if (!Number.isInteger(perMinute) || perMinute < 1) throw new RangeError(`perMinute must be a positive integer, got ${perMinute}`);
  }

  async take(userId: string, atMs: number): Promise<void> {
    const window = fixedWindow(atMs, TICKET_WINDOW_SECONDS);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ticketCounterKey(userId, window.start),
          UpdateExpression: 'ADD issued :one SET expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(issued) OR issued < :cap',
          ExpressionAttributeValues: { ':one': 1, ':cap': this.perMinute, ':expiresAt': window.end + COUNTER_TTL_MARGIN_SECONDS },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new TooManyTickets(this.perMinute, secondsUntilEnd(window, atMs));
      throw error;
    }
  }
}
