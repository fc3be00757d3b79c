/**
 * Where the local SES puts what it would have delivered: kept in memory, the most recent
 * `capacity` messages (oldest dropped first), listed oldest first, optionally for one recipient.
 */
import { parseAddress } from './identities';

/** One accepted message, as `GET /ses/messages` lists it. */
export interface StoredEmail {
  readonly messageId: string;
  /** FromEmailAddress as the caller gave it (a display name included). */
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly replyTo: readonly string[];
  readonly subject: string;
  readonly text: string | null;
  readonly html: string | null;
  /** For templated messages: the stored template's name (absent for inline content) and the data. */
  readonly template?: { readonly name?: string; readonly data: unknown };
  /** ISO time on the local cloud's virtual clock. */
  readonly sentAt: string;
}

export const DEFAULT_CAPACITY = 10_000;

export class Mailbox {
  private messages: StoredEmail[] = [];

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  add(email: StoredEmail): void {
    this.messages.push(email);
    if (this.messages.length > this.capacity) this.messages.splice(0, this.messages.length - this.capacity);
  }

  /** Oldest first; with `recipient`, the messages that have it in To, Cc or Bcc (any case). */
  list(recipient?: string): StoredEmail[] {
    if (recipient === undefined) return [...this.messages];
    const wanted = recipient.toLowerCase();
    const matches = (address: string) => (parseAddress(address) ?? address).toLowerCase() === wanted;
    return this.messages.filter((m) => m.to.some(matches) || m.cc.some(matches) || m.bcc.some(matches));
  }

  /** Empties the mailbox; answers how many messages it held. */
  clear(): number {
    const count = this.messages.length;
    this.messages = [];
    return count;
  }
}
