/**
 * A change of a domain-table item, as both of the stream's consumers see it (the domain-event
 * publisher and real-time fan-out): transport-neutral, images unmarshalled, no Lambda event types.
 * `stream-record.ts` turns a stream record into one.
 */

/** Every domain-table item names its kind in this attribute (`User`, `TopicEvent`, ...). */
export const ENTITY_ATTRIBUTE = 'entity';

export const CHANGE_TYPES = ['INSERT', 'MODIFY', 'REMOVE'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

/** A domain-table item, unmarshalled. */
export type Item = Readonly<Record<string, unknown>>;

/** One change of a domain-table item, as the stream reports it. */
export interface DomainChange {
  /** The stream record's `eventID`: unique per change and the same on every redelivery of it. */
  readonly id: string;
  readonly type: ChangeType;
  /** When DynamoDB made the change (the stream's approximate creation time), ISO 8601. */
  readonly occurredAt: string;
  readonly newImage?: Item;
  readonly oldImage?: Item;
}

/** What a stream consumer reacts to: changes of this type to items of this entity. */
export interface StreamTrigger {
  readonly entity: string;
  readonly change: ChangeType;
}
