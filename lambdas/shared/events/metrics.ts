/**
 * Names of the metrics the domain-event publisher records (Powertools EMF, `service` dimension
 * `domain-events`). A module of its own so `lib/constructs/domain-events.ts` can alarm on them
 * without loading the publisher and its SDK client.
 */
export const PUBLISHER_METRICS = {
  /** Events the bus accepted. */
  published: 'DomainEventsPublished',
  /** Events still failing after the last attempt; their records are reported for retry. */
  unpublished: 'DomainEventsUnpublished',
  /** Entries sent again after a failed attempt. */
  retried: 'DomainEventsRetried',
  /** Stream records skipped because they cannot be mapped (alarmed on). */
  malformed: 'DomainEventRecordsMalformed',
} as const;
