/**
 * A producer's topic event (topic-events.ts) written to the domain table, and only there. Fan-out
 * picks it up from the stream (cdc.ts); nothing calls fan-out directly, so a producer's write and
 * its delivery can never disagree.
 *
 *   pk `TOPIC#<topic>`  sk `EVENT#<ISO time>#<random>`  entity `TopicEvent`, topic, event,
 *   payload, coalesce, createdAt, publishedBy, expiresAt (1 day: the replay log holds them after)
 *
 * One partition key per topic keeps a topic's events in one stream shard, so they are numbered in
 * the order they were written.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { epochSeconds, systemClock, type Clock } from '../clock';
import type { DocumentClientLike } from '../dynamodb';
import { TOPIC_EVENT_ENTITY } from './cdc';
import type { AcceptedEvent, PublishBody } from './topic-events';

export const TOPIC_EVENT_RETENTION_SECONDS = 24 * 60 * 60;

export class TopicEventStore {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async publish(topic: string, body: PublishBody, publishedBy: string): Promise<AcceptedEvent> {
    const now = this.clock();
    const createdAt = now.toISOString();
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `TOPIC#${topic}`,
          sk: `EVENT#${createdAt}#${randomUUID()}`,
          entity: TOPIC_EVENT_ENTITY,
          topic,
          event: body.event,
          payload: body.payload,
          ...(body.coalesce ? { coalesce: true } : {}),
          createdAt,
          publishedBy,
          expiresAt: epochSeconds(now) + TOPIC_EVENT_RETENTION_SECONDS,
        },
      }),
    );
    return { topic, event: body.event, acceptedAt: createdAt };
  }
}
