/**
 * Realtime tickets: what a client puts in the WebSocket URL (`?ticket=`) instead of its access
 * token, which would end up in access logs and proxies. 32 random bytes, valid for 60 seconds,
 * usable once. Stored hashed in the realtime table (short-lived data without a stream):
 *
 *   pk `ticket#<sha256 of ticket>`  sk `ticket`  userId, role, expiresAt (epoch s, TTL)
 *
 * `consume` is a conditional DeleteItem with `ReturnValues: ALL_OLD`: of two connects with one
 * ticket, exactly one gets the item back. Expiry is part of the condition, since TTL is lazy. A
 * refusal says why, for the authorizer's log: the item a failed condition returns tells an expired
 * ticket (still stored until TTL removes it) from an unknown or used one (no item; a used ticket
 * leaves nothing behind, so those two cannot be told apart).
 */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { isConditionalCheckFailed, type DocumentClientLike } from './dynamo';
import { hashOpaqueToken, newOpaqueToken, OPAQUE_TOKEN_PATTERN, ROLES, type Principal } from './tokens';

export const TICKET_TTL_SECONDS = 60;

export const ticketKey = (ticket: string) => ({ pk: `ticket#${hashOpaqueToken(ticket)}`, sk: 'ticket' });

export interface IssuedTicket {
  readonly ticket: string;
  /** ISO 8601. */
  readonly expiresAt: string;
}

const itemSchema = z.object({ userId: z.string().min(1), role: z.enum(ROLES) });

/** Why a ticket was refused: `missing`, `malformed`, `expired`, or `unknown_or_used`. */
export type TicketRefusal = 'missing' | 'malformed' | 'expired' | 'unknown_or_used';

/** What presenting a ticket gave: its principal, or why it was refused. */
export type TicketOutcome = { readonly principal: Principal } | { readonly refused: TicketRefusal };

export class TicketStore {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async issue(principal: Principal): Promise<IssuedTicket> {
    const ticket = newOpaqueToken();
    const now = this.clock();
    const expiresAt = epochSeconds(now) + TICKET_TTL_SECONDS;
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...ticketKey(ticket), userId: principal.userId, role: principal.role, expiresAt },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return { ticket, expiresAt: new Date(expiresAt * 1000).toISOString() };
  }

  /** The ticket's principal, deleting the ticket; or why it is refused. */
  async consume(ticket: string | undefined): Promise<TicketOutcome> {
    if (!ticket) return { refused: 'missing' };
    // A forged ticket of the wrong shape costs no table read.
    if (!OPAQUE_TOKEN_PATTERN.test(ticket)) return { refused: 'malformed' };
    try {
      const out = await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: ticketKey(ticket),
          ConditionExpression: 'attribute_exists(pk) AND expiresAt > :now',
          ExpressionAttributeValues: { ':now': epochSeconds(this.clock()) },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { principal: itemSchema.parse(out.Attributes) };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return { refused: (error as { Item?: unknown }).Item ? 'expired' : 'unknown_or_used' };
    }
  }
}
