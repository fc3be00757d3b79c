/**
 * EventBridge Scheduler in the local cloud: the REST-JSON API of `@aws-sdk/client-scheduler`
 * (schedules, schedule groups, tags) and the schedules of the template (`AWS::Scheduler::Schedule`,
 * `AWS::Scheduler::ScheduleGroup`), fired on the virtual clock.
 *
 * Firing: every schedule has one clock timer, for its next occurrence. When it fires, the next one
 * is computed from that occurrence (not from "now"), so advancing the clock by 30 days fires a
 * daily schedule exactly 30 times. Each occurrence is delivered (after its flexible-window
 * offset) to the target through `context.targets`, with the context attributes substituted;
 * failures are retried with exponential backoff on the virtual clock within the retry policy,
 * then the input goes to the dead-letter queue. `ActionAfterCompletion: DELETE` deletes a
 * schedule once its last invocation has completed.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AwsError, decodePathSegment, type RequestContext, type RestRequest, type RestResponse, type RestService } from '../aws-protocol';
import type { TimerHandle } from '../clock';
import type { ServiceContext } from '../context';
import type { ModelResource } from '../model';
import type { Delivery } from '../targets';
import { isValidTimeZone } from '../time-zones';
import { ExpressionError, isoSeconds, nextOccurrence, parseScheduleExpression, type ScheduleExpression } from './expressions';

export interface SchedulerOptions {
  /**
   * Where in a flexible time window an occurrence fires: `random` (default) picks a point in
   * `[occurrence, occurrence + MaximumWindowInMinutes)` from a hash of the schedule ARN, the
   * occurrence and `seed` (deterministic: the same run fires at the same times); `start` fires at
   * the start of the window.
   */
  readonly flexibleWindow?: 'random' | 'start';
  readonly seed?: string;
  /** First retry delay (virtual ms), doubled per attempt up to `maxRetryDelayMs`. @default 1000 */
  readonly retryBaseDelayMs?: number;
  /** @default 300000 (5 minutes) */
  readonly maxRetryDelayMs?: number;
}

type State = 'ENABLED' | 'DISABLED';
type ActionAfterCompletion = 'NONE' | 'DELETE';

export interface ScheduleTarget {
  readonly Arn: string;
  readonly RoleArn: string;
  readonly Input?: string;
  readonly DeadLetterConfig?: { readonly Arn?: string };
  readonly RetryPolicy?: { readonly MaximumRetryAttempts?: number; readonly MaximumEventAgeInSeconds?: number };
  readonly SqsParameters?: { readonly MessageGroupId?: string };
  readonly [other: string]: unknown;
}

interface FlexibleTimeWindow {
  readonly Mode: 'OFF' | 'FLEXIBLE';
  readonly MaximumWindowInMinutes?: number;
}

/** What CreateSchedule / UpdateSchedule / the template define. */
interface ScheduleDefinition {
  readonly expression: ScheduleExpression;
  readonly timeZone?: string;
  readonly startDate?: number;
  readonly endDate?: number;
  readonly description?: string;
  readonly state: State;
  readonly flexibleTimeWindow: FlexibleTimeWindow;
  readonly target: ScheduleTarget;
  readonly actionAfterCompletion: ActionAfterCompletion;
  readonly kmsKeyArn?: string;
}

interface ScheduleRecord extends ScheduleDefinition {
  readonly name: string;
  readonly groupName: string;
  readonly arn: string;
  readonly creationDate: number;
  readonly lastModificationDate: number;
  /** When the definition took effect: the origin of a `rate()` without a start date. */
  readonly anchor: number;
  /** The timer of the next occurrence. */
  timer?: TimerHandle;
  /** Flexible-window and retry timers of occurrences being delivered. */
  readonly pending: Set<TimerHandle>;
  /** Occurrences started and not yet completed (delivered, dead-lettered or dropped). */
  inFlight: number;
  /** No further occurrence will be scheduled. */
  exhausted: boolean;
  /** Occurrences fired so far. */
  fired: number;
  /** Recurring schedules with ActionAfterCompletion DELETE: the timer of the end date. */
  endTimer?: TimerHandle;
  /** False once deleted or replaced: its timers then do nothing. */
  live: boolean;
}

interface GroupRecord {
  readonly name: string;
  readonly arn: string;
  readonly creationDate: number;
  lastModificationDate: number;
  readonly tags: Map<string, string>;
}

const NAME_PATTERN = /^[0-9a-zA-Z-_.]+$/;
const ROLE_ARN_PATTERN = /^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const DLQ_ARN_PATTERN = /^arn:aws(-[a-z]+)?:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9\-_]+$/;
const UNIVERSAL_PREFIX = /^arn:aws(-[a-z]+)?:scheduler:::aws-sdk:([a-z0-9-]+):([A-Za-z0-9]+)$/;
const CONTEXT_ATTRIBUTE = /<aws\.scheduler\.(schedule-arn|scheduled-time|execution-id|attempt-number)>/g;
const DEFAULT_GROUP = 'default';
const DEFAULT_MAX_RETRY_ATTEMPTS = 185;
const DEFAULT_MAX_EVENT_AGE_SECONDS = 86_400;

/** The properties of `AWS::Scheduler::Schedule` in CloudFormation. */
const TEMPLATE_PROPERTIES = new Set([
  'Description',
  'EndDate',
  'FlexibleTimeWindow',
  'GroupName',
  'KmsKeyArn',
  'Name',
  'ScheduleExpression',
  'ScheduleExpressionTimezone',
  'StartDate',
  'State',
  'Target',
]);

/** Universal targets (`arn:aws:scheduler:::aws-sdk:<service>:<action>`) the local cloud can run. */
export const SUPPORTED_UNIVERSAL_ACTIONS = ['sqs:sendMessage', 'sfn:startExecution', 'lambda:invoke'] as const;

export class SchedulerService {
  readonly restService: RestService;
  private readonly schedules = new Map<string, ScheduleRecord>();
  private readonly groups = new Map<string, GroupRecord>();
  private running = 0;
  private started = false;

  constructor(
    private readonly context: ServiceContext,
    private readonly options: SchedulerOptions = {},
  ) {
    this.addGroup(DEFAULT_GROUP, [], 0);
    this.restService = {
      name: 'EventBridge Scheduler',
      matches: (_method, path) => matchesPath(path),
      handle: (request, requestContext) => this.handle(request, requestContext),
    };
  }

  /** Loads the template's schedule groups and schedules and arms their timers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const { model } = this.context;
    const now = this.context.clock.now();
    for (const resource of model.ofType('AWS::Scheduler::ScheduleGroup')) {
      const props = model.properties(resource);
      const tags = Array.isArray(props.Tags) ? (props.Tags as Array<{ Key: string; Value: string }>) : [];
      if (this.groups.has(resource.physicalId)) {
        model.diagnostics.error(resource.where, `schedule group ${resource.physicalId} is defined twice`);
        continue;
      }
      this.addGroup(resource.physicalId, tags, now);
    }
    for (const resource of model.ofType('AWS::Scheduler::Schedule')) this.loadTemplateSchedule(resource, now);
  }

  /** Stops every timer; the schedules stay defined. */
  stop(): void {
    for (const record of this.schedules.values()) this.disarm(record);
  }

  /** True when no delivery is running (waiting for a timer counts as idle). */
  isIdle(): boolean {
    return this.running === 0;
  }

  // ----------------------------------------------------------------------------------------------
  // REST API

  private handle(request: RestRequest, _requestContext: RequestContext): RestResponse {
    const { method } = request;
    const path = request.path;
    const body = parseBody(request.body);
    let m: RegExpExecArray | null;
    if (path === '/schedules' && method === 'GET') return ok(this.listSchedules(request.query));
    m = /^\/schedules\/([^/]+)$/.exec(path);
    if (m) {
      const name = decodePathSegment(m[1]!);
      const group = request.query.get('groupName') ?? undefined;
      switch (method) {
        case 'POST':
          return ok({ ScheduleArn: this.createSchedule(name, body) });
        case 'PUT':
          return ok({ ScheduleArn: this.updateSchedule(name, body) });
        case 'GET':
          return ok(this.describe(this.getRecord(name, group)));
        case 'DELETE':
          this.deleteSchedule(this.getRecord(name, group));
          return ok({});
      }
    }
    if (path === '/schedule-groups' && method === 'GET') return ok(this.listGroups(request.query));
    m = /^\/schedule-groups\/([^/]+)$/.exec(path);
    if (m) {
      const name = decodePathSegment(m[1]!);
      switch (method) {
        case 'POST':
          return ok({ ScheduleGroupArn: this.createGroup(name, body) });
        case 'GET':
          return ok(describeGroup(this.getGroup(name)));
        case 'DELETE':
          this.deleteGroup(name);
          return ok({});
      }
    }
    m = /^\/tags\/(.+)$/.exec(path);
    if (m) {
      const group = this.groupByArn(decodePathSegment(m[1]!));
      switch (method) {
        case 'GET':
          return ok({ Tags: [...group.tags].map(([Key, Value]) => ({ Key, Value })) });
        case 'POST': {
          const tags = body.Tags;
          if (!Array.isArray(tags)) throw validation('Tags is required');
          for (const t of tags as Array<{ Key?: unknown; Value?: unknown }>) {
            if (typeof t.Key !== 'string' || typeof t.Value !== 'string') throw validation('every tag needs a Key and a Value');
            group.tags.set(t.Key, t.Value);
          }
          return ok({});
        }
        case 'DELETE':
          for (const key of request.query.getAll('TagKeys')) group.tags.delete(key);
          return ok({});
      }
    }
    throw new AwsError('UnknownOperationException', `EventBridge Scheduler: ${method} ${path} is not supported by the local cloud`, 404);
  }

  private createSchedule(name: string, body: Record<string, unknown>): string {
    validateName(name, 'name');
    const groupName = optionalString(body.GroupName, 'groupName') ?? DEFAULT_GROUP;
    validateName(groupName, 'groupName');
    this.getGroup(groupName);
    if (this.schedules.has(key(groupName, name))) throw new AwsError('ConflictException', `Schedule ${name} already exists.`, 409);
    const definition = this.parseDefinition(body);
    const now = this.context.clock.now();
    this.install(this.newRecord(name, groupName, definition, now, now));
    this.reportTarget(definition.target, `schedule ${groupName}/${name}`);
    return this.arnOf(groupName, name);
  }

  private updateSchedule(name: string, body: Record<string, unknown>): string {
    validateName(name, 'name');
    const groupName = optionalString(body.GroupName, 'groupName') ?? DEFAULT_GROUP;
    const existing = this.getRecord(name, groupName);
    const definition = this.parseDefinition(body);
    this.retire(existing);
    const now = this.context.clock.now();
    this.install(this.newRecord(name, groupName, definition, existing.creationDate, now));
    this.reportTarget(definition.target, `schedule ${groupName}/${name}`);
    return existing.arn;
  }

  private deleteSchedule(record: ScheduleRecord): void {
    this.retire(record);
    this.schedules.delete(key(record.groupName, record.name));
  }

  private listSchedules(query: URLSearchParams): unknown {
    const group = query.get('ScheduleGroup') ?? undefined;
    const prefix = query.get('NamePrefix') ?? undefined;
    const state = query.get('State') ?? undefined;
    if (state !== undefined && state !== 'ENABLED' && state !== 'DISABLED')
      throw validation(`State must be ENABLED or DISABLED, got ${state}`);
    const matching = [...this.schedules.values()]
      .filter(
        (r) =>
          (group === undefined || r.groupName === group) &&
          (prefix === undefined || r.name.startsWith(prefix)) &&
          (state === undefined || r.state === state),
      )
      .sort((a, b) => compare(key(a.groupName, a.name), key(b.groupName, b.name)));
    const { page, nextToken } = paginate(matching, (r) => key(r.groupName, r.name), query);
    return {
      Schedules: page.map((r) => ({
        Arn: r.arn,
        Name: r.name,
        GroupName: r.groupName,
        State: r.state,
        CreationDate: seconds(r.creationDate),
        LastModificationDate: seconds(r.lastModificationDate),
        Target: { Arn: r.target.Arn },
      })),
      ...(nextToken ? { NextToken: nextToken } : {}),
    };
  }

  private createGroup(name: string, body: Record<string, unknown>): string {
    validateName(name, 'name');
    if (this.groups.has(name)) throw new AwsError('ConflictException', `Schedule group ${name} already exists.`, 409);
    const tags = body.Tags === undefined ? [] : body.Tags;
    if (!Array.isArray(tags)) throw validation('Tags must be a list');
    return this.addGroup(name, tags as Array<{ Key: string; Value: string }>, this.context.clock.now()).arn;
  }

  private deleteGroup(name: string): void {
    if (name === DEFAULT_GROUP) throw validation('The default schedule group cannot be deleted.');
    this.getGroup(name);
    for (const record of [...this.schedules.values()]) if (record.groupName === name) this.deleteSchedule(record);
    this.groups.delete(name);
  }

  private listGroups(query: URLSearchParams): unknown {
    const prefix = query.get('NamePrefix') ?? undefined;
    const matching = [...this.groups.values()]
      .filter((g) => prefix === undefined || g.name.startsWith(prefix))
      .sort((a, b) => compare(a.name, b.name));
    const { page, nextToken } = paginate(matching, (g) => g.name, query);
    return { ScheduleGroups: page.map(describeGroup), ...(nextToken ? { NextToken: nextToken } : {}) };
  }

  // ----------------------------------------------------------------------------------------------
  // Records

  private addGroup(name: string, tags: Array<{ Key: string; Value: string }>, now: number): GroupRecord {
    const group: GroupRecord = {
      name,
      arn: `arn:aws:scheduler:${this.context.model.region}:${this.context.model.accountId}:schedule-group/${name}`,
      creationDate: now,
      lastModificationDate: now,
      tags: new Map(tags.map((t) => [String(t.Key), String(t.Value)])),
    };
    this.groups.set(name, group);
    return group;
  }

  private getGroup(name: string): GroupRecord {
    const group = this.groups.get(name);
    if (!group) throw new AwsError('ResourceNotFoundException', `Schedule group ${name} does not exist.`, 404);
    return group;
  }

  private groupByArn(arn: string): GroupRecord {
    const group = [...this.groups.values()].find((g) => g.arn === arn);
    if (!group) throw new AwsError('ResourceNotFoundException', `Resource ${arn} does not exist.`, 404);
    return group;
  }

  private getRecord(name: string, groupName: string | undefined): ScheduleRecord {
    const group = groupName ?? DEFAULT_GROUP;
    const record = this.schedules.get(key(group, name));
    if (!record) throw new AwsError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
    return record;
  }

  private arnOf(groupName: string, name: string): string {
    return `arn:aws:scheduler:${this.context.model.region}:${this.context.model.accountId}:schedule/${groupName}/${name}`;
  }

  private newRecord(name: string, groupName: string, definition: ScheduleDefinition, creationDate: number, now: number): ScheduleRecord {
    return {
      ...definition,
      name,
      groupName,
      arn: this.arnOf(groupName, name),
      creationDate,
      lastModificationDate: now,
      anchor: now,
      pending: new Set(),
      inFlight: 0,
      exhausted: false,
      fired: 0,
      live: true,
    };
  }

  private install(record: ScheduleRecord): void {
    this.schedules.set(key(record.groupName, record.name), record);
    // A rate() starts invoking at once, and an at() for this very instant is due now; a cron() fires
    // from its next time after this instant (a midnight cron created at midnight fires tomorrow).
    this.arm(record, record.expression.kind === 'cron' ? record.anchor : record.anchor - 1);
  }

  /** Stops a record's timers and marks it dead (deleted or replaced by an update). */
  private retire(record: ScheduleRecord): void {
    record.live = false;
    this.disarm(record);
  }

  private disarm(record: ScheduleRecord): void {
    this.context.clock.clearTimer(record.timer);
    record.timer = undefined;
    this.context.clock.clearTimer(record.endTimer);
    record.endTimer = undefined;
    for (const t of record.pending) this.context.clock.clearTimer(t);
    record.pending.clear();
  }

  private describe(r: ScheduleRecord): unknown {
    const retry = r.target.RetryPolicy ?? {};
    return {
      Arn: r.arn,
      Name: r.name,
      GroupName: r.groupName,
      ScheduleExpression: r.expression.text,
      ...(r.timeZone !== undefined ? { ScheduleExpressionTimezone: r.timeZone } : {}),
      ...(r.startDate !== undefined ? { StartDate: seconds(r.startDate) } : {}),
      ...(r.endDate !== undefined ? { EndDate: seconds(r.endDate) } : {}),
      ...(r.description !== undefined ? { Description: r.description } : {}),
      State: r.state,
      CreationDate: seconds(r.creationDate),
      LastModificationDate: seconds(r.lastModificationDate),
      ...(r.kmsKeyArn !== undefined ? { KmsKeyArn: r.kmsKeyArn } : {}),
      FlexibleTimeWindow: r.flexibleTimeWindow,
      Target: {
        ...r.target,
        RetryPolicy: {
          MaximumEventAgeInSeconds: retry.MaximumEventAgeInSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS,
          MaximumRetryAttempts: retry.MaximumRetryAttempts ?? DEFAULT_MAX_RETRY_ATTEMPTS,
        },
      },
      ActionAfterCompletion: r.actionAfterCompletion,
    };
  }

  // ----------------------------------------------------------------------------------------------
  // Validation

  /** Validates a CreateSchedule/UpdateSchedule body (or template properties) into a definition. */
  private parseDefinition(body: Record<string, unknown>): ScheduleDefinition {
    const expressionText = requiredString(body.ScheduleExpression, 'scheduleExpression');
    if (expressionText.length > 256)
      throw constraint('scheduleExpression', expressionText, 'Member must have length less than or equal to 256');
    let expression: ScheduleExpression;
    try {
      expression = parseScheduleExpression(expressionText);
    } catch (error) {
      if (error instanceof ExpressionError) throw validation(`Invalid Schedule Expression ${expressionText}. ${error.message}`);
      throw error;
    }
    const timeZone = optionalString(body.ScheduleExpressionTimezone, 'scheduleExpressionTimezone');
    if (timeZone !== undefined && (timeZone.length > 50 || !isValidTimeZone(timeZone))) throw validation(`Invalid time zone ${timeZone}.`);
    const startDate = optionalDate(body.StartDate, 'startDate');
    const endDate = optionalDate(body.EndDate, 'endDate');
    if (startDate !== undefined && endDate !== undefined && endDate <= startDate)
      throw validation('The EndDate must be after the StartDate.');
    const description = optionalString(body.Description, 'description');
    if (description !== undefined && description.length > 512)
      throw constraint('description', description, 'Member must have length less than or equal to 512');
    const state = (optionalString(body.State, 'state') ?? 'ENABLED') as State;
    if (state !== 'ENABLED' && state !== 'DISABLED')
      throw constraint('state', state, 'Member must satisfy enum value set: [ENABLED, DISABLED]');
    const action = (optionalString(body.ActionAfterCompletion, 'actionAfterCompletion') ?? 'NONE') as ActionAfterCompletion;
    if (action !== 'NONE' && action !== 'DELETE')
      throw constraint('actionAfterCompletion', action, 'Member must satisfy enum value set: [NONE, DELETE]');
    const kmsKeyArn = optionalString(body.KmsKeyArn, 'kmsKeyArn');
    return {
      expression,
      timeZone,
      startDate,
      endDate,
      description,
      state,
      flexibleTimeWindow: parseWindow(body.FlexibleTimeWindow),
      target: this.parseTarget(body.Target),
      actionAfterCompletion: action,
      kmsKeyArn,
    };
  }

  private parseTarget(value: unknown): ScheduleTarget {
    if (!isObject(value))
      throw validation("1 validation error detected: Value null at 'target' failed to satisfy constraint: Member must not be null");
    const arn = requiredString(value.Arn, 'target.arn');
    if (arn.length > 1600) throw constraint('target.arn', arn, 'Member must have length less than or equal to 1600');
    const roleArn = requiredString(value.RoleArn, 'target.roleArn');
    if (!ROLE_ARN_PATTERN.test(roleArn))
      throw constraint('target.roleArn', roleArn, `Member must satisfy regular expression pattern: ${ROLE_ARN_PATTERN.source}`);
    const input = optionalString(value.Input, 'target.input');
    if (input !== undefined && input.length === 0)
      throw constraint('target.input', input, 'Member must have length greater than or equal to 1');
    const target: Record<string, unknown> = { ...value, Arn: arn, RoleArn: roleArn };
    if (input === undefined) delete target.Input;

    if (value.DeadLetterConfig !== undefined) {
      if (!isObject(value.DeadLetterConfig)) throw validation('DeadLetterConfig must be an object');
      const dlq = optionalString(value.DeadLetterConfig.Arn, 'target.deadLetterConfig.arn');
      if (dlq !== undefined && !DLQ_ARN_PATTERN.test(dlq)) {
        throw constraint('target.deadLetterConfig.arn', dlq, `Member must satisfy regular expression pattern: ${DLQ_ARN_PATTERN.source}`);
      }
    }
    if (value.RetryPolicy !== undefined) {
      if (!isObject(value.RetryPolicy)) throw validation('RetryPolicy must be an object');
      const attempts = value.RetryPolicy.MaximumRetryAttempts;
      const age = value.RetryPolicy.MaximumEventAgeInSeconds;
      if (attempts !== undefined && (!Number.isInteger(attempts) || (attempts as number) < 0 || (attempts as number) > 185)) {
        throw constraint('target.retryPolicy.maximumRetryAttempts', attempts, 'Member must have value between 0 and 185');
      }
      if (age !== undefined && (!Number.isInteger(age) || (age as number) < 60 || (age as number) > 86_400)) {
        throw constraint('target.retryPolicy.maximumEventAgeInSeconds', age, 'Member must have value between 60 and 86400');
      }
    }
    if (value.SqsParameters !== undefined) {
      if (!isObject(value.SqsParameters)) throw validation('SqsParameters must be an object');
      const group = optionalString(value.SqsParameters.MessageGroupId, 'target.sqsParameters.messageGroupId');
      if (group !== undefined && (group.length < 1 || group.length > 128))
        throw constraint('target.sqsParameters.messageGroupId', group, 'Member must have length between 1 and 128');
    }

    const universal = UNIVERSAL_PREFIX.exec(arn);
    if (universal) {
      if (input === undefined) throw validation(`Target ${arn}: a universal target requires an Input (the parameters of the API call).`);
      if (!isObject(parseJsonInput(input))) throw validation(`Target ${arn}: the Input of a universal target must be a JSON object.`);
    } else {
      const service = arn.split(':')[2];
      if (input !== undefined && ['lambda', 'states', 'events'].includes(service ?? '') && parseJsonInput(input) === undefined) {
        throw validation(`Target ${arn}: the Input of a ${service} target must be well-formed JSON.`);
      }
      if (
        service === 'sqs' &&
        arn.endsWith('.fifo') &&
        !(isObject(value.SqsParameters) && typeof value.SqsParameters.MessageGroupId === 'string')
      ) {
        throw validation(`Target ${arn}: a FIFO queue target requires SqsParameters.MessageGroupId.`);
      }
    }
    return target as ScheduleTarget;
  }

  /** Says at creation when a target cannot be delivered locally (the firing will fail). */
  private reportTarget(target: ScheduleTarget, what: string, where?: string): void {
    const problem = unsupportedTarget(target.Arn);
    if (!problem) return;
    if (where) this.context.model.diagnostics.unsupported(where, problem);
    this.context.log(`scheduler: ${what}: ${problem}`);
  }

  private loadTemplateSchedule(resource: ModelResource, now: number): void {
    const { model } = this.context;
    const props = model.properties(resource);
    const name = resource.physicalId;
    const groupName = typeof props.GroupName === 'string' ? props.GroupName : DEFAULT_GROUP;
    for (const property of Object.keys(props)) {
      if (TEMPLATE_PROPERTIES.has(property)) continue;
      // CloudFormation rejects it (ActionAfterCompletion, for one, exists only in the API).
      model.diagnostics.error(
        `${resource.where}/${property}`,
        `${property} is not a property of AWS::Scheduler::Schedule in CloudFormation (deploying would fail); ignored locally`,
      );
    }
    try {
      validateName(name, 'name');
      if (!this.groups.has(groupName)) throw new AwsError('ResourceNotFoundException', `Schedule group ${groupName} does not exist.`, 404);
      if (this.schedules.has(key(groupName, name))) throw new AwsError('ConflictException', `Schedule ${name} already exists.`, 409);
      const known = Object.fromEntries(Object.entries(props).filter(([k]) => TEMPLATE_PROPERTIES.has(k)));
      const definition = this.parseDefinition(known);
      this.install(this.newRecord(name, groupName, definition, now, now));
      this.reportTarget(definition.target, `schedule ${groupName}/${name}`, resource.where);
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      model.diagnostics.error(resource.where, `AWS::Scheduler::Schedule: ${error.message}`);
    }
  }

  // ----------------------------------------------------------------------------------------------
  // Firing

  private timeZone(record: ScheduleRecord): string {
    return record.timeZone ?? 'UTC';
  }

  /** Sets the timer of the first occurrence strictly after `after`, or marks the schedule exhausted. */
  private arm(record: ScheduleRecord, after: number): void {
    if (!record.live || record.state === 'DISABLED') return;
    const next = nextOccurrence(record.expression, after, {
      timeZone: this.timeZone(record),
      startDate: record.startDate,
      endDate: record.endDate,
      anchor: record.anchor,
    });
    if (next === undefined) {
      record.exhausted = true;
      if (record.expression.kind === 'at' && record.fired === 0) {
        // A one-time schedule whose time has passed never fires (and so never completes).
        this.context.log(`scheduler: ${record.arn}: ${record.expression.text} (${this.timeZone(record)}) is in the past; it will not fire`);
        return;
      }
      const end = record.endDate;
      if (
        record.expression.kind !== 'at' &&
        record.actionAfterCompletion === 'DELETE' &&
        end !== undefined &&
        end > this.context.clock.now()
      ) {
        // A recurring schedule completes at its end date.
        record.endTimer = this.context.clock.setTimer(
          end,
          () => {
            record.endTimer = undefined;
            this.maybeComplete(record);
          },
          `scheduler ${record.groupName}/${record.name} end date`,
        );
      }
      this.maybeComplete(record);
      return;
    }
    record.timer = this.context.clock.setTimer(next, () => this.occur(record, next), `scheduler ${record.groupName}/${record.name}`);
  }

  private occur(record: ScheduleRecord, occurrence: number): void {
    record.timer = undefined;
    if (!record.live) return;
    record.inFlight++;
    record.fired++;
    const offset = this.flexibleOffset(record, occurrence);
    const executionId = randomBytes(8).toString('hex');
    if (offset > 0) {
      const handle = this.context.clock.setTimer(
        occurrence + offset,
        () => {
          record.pending.delete(handle);
          if (record.live) this.attempt(record, occurrence, executionId, 1, this.context.clock.now());
        },
        `scheduler ${record.groupName}/${record.name} (flexible window)`,
      );
      record.pending.add(handle);
    } else {
      this.attempt(record, occurrence, executionId, 1, this.context.clock.now());
    }
    // The next occurrence counts from this one, not from "now": a jump of the clock fires each once.
    this.arm(record, occurrence);
  }

  /** Offset (ms) of an occurrence inside its flexible time window. */
  private flexibleOffset(record: ScheduleRecord, occurrence: number): number {
    const window = record.flexibleTimeWindow;
    if (window.Mode !== 'FLEXIBLE' || !window.MaximumWindowInMinutes || this.options.flexibleWindow === 'start') return 0;
    const hash = createHash('sha256')
      .update(`${this.options.seed ?? ''}|${record.arn}|${occurrence}`)
      .digest();
    return (hash.readUInt32BE(0) % (window.MaximumWindowInMinutes * 60)) * 1000;
  }

  private attempt(record: ScheduleRecord, occurrence: number, executionId: string, attemptNumber: number, firstAttemptAt: number): void {
    const input = this.resolveInput(record, occurrence, executionId, attemptNumber);
    this.running++;
    const work = this.deliverTarget(record.target, input)
      .then(
        () => this.complete(record),
        (error: unknown) => this.failed(record, occurrence, executionId, attemptNumber, firstAttemptAt, input, error),
      )
      .finally(() => {
        this.running--;
      });
    void this.context.clock.track(work).catch((error: unknown) => this.context.log(`scheduler: ${record.arn}: ${String(error)}`));
  }

  private failed(
    record: ScheduleRecord,
    occurrence: number,
    executionId: string,
    attemptNumber: number,
    firstAttemptAt: number,
    input: string,
    error: unknown,
  ): void {
    const policy = record.target.RetryPolicy ?? {};
    const maxRetries = policy.MaximumRetryAttempts ?? DEFAULT_MAX_RETRY_ATTEMPTS;
    const maxAgeMs = (policy.MaximumEventAgeInSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000;
    const delay = Math.min((this.options.retryBaseDelayMs ?? 1000) * 2 ** (attemptNumber - 1), this.options.maxRetryDelayMs ?? 300_000);
    const now = this.context.clock.now();
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (record.live && retryable(error) && attemptNumber <= maxRetries && now + delay - firstAttemptAt <= maxAgeMs) {
      const handle = this.context.clock.setTimer(
        now + delay,
        () => {
          record.pending.delete(handle);
          if (record.live) this.attempt(record, occurrence, executionId, attemptNumber + 1, firstAttemptAt);
        },
        `scheduler ${record.groupName}/${record.name} retry ${attemptNumber}`,
      );
      record.pending.add(handle);
      return;
    }
    const dlq = record.target.DeadLetterConfig?.Arn;
    const what = `${record.arn} → ${record.target.Arn} (scheduled ${isoSeconds(occurrence)}, ${attemptNumber} attempt(s))`;
    if (!dlq) {
      this.context.log(`scheduler: invocation dropped: ${what}: ${message}`);
      this.complete(record);
      return;
    }
    this.context.log(`scheduler: invocation sent to the dead-letter queue ${dlq}: ${what}: ${message}`);
    this.running++;
    const work = this.context.targets
      .deliver({ arn: dlq, input })
      .catch((dlqError: unknown) =>
        this.context.log(`scheduler: ${record.arn}: the dead-letter queue ${dlq} failed too: ${String(dlqError)}`),
      )
      .finally(() => {
        this.running--;
        this.complete(record);
      });
    void this.context.clock.track(work);
  }

  /** One occurrence is done (delivered, dead-lettered or dropped). */
  private complete(record: ScheduleRecord): void {
    record.inFlight--;
    this.maybeComplete(record);
  }

  private maybeComplete(record: ScheduleRecord): void {
    if (!record.live || !record.exhausted || record.inFlight > 0 || record.actionAfterCompletion !== 'DELETE') return;
    if (record.expression.kind !== 'at' && record.endDate !== undefined && this.context.clock.now() < record.endDate) return;
    this.deleteSchedule(record);
  }

  private resolveInput(record: ScheduleRecord, occurrence: number, executionId: string, attemptNumber: number): string {
    const input = record.target.Input;
    if (input === undefined) {
      // The "default notification" AWS delivers when a target has no Input.
      return JSON.stringify({
        version: '0',
        id: randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.scheduler',
        account: this.context.model.accountId,
        time: isoSeconds(occurrence),
        region: this.context.model.region,
        resources: [record.arn],
        detail: '{}',
      });
    }
    return input.replace(CONTEXT_ATTRIBUTE, (_m, attribute: string) => {
      switch (attribute) {
        case 'schedule-arn':
          return record.arn;
        case 'scheduled-time':
          return isoSeconds(occurrence);
        case 'execution-id':
          return executionId;
        default:
          return String(attemptNumber);
      }
    });
  }

  /** Delivers to a templated target, or runs a universal (`aws-sdk`) target's API call locally. */
  private deliverTarget(target: ScheduleTarget, input: string): Promise<unknown> {
    const universal = UNIVERSAL_PREFIX.exec(target.Arn);
    if (!universal) {
      return this.context.targets.deliver({ arn: target.Arn, input, messageGroupId: target.SqsParameters?.MessageGroupId });
    }
    let delivery: Delivery;
    try {
      delivery = this.universalDelivery(universal[2]!, universal[3]!, parseJsonInput(input) as Record<string, unknown>);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.context.targets.deliver(delivery);
  }

  private universalDelivery(service: string, action: string, params: Record<string, unknown>): Delivery {
    const call = `${service}:${action.charAt(0).toLowerCase()}${action.slice(1)}`;
    const { region, accountId } = this.context.model;
    const need = (field: string): string => {
      const value = params[field];
      if (typeof value !== 'string' || value === '') throw new AwsError('ValidationException', `aws-sdk:${call}: ${field} is required`);
      return value;
    };
    const text = (value: unknown, fallback: string) =>
      value === undefined ? fallback : typeof value === 'string' ? value : JSON.stringify(value);
    switch (call) {
      case 'sqs:sendMessage':
        return {
          arn: this.queueArn(need('QueueUrl')),
          input: need('MessageBody'),
          messageGroupId: typeof params.MessageGroupId === 'string' ? params.MessageGroupId : undefined,
          messageDeduplicationId: typeof params.MessageDeduplicationId === 'string' ? params.MessageDeduplicationId : undefined,
        };
      case 'sfn:startExecution':
        return {
          arn: need('StateMachineArn'),
          input: text(params.Input, '{}'),
          name: typeof params.Name === 'string' ? params.Name : undefined,
        };
      case 'lambda:invoke': {
        const fn = need('FunctionName');
        const qualifier = typeof params.Qualifier === 'string' ? `:${params.Qualifier}` : '';
        const arn = fn.startsWith('arn:') ? fn : `arn:aws:lambda:${region}:${accountId}:function:${fn}${qualifier}`;
        return {
          arn,
          input: text(params.Payload, '{}'),
          name: typeof params.InvocationType === 'string' ? params.InvocationType : 'RequestResponse',
        };
      }
      default:
        throw new AwsError(
          'UnsupportedTarget',
          `the local cloud does not run the universal target aws-sdk:${service}:${action} (supported: ${SUPPORTED_UNIVERSAL_ACTIONS.join(', ')})`,
        );
    }
  }

  /** The ARN of a queue from its URL (AWS form or a local endpoint's `/account/name`). */
  private queueArn(url: string): string {
    const known = this.context.model.ofType('AWS::SQS::Queue').find((q) => q.ref === url || q.attributes.QueueUrl === url);
    if (known?.arn) return known.arn;
    const match = /^https?:\/\/([^/]+)\/(\d{12})\/([^/?#]+)/.exec(url);
    if (!match) throw new AwsError('ValidationException', `aws-sdk:sqs:sendMessage: ${url} is not a queue URL`);
    const host = match[1]!;
    const region =
      /^sqs\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host)?.[1] ??
      /^([a-z0-9-]+)\.queue\.amazonaws\.com$/.exec(host)?.[1] ??
      this.context.model.region;
    return `arn:aws:sqs:${region}:${match[2]}:${match[3]}`;
  }
}

// ------------------------------------------------------------------------------------------------
// Helpers

function matchesPath(path: string): boolean {
  if (path === '/schedules' || path.startsWith('/schedules/') || path === '/schedule-groups' || path.startsWith('/schedule-groups/'))
    return true;
  if (!path.startsWith('/tags/')) return false;
  try {
    return /^arn:aws(-[a-z]+)?:scheduler:/.test(decodeURIComponent(path.slice('/tags/'.length)));
  } catch {
    return false;
  }
}

/** Why a target cannot be delivered locally, or undefined when it can. */
export function unsupportedTarget(arn: string): string | undefined {
  const universal = UNIVERSAL_PREFIX.exec(arn);
  if (universal) {
    const call = `${universal[2]}:${universal[3]!.charAt(0).toLowerCase()}${universal[3]!.slice(1)}`;
    if ((SUPPORTED_UNIVERSAL_ACTIONS as readonly string[]).includes(call)) return undefined;
    return `the universal target aws-sdk:${universal[2]}:${universal[3]} is not run by the local cloud (supported: ${SUPPORTED_UNIVERSAL_ACTIONS.join(', ')}); every firing will fail`;
  }
  const service = arn.split(':')[2];
  if (service === 'sqs' || service === 'lambda' || service === 'states') return undefined;
  return `the target ${arn} is not delivered by the local cloud (templated targets: SQS, Lambda, Step Functions); every firing will fail`;
}

/** Errors worth retrying: anything but a client error about the request or the target itself. */
function retryable(error: unknown): boolean {
  if (!(error instanceof AwsError)) return true;
  if (error.status >= 500 || error.status === 429 || /throttl|toomanyrequests/i.test(error.code)) return true;
  return false;
}

function key(groupName: string, name: string): string {
  return `${groupName}/${name}`;
}

function ok(body: unknown): RestResponse {
  return { status: 200, body };
}

function seconds(ms: number): number {
  return ms / 1000;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describeGroup(g: GroupRecord) {
  return {
    Arn: g.arn,
    Name: g.name,
    State: 'ACTIVE',
    CreationDate: seconds(g.creationDate),
    LastModificationDate: seconds(g.lastModificationDate),
  };
}

function paginate<T>(items: T[], keyOf: (item: T) => string, query: URLSearchParams): { page: T[]; nextToken?: string } {
  const maxText = query.get('MaxResults');
  let max = 100;
  if (maxText !== null) {
    max = Number(maxText);
    if (!Number.isInteger(max) || max < 1 || max > 100) throw constraint('maxResults', maxText, 'Member must have value between 1 and 100');
  }
  let start = 0;
  const token = query.get('NextToken');
  if (token) {
    const after = Buffer.from(token, 'base64url').toString('utf8');
    start = items.findIndex((i) => keyOf(i) > after);
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + max);
  const more = start + max < items.length;
  return { page, ...(more ? { nextToken: Buffer.from(keyOf(page[page.length - 1]!)).toString('base64url') } : {}) };
}

function parseBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (isObject(parsed)) return parsed;
  } catch {
    /* reported below */
  }
  throw new AwsError('ValidationException', 'The request body is not a JSON object.', 400);
}

/** Parses a target Input as JSON, with the context attributes standing in as valid JSON. */
function parseJsonInput(input: string): unknown {
  try {
    return JSON.parse(input.replace(CONTEXT_ATTRIBUTE, '0'));
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validation(message: string): AwsError {
  return new AwsError('ValidationException', message, 400);
}

function constraint(field: string, value: unknown, rule: string): AwsError {
  return validation(`1 validation error detected: Value ${JSON.stringify(value)} at '${field}' failed to satisfy constraint: ${rule}`);
}

function validateName(name: string, field: string): void {
  if (name.length < 1 || name.length > 64) throw constraint(field, name, 'Member must have length between 1 and 64');
  if (!NAME_PATTERN.test(name)) throw constraint(field, name, 'Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+');
}

function requiredString(value: unknown, field: string): string {
  if (value === undefined || value === null)
    throw validation(`1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  if (typeof value !== 'string') throw validation(`${field} must be a string`);
  if (value.length === 0) throw constraint(field, value, 'Member must have length greater than or equal to 1');
  return value;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validation(`${field} must be a string`);
  return value;
}

/** Epoch seconds (the SDK's REST-JSON timestamps) or an ISO string (templates). */
function optionalDate(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw validation(`${field} must be a timestamp, got ${JSON.stringify(value)}`);
  return ms;
}

function parseWindow(value: unknown): FlexibleTimeWindow {
  if (!isObject(value))
    throw validation(
      "1 validation error detected: Value null at 'flexibleTimeWindow' failed to satisfy constraint: Member must not be null",
    );
  const mode = value.Mode;
  if (mode !== 'OFF' && mode !== 'FLEXIBLE')
    throw constraint('flexibleTimeWindow.mode', mode, 'Member must satisfy enum value set: [OFF, FLEXIBLE]');
  const max = value.MaximumWindowInMinutes;
  if (mode === 'OFF') {
    if (max !== undefined && max !== null)
      throw validation('MaximumWindowInMinutes is only allowed when the FlexibleTimeWindow Mode is FLEXIBLE.');
    return { Mode: 'OFF' };
  }
  if (max === undefined || max === null)
    throw validation('MaximumWindowInMinutes is required when the FlexibleTimeWindow Mode is FLEXIBLE.');
  if (!Number.isInteger(max) || (max as number) < 1 || (max as number) > 1440) {
    throw constraint('flexibleTimeWindow.maximumWindowInMinutes', max, 'Member must have value between 1 and 1440');
  }
  return { Mode: 'FLEXIBLE', MaximumWindowInMinutes: max as number };
}
