/**
 * Realtime tickets: what a client puts in the WebSocket URL (`?ticket=`) instead of its access
 * token, which would end up in access logs and proxies. 32 random bytes, valid for 60 seconds,
 * usable once. Stored hashed in the realtime table (short-lived data without a stream):
 *
 *   pk `ticket#<sha256 of ticket>`  sk `ticket`  userId, role, expiresAt (epoch s, TTL)
 *
 * `consume` is a conditional DeleteItem with `ReturnValues: ALL_OLD`: of two connects with one
 * ticket, exactly one gets the item back. Expiry is part of the condition, since TTL is lazy.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { consumeOnce, type DocumentClientLike } from './dynamo';
import { hashOpaqueToken, newOpaqueToken, OPAQUE_TOKEN_PATTERN, ROLES, type Principal } from './tokens';

export const TICKET_TTL_SECONDS = 60;

export const ticketKey = (ticket: string) => ({ pk: `ticket#${hashOpaqueToken(ticket)}`, sk: 'ticket' });

export interface IssuedTicket {
  readonly ticket: string;
  /** ISO 8601. */
  readonly expiresAt: string;
}

const itemSchema = z.object({ userId: z.string().min(1), role: z.enum(ROLES) });

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

  /** The ticket's principal, deleting the ticket; undefined when it is malformed, unknown, used or expired. */
  async consume(ticket: string): Promise<Principal | undefined> {
    // A forged ticket of the wrong shape costs no table read.
    if (!OPAQUE_TOKEN_PATTERN.test(ticket)) return undefined;
    return consumeOnce(this.client, this.tableName, ticketKey(ticket), epochSeconds(this.clock()), itemSchema);
  }
}
