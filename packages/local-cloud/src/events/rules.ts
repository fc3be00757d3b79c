/**
 * Event buses, rules and targets of the local EventBridge, as the template (`AWS::Events::*`) or
 * the API (PutRule / PutTargets) define them, validated the way PutRule and PutTargets validate.
 */
import { AwsError } from '../aws-protocol';
import type { TimerHandle } from '../clock';
import { parsePattern, PatternError, type CompiledPattern } from './pattern';
import { parseSchedule, ScheduleError, type RuleSchedule } from './schedule';
import { compilePath, compileTransformer, TransformError, type InputTransformerSpec } from './transform';

/** A target's `RetryPolicy` when PutTargets or the template gives none. */
export const DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185;
export const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 86_400;

export interface EventBus {
  readonly name: string;
  readonly arn: string;
  readonly description?: string;
  readonly policy?: string;
  readonly createdAt: number;
  readonly rules: Map<string, Rule>;
  /** `Stack/LogicalId` for buses from the template. */
  readonly where?: string;
}

export type RuleState = 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

export interface Rule {
  readonly name: string;
  readonly arn: string;
  readonly busName: string;
  state: RuleState;
  pattern?: { readonly text: string; readonly compiled: CompiledPattern };
  schedule?: RuleSchedule;
  /** When a rate schedule started counting. */
  scheduleAnchor?: number;
  scheduleTimer?: TimerHandle;
  description?: string;
  roleArn?: string;
  readonly targets: Map<string, RuleTarget>;
  readonly createdBy: string;
  readonly where?: string;
}

/** An event a rule matched, on its way to the rule's targets. */
export interface MatchedEvent {
  readonly event: Record<string, unknown>;
  /** JSON text of `event` (what an untransformed target receives). */
  readonly eventJson: string;
  /** Virtual epoch ms at which the event bus received it (the age limit counts from here). */
  readonly ingestedAt: number;
}

export interface RuleRef {
  readonly name: string;
  readonly arn: string;
}

export interface RuleTarget {
  readonly id: string;
  readonly arn: string;
  /** The target as PutTargets / the template gave it (what ListTargetsByRule returns). */
  readonly raw: Record<string, unknown>;
  readonly messageGroupId?: string;
  readonly deadLetterArn?: string;
  readonly retryPolicy: { readonly maximumRetryAttempts: number; readonly maximumEventAgeSeconds: number };
  /** The payload the target receives for one event. */
  input(matched: MatchedEvent, rule: RuleRef): string;
}

/** Target parameters whose behaviour the local cloud does not reproduce. */
export const UNSUPPORTED_TARGET_PARAMETERS = [
  'EcsParameters',
  'HttpParameters',
  'KinesisParameters',
  'BatchParameters',
  'RunCommandParameters',
  'RedshiftDataParameters',
  'SageMakerPipelineParameters',
  'AppSyncParameters',
] as const;

/** ARN prefixes of the target kinds delivered locally (by the services owning them). */
export function targetKind(arn: string): { service: string; supported: boolean } {
  const service = arn.split(':')[2] ?? '';
  if (service === 'events') {
    const resource = arn.split(':').slice(5).join(':');
    return resource.startsWith('event-bus/')
      ? { service: 'EventBridge event bus', supported: true }
      : { service: `EventBridge ${resource.split('/')[0] ?? 'resource'}`, supported: false };
  }
  const names: Record<string, string> = { lambda: 'Lambda', sqs: 'SQS', states: 'Step Functions' };
  return { service: names[service] ?? service, supported: service in names };
}

export function validationError(message: string): AwsError {
  return new AwsError('ValidationException', message);
}

/** Compiles an event pattern (object or JSON text) as PutRule does. Throws InvalidEventPatternException. */
export function compileRulePattern(pattern: unknown): { text: string; compiled: CompiledPattern } {
  const text = typeof pattern === 'string' ? pattern : JSON.stringify(pattern);
  try {
    return { text, compiled: parsePattern(typeof pattern === 'string' ? pattern : pattern) };
  } catch (error) {
    const reason = error instanceof PatternError ? error.message : (error as Error).message;
    throw new AwsError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${reason}`);
  }
}

export function compileRuleSchedule(expression: string): RuleSchedule {
  try {
    return parseSchedule(expression);
  } catch (error) {
    const reason = error instanceof ScheduleError ? error.message : String(error);
    throw validationError(`Parameter ScheduleExpression is not valid. Reason: ${reason}`);
  }
}

/** Validates and compiles one target as PutTargets does. Throws a ValidationException. */
export function compileTarget(raw: Record<string, unknown>): RuleTarget {
  const id = raw.Id;
  const arn = raw.Arn;
  if (typeof id !== 'string' || !/^[.\-_A-Za-z0-9]{1,64}$/.test(id)) {
    throw validationError(`Parameter Id is not valid for a target: ${JSON.stringify(id)} (1-64 characters of [.-_A-Za-z0-9])`);
  }
  if (typeof arn !== 'string' || !arn.startsWith('arn:')) throw validationError(`Parameter Arn is not valid for target ${id}.`);
  const given = ['Input', 'InputPath', 'InputTransformer'].filter((k) => raw[k] !== undefined);
  if (given.length > 1) throw validationError(`Only one of Input, InputPath, or InputTransformer must be provided for target ${id}.`);

  let input: RuleTarget['input'] = (matched) => matched.eventJson;
  if (raw.Input !== undefined) {
    const text = String(raw.Input);
    try {
      JSON.parse(text);
    } catch {
      throw validationError(`Parameter Input is not valid for target ${id}: it must be valid JSON text.`);
    }
    input = () => text;
  } else if (raw.InputPath !== undefined) {
    let path: ReturnType<typeof compilePath>;
    try {
      path = compilePath(String(raw.InputPath));
    } catch (error) {
      throw validationError(`Parameter InputPath is not valid for target ${id}: ${(error as Error).message}`);
    }
    input = (matched) => JSON.stringify(path.select(matched.event) ?? null);
  } else if (raw.InputTransformer !== undefined) {
    let transformer: ReturnType<typeof compileTransformer>;
    try {
      transformer = compileTransformer(raw.InputTransformer as InputTransformerSpec);
    } catch (error) {
      const message = error instanceof TransformError ? error.message : String(error);
      throw validationError(`InputTransformer of target ${id} is not valid: ${message}`);
    }
    input = (matched, rule) =>
      transformer.render(matched.event, {
        ruleArn: rule.arn,
        ruleName: rule.name,
        ingestionTime: new Date(matched.ingestedAt).toISOString(),
      });
  }

  const retry = (raw.RetryPolicy ?? {}) as { MaximumRetryAttempts?: unknown; MaximumEventAgeInSeconds?: unknown };
  const maximumRetryAttempts =
    retry.MaximumRetryAttempts === undefined ? DEFAULT_MAXIMUM_RETRY_ATTEMPTS : Number(retry.MaximumRetryAttempts);
  const maximumEventAgeSeconds =
    retry.MaximumEventAgeInSeconds === undefined ? DEFAULT_MAXIMUM_EVENT_AGE_SECONDS : Number(retry.MaximumEventAgeInSeconds);
  if (!Number.isInteger(maximumRetryAttempts) || maximumRetryAttempts < 0 || maximumRetryAttempts > 185) {
    throw validationError(`RetryPolicy.MaximumRetryAttempts of target ${id} must be 0-185.`);
  }
  if (!Number.isInteger(maximumEventAgeSeconds) || maximumEventAgeSeconds < 60 || maximumEventAgeSeconds > 86_400) {
    throw validationError(`RetryPolicy.MaximumEventAgeInSeconds of target ${id} must be 60-86400.`);
  }
  const deadLetterArn = (raw.DeadLetterConfig as { Arn?: unknown } | undefined)?.Arn;
  const messageGroupId = (raw.SqsParameters as { MessageGroupId?: unknown } | undefined)?.MessageGroupId;
  if (arn.startsWith('arn:aws:sqs:') && arn.endsWith('.fifo') && messageGroupId === undefined) {
    throw validationError(`Target ${id}: SqsParameters.MessageGroupId is required for a FIFO queue.`);
  }
  return {
    id,
    arn,
    raw,
    ...(typeof deadLetterArn === 'string' ? { deadLetterArn } : {}),
    ...(messageGroupId !== undefined ? { messageGroupId: String(messageGroupId) } : {}),
    retryPolicy: { maximumRetryAttempts, maximumEventAgeSeconds },
    input,
  };
}

/** `name` of `name` or `arn:aws:events:region:account:event-bus/name`. */
export function busNameOf(nameOrArn: unknown): string {
  if (nameOrArn === undefined || nameOrArn === null || nameOrArn === '') return 'default';
  const text = String(nameOrArn);
  const arn = /^arn:[^:]+:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(text);
  return arn ? arn[1]! : text;
}
