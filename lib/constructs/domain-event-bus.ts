/**
 * DomainEventBus: the stateful half of domain events (DESIGN.md section 2; docs/events.md).
 *
 * - `bus`: the custom EventBridge bus every domain event goes to (source `realtime-platform`,
 *   detail-types from `lambdas/shared/events/catalog.ts`). Consumers add rules to it.
 * - An archive of every event of that source, for replay: the domain table's stream keeps changes
 *   for 24 hours only, so after a consumer bug or an outage longer than EventBridge's own retries
 *   (24 hours) the archive is the only way to deliver the events again. Details carry no personal
 *   data, so archiving them keeps none either.
 * - `publisherDeadLetterQueue`: the on-failure destination of the publisher's stream mapping. It
 *   lives here, not beside the function, because queues are stateful: what it holds must survive
 *   a redeploy of the stateless stack. Each message describes a range of stream records (shard,
 *   sequence numbers), not the records: they can be read from the stream until it trims them.
 *
 * The bus, archive and queue go with their stack on every stage: the archive is a replay
 * convenience with a bounded retention, not the system of record (the domain table is).
 */
import { Duration } from 'aws-cdk-lib';
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../lambdas/shared/events/catalog';
import { DeadLetterQueue } from './dead-letter-queue';

export interface DomainEventBusProps {
  /**
   * How long the archive keeps events for replay; `Duration.days(0)` keeps them indefinitely.
   * @default Duration.days(30)
   */
  readonly archiveRetention?: Duration;
}

export class DomainEventBus extends Construct {
  /** The custom bus for domain events. */
  public readonly bus: IEventBus;
  /** Where the publisher's stream mapping sends the records it gave up on. */
  public readonly publisherDeadLetterQueue: IQueue;
  /** In alarm while `publisherDeadLetterQueue` is not empty. */
  public readonly publisherDeadLetterAlarm: IAlarm;

  constructor(scope: Construct, id: string, props: DomainEventBusProps = {}) {
    super(scope, id);
    const archiveRetention = props.archiveRetention ?? Duration.days(30);
    if (!Number.isInteger(archiveRetention.toDays({ integral: false }))) {
      throw new Error(`DomainEventBus ${id}: archiveRetention must be a whole number of days`);
    }

    const bus = new EventBus(this, 'Bus', { description: 'Domain events of the realtime platform (docs/events.md)' });
    bus.archive('Archive', {
      description: 'Every domain event, for replay after a consumer failure',
      eventPattern: { source: [EVENT_SOURCE] },
      retention: archiveRetention,
    });

    const dlq = new DeadLetterQueue(this, 'PublisherDeadLetterQueue', {
      holds: 'ranges of domain-table stream records the domain-event publisher could not publish',
    });

    this.bus = bus;
    this.publisherDeadLetterQueue = dlq.queue;
    this.publisherDeadLetterAlarm = dlq.alarm;
  }
}
