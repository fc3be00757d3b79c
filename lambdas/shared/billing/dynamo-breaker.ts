/**
 * The circuit breakers' state (breaker.ts) in the domain table, one item per provider:
 *
 *   pk `BREAKER#<provider>`  sk `BREAKER`  failures, openUntil?, probeId?, probeUntil? (epoch ms)
 *
 * Every change is one UpdateItem whose condition is the fact the breaker acted on (closed, still
 * over the threshold, the probe still ours), so concurrent invocations serialise on DynamoDB and
 * a write that lost the race changes nothing. No TTL: there is one small item per provider.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { isConditionalCheckFailed, type DocumentClientLike } from '../dynamodb';
import { CLOSED, type BreakerState, type BreakerStore } from './breaker';

export const BREAKER_ENTITY = 'CircuitBreaker';

export const breakerKey = (provider: string) => ({ pk: `BREAKER#${provider}`, sk: 'BREAKER' });

const stateSchema = z.object({
  failures: z.number().int().nonnegative().default(0),
  openUntil: z.number().optional(),
  probeId: z.string().optional(),
  probeUntil: z.number().optional(),
});

export class DynamoBreakerStore implements BreakerStore {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
  ) {}

  async get(provider: string): Promise<BreakerState> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: breakerKey(provider), ConsistentRead: true }));
    return out.Item ? stateSchema.parse(out.Item) : CLOSED;
  }

  async addFailure(provider: string): Promise<number | undefined> {
    const out = await this.update(provider, {
      UpdateExpression: 'SET entity = :entity ADD failures :one',
      ConditionExpression: 'attribute_not_exists(openUntil)',
      ExpressionAttributeValues: { ':entity': BREAKER_ENTITY, ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    });
    return out && z.object({ failures: z.number() }).parse(out.Attributes).failures;
  }

  async open(provider: string, threshold: number, until: number): Promise<boolean> {
    // Still over the threshold: a success that reset the count since then keeps it closed.
    return !!(await this.update(provider, {
      UpdateExpression: 'SET openUntil = :until, failures = :zero',
      ConditionExpression: 'attribute_not_exists(openUntil) AND failures >= :threshold',
      ExpressionAttributeValues: { ':until': until, ':zero': 0, ':threshold': threshold },
    }));
  }

  async resetFailures(provider: string): Promise<void> {
    await this.update(provider, {
      UpdateExpression: 'SET failures = :zero',
      ConditionExpression: 'attribute_not_exists(openUntil) AND failures > :zero',
      ExpressionAttributeValues: { ':zero': 0 },
    });
  }

  async claimProbe(
    provider: string,
    openUntil: number,
    now: number,
    probe: { readonly id: string; readonly until: number },
  ): Promise<boolean> {
    // `openUntil` pins the opening the caller saw: a breaker closed and re-opened since is another one.
    return !!(await this.update(provider, {
      UpdateExpression: 'SET probeId = :id, probeUntil = :until',
      ConditionExpression: 'openUntil = :openUntil AND (attribute_not_exists(probeUntil) OR probeUntil <= :now)',
      ExpressionAttributeValues: { ':id': probe.id, ':until': probe.until, ':openUntil': openUntil, ':now': now },
    }));
  }

  async settleProbe(provider: string, probeId: string, reopenUntil?: number): Promise<boolean> {
    const closing = reopenUntil === undefined;
    return !!(await this.update(provider, {
      UpdateExpression: closing
        ? 'SET failures = :zero REMOVE openUntil, probeId, probeUntil'
        : 'SET openUntil = :until REMOVE probeId, probeUntil',
      ConditionExpression: 'probeId = :id',
      ExpressionAttributeValues: closing ? { ':id': probeId, ':zero': 0 } : { ':id': probeId, ':until': reopenUntil },
    }));
  }

  /** One conditional UpdateItem; undefined when its condition failed. */
  private async update(
    provider: string,
    input: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeValues: Record<string, unknown>;
      ReturnValues?: 'UPDATED_NEW';
    },
  ): Promise<Record<string, unknown> | undefined> {
    try {
      return await this.client.send(new UpdateCommand({ TableName: this.tableName, Key: breakerKey(provider), ...input }));
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }
}
