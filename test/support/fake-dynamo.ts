/**
 * An in-memory stand-in for `DynamoDBDocumentClient.send`, for unit tests of the stores in
 * `lambdas/shared/identity/`. It understands exactly what those stores send: Get, Put, Delete
 * (ReturnValues ALL_OLD), Update (`ADD x :v`, ReturnValues ALL_NEW) and TransactWrite of Puts, with
 * condition expressions made of `attribute_exists(a)`, `attribute_not_exists(a)` and `a op :v`
 * (op one of = < <= > >=) joined by AND / OR (AND binds tighter). Failures carry the SDK's error
 * names, which is all the stores look at. Anything else throws, so a test cannot pass by accident.
 */
import { DeleteCommand, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DocumentClientLike } from '../../lambdas/shared/identity/dynamo';

type Item = Record<string, unknown>;
type Values = Record<string, unknown> | undefined;

function named(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(name), { name }, extra);
}

export function evaluateCondition(expression: string, item: Item | undefined, values: Values): boolean {
  return expression.split(/\s+OR\s+/).some((alternative) =>
    alternative.split(/\s+AND\s+/).every((term) => {
      const t = term.trim();
      let m = /^attribute_exists\((\w+)\)$/.exec(t);
      if (m) return item !== undefined && item[m[1]!] !== undefined;
      m = /^attribute_not_exists\((\w+)\)$/.exec(t);
      if (m) return item === undefined || item[m[1]!] === undefined;
      m = /^(\w+)\s*(=|<=|>=|<|>)\s*(:\w+)$/.exec(t);
      if (!m) throw new Error(`fake-dynamo: unsupported condition term ${JSON.stringify(t)}`);
      const actual = item?.[m[1]!] as number | string | undefined;
      const expected = values?.[m[3]!] as number | string;
      if (actual === undefined) return false;
      switch (m[2]) {
        case '=':
          return actual === expected;
        case '<':
          return actual < expected;
        case '<=':
          return actual <= expected;
        case '>':
          return actual > expected;
        default:
          return actual >= expected;
      }
    }),
  );
}

export class FakeDynamo implements DocumentClientLike {
  /** Items by table, then by `pk|sk`. */
  readonly tables = new Map<string, Map<string, Item>>();
  readonly sent: object[] = [];
  /** Called before each command; throw from it to inject a failure. */
  beforeSend?: (command: object) => void;

  items(table: string): Item[] {
    return [...(this.tables.get(table)?.values() ?? [])];
  }

  private table(name: string | undefined): Map<string, Item> {
    if (!name) throw new Error('fake-dynamo: TableName missing');
    let table = this.tables.get(name);
    if (!table) this.tables.set(name, (table = new Map()));
    return table;
  }

  private static key(key: Item): string {
    return `${String(key.pk)}|${String(key.sk)}`;
  }

  async send(command: object): Promise<Record<string, unknown>> {
    this.sent.push(command);
    this.beforeSend?.(command);
    if (command instanceof GetCommand) {
      const item = this.table(command.input.TableName).get(FakeDynamo.key(command.input.Key!));
      return item ? { Item: structuredClone(item) } : {};
    }
    if (command instanceof PutCommand) {
      const { TableName, Item: item, ConditionExpression, ExpressionAttributeValues } = command.input;
      const table = this.table(TableName);
      const key = FakeDynamo.key(item!);
      if (ConditionExpression && !evaluateCondition(ConditionExpression, table.get(key), ExpressionAttributeValues)) {
        throw named('ConditionalCheckFailedException');
      }
      table.set(key, structuredClone(item!));
      return {};
    }
    if (command instanceof DeleteCommand) {
      const { TableName, Key, ConditionExpression, ExpressionAttributeValues, ReturnValues } = command.input;
      const table = this.table(TableName);
      const key = FakeDynamo.key(Key!);
      const old = table.get(key);
      if (ConditionExpression && !evaluateCondition(ConditionExpression, old, ExpressionAttributeValues)) {
        throw named('ConditionalCheckFailedException');
      }
      table.delete(key);
      return ReturnValues === 'ALL_OLD' && old ? { Attributes: old } : {};
    }
    if (command instanceof UpdateCommand) {
      const { TableName, Key, UpdateExpression, ConditionExpression, ExpressionAttributeValues: values, ReturnValues } = command.input;
      const table = this.table(TableName);
      const key = FakeDynamo.key(Key!);
      const old = table.get(key);
      if (ConditionExpression && !evaluateCondition(ConditionExpression, old, values)) {
        throw named('ConditionalCheckFailedException');
      }
      const m = /^ADD (\w+) (:\w+)$/.exec(UpdateExpression ?? '');
      if (!m) throw new Error(`fake-dynamo: unsupported update ${UpdateExpression}`);
      const next = { ...Key, ...old, [m[1]!]: Number(old?.[m[1]!] ?? 0) + Number(values?.[m[2]!]) };
      table.set(key, next);
      return ReturnValues === 'ALL_NEW' ? { Attributes: structuredClone(next) } : {};
    }
    if (command instanceof TransactWriteCommand) {
      const puts = (command.input.TransactItems ?? []).map((entry) => {
        if (!entry.Put) throw new Error('fake-dynamo: only Put in transactions');
        return entry.Put;
      });
      const reasons = puts.map((put) => {
        const current = this.table(put.TableName).get(FakeDynamo.key(put.Item!));
        return put.ConditionExpression && !evaluateCondition(put.ConditionExpression, current, put.ExpressionAttributeValues)
          ? 'ConditionalCheckFailed'
          : 'None';
      });
      if (reasons.some((r) => r !== 'None')) {
        throw named('TransactionCanceledException', { CancellationReasons: reasons.map((Code) => ({ Code })) });
      }
      for (const put of puts) this.table(put.TableName).set(FakeDynamo.key(put.Item!), structuredClone(put.Item!));
      return {};
    }
    throw new Error(`fake-dynamo: unsupported command ${command.constructor.name}`);
  }
}

export { named as sdkError };
