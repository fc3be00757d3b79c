/**
 * Amazon EventBridge for the local cloud: the `default` bus and the template's custom buses, rules
 * (`AWS::Events::Rule`, event patterns and schedules) and their targets, served to the real
 * `@aws-sdk/client-eventbridge` (JSON 1.1 protocol, `X-Amz-Target: AWSEvents.<Operation>`).
 *
 * PutEvents validates each entry as AWS does (per-entry `ErrorCode`/`ErrorMessage`, request-level
 * limits as ValidationException), builds the event envelope EventBridge delivers (time from the
 * virtual clock), matches it against the enabled rules of its bus with the tested pattern matcher
 * and returns; delivery to the targets runs afterwards (see dispatch.ts). An entry for a bus that
 * does not exist is accepted and dropped, as AWS does.
 *
 * Scheduled rules (`rate()`/`cron()`, UTC, default bus only) fire on the virtual clock with the
 * `Scheduled Event` envelope, so advancing the clock a day fires a daily rule once.
 */
import { randomUUID } from 'node:crypto';
import { AwsError, type JsonService } from '../aws-protocol';
import type { ServiceContext } from '../context';
import type { ModelResource } from '../model';
import { Dispatcher } from './dispatch';
import {
  busNameOf,
  compileRulePattern,
  compileRuleSchedule,
  compileTarget,
  targetKind,
  UNSUPPORTED_TARGET_PARAMETERS,
  validationError,
  type EventBus,
  type MatchedEvent,
  type Rule,
  type RuleState,
} from './rules';

export interface PutEventsRequestEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  /** JSON text; other local services may pass the object (as Step Functions' putEvents does). */
  readonly Detail?: string | Record<string, unknown>;
  readonly EventBusName?: string;
  readonly Resources?: string[];
  /** A Date, epoch seconds (how the SDK sends it) or an ISO string. */
  readonly Time?: Date | number | string;
  readonly TraceHeader?: string;
}

export interface PutEventsResultEntry {
  readonly EventId?: string;
  readonly ErrorCode?: string;
  readonly ErrorMessage?: string;
}

export interface PutEventsResult {
  readonly FailedEntryCount: number;
  readonly Entries: PutEventsResultEntry[];
}

/** The PutEvents limit on the summed entry sizes (calculated as AWS documents it). */
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;
const MAX_ENTRIES = 10;
const MAX_TARGETS_PER_RULE = 5;
/** Bus-to-bus forwarding stops after this many hops of one event (a loop guard). */
const MAX_BUS_HOPS = 5;
const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;

type Input = Record<string, unknown>;

export class EventBridgeService {
  readonly jsonService: JsonService;
  private readonly buses = new Map<string, EventBus>();
  private readonly dispatcher: Dispatcher;
  private readonly hops = new Map<string, number>();
  private started = false;
  private stopped = false;

  constructor(private readonly context: ServiceContext) {
    this.dispatcher = new Dispatcher(context.clock, context.targets, context.log);
    const { model } = context;
    this.addBus({ name: 'default', arn: this.busArn('default'), createdAt: context.clock.now(), rules: new Map() });
    for (const resource of model.ofType('AWS::Events::EventBus')) this.loadBus(resource);
    for (const resource of model.ofType('AWS::Events::Rule')) this.loadRule(resource);

    this.jsonService = {
      targetPrefix: 'AWSEvents',
      contentType: 'application/x-amz-json-1.1',
      operations: {
        PutEvents: (input) => this.putEvents(input.Entries as PutEventsRequestEntry[]),
        TestEventPattern: (input) => this.testEventPattern(input),
        DescribeEventBus: (input) => this.describeEventBus(input),
        ListEventBuses: (input) => this.listEventBuses(input),
        CreateEventBus: (input) => this.createEventBus(input),
        DeleteEventBus: (input) => this.deleteEventBus(input),
        PutRule: (input) => this.putRule(input),
        DescribeRule: (input) => this.describeRule(input),
        ListRules: (input) => this.listRules(input),
        DeleteRule: (input) => this.deleteRule(input),
        EnableRule: (input) => this.setState(input, 'ENABLED'),
        DisableRule: (input) => this.setState(input, 'DISABLED'),
        PutTargets: (input) => this.putTargets(input),
        RemoveTargets: (input) => this.removeTargets(input),
        ListTargetsByRule: (input) => this.listTargetsByRule(input),
        ListRuleNamesByTarget: (input) => this.listRuleNamesByTarget(input),
      },
    };
  }

  /**
   * Starts the scheduled rules, delivers to `arn:aws:events:…:event-bus/…` targets (bus to bus)
   * and registers with the clock, so `settle()` waits for deliveries in flight.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.context.targets.register('arn:aws:events:', (delivery) => this.deliverToBus(delivery.arn, delivery.input));
    this.context.clock.register({ name: 'EventBridge deliveries', isIdle: () => this.isIdle() });
    for (const bus of this.buses.values()) for (const rule of bus.rules.values()) this.schedule(rule);
  }

  stop(): void {
    this.stopped = true;
    this.dispatcher.stop();
    for (const bus of this.buses.values()) for (const rule of bus.rules.values()) this.unschedule(rule);
  }

  /** True when no delivery is running (retries waiting on the clock count as idle). */
  isIdle(): boolean {
    return this.dispatcher.isIdle();
  }

  /** Buses by name (read-only view, for the control API and tests). */
  get eventBuses(): ReadonlyMap<string, EventBus> {
    return this.buses;
  }

  // ---------------------------------------------------------------------------------------------
  // PutEvents

  /** PutEvents, for the API and for other local services (Step Functions, Scheduler). */
  async putEvents(entries: PutEventsRequestEntry[] | undefined): Promise<PutEventsResult> {
    if (!Array.isArray(entries)) {
      throw validationError("1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
    }
    if (entries.length < 1 || entries.length > MAX_ENTRIES) {
      const bound = entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES}`;
      throw validationError(
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${bound}`,
      );
    }
    const normalized = entries.map((e) => ({
      ...e,
      Detail: e?.Detail !== null && typeof e?.Detail === 'object' ? JSON.stringify(e.Detail) : e?.Detail,
    }));
    if (normalized.reduce((sum, e) => sum + entrySize(e), 0) > MAX_PUT_EVENTS_BYTES) {
      throw validationError('Total size of the entries in the request is over the limit.');
    }
    const ingestedAt = this.context.clock.now();
    const results = normalized.map((entry) => this.putEntry(entry, ingestedAt));
    return { FailedEntryCount: results.filter((r) => r.ErrorCode).length, Entries: results };
  }

  private putEntry(entry: PutEventsRequestEntry & { Detail?: string }, ingestedAt: number): PutEventsResultEntry {
    const invalid = (name: string) => ({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: `Parameter ${name} is not valid. Reason: ${name} is a required argument.`,
    });
    if (!entry.Source) return invalid('Source');
    if (!entry.DetailType) return invalid('DetailType');
    if (!entry.Detail) return invalid('Detail');
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      detail = undefined;
    }
    if (!detail || typeof detail !== 'object' || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (entry.Source.startsWith('aws.')) {
      return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
    }
    const time = entryTime(entry.Time) ?? ingestedAt;
    const event: Record<string, unknown> = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: this.context.model.accountId,
      time: isoSeconds(time),
      region: this.context.model.region,
      resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
      detail,
    };
    this.ingest(busNameOf(entry.EventBusName), event, ingestedAt);
    return { EventId: String(event.id) };
  }

  /** Matches `event` against the enabled rules of `busName` and dispatches to their targets. */
  private ingest(busName: string, event: Record<string, unknown>, ingestedAt: number): void {
    const bus = this.buses.get(busName);
    if (!bus || this.stopped) return; // AWS accepts events for a missing bus and drops them
    const matched: MatchedEvent = { event, eventJson: JSON.stringify(event), ingestedAt };
    for (const rule of bus.rules.values()) {
      if (rule.state === 'DISABLED' || !rule.pattern) continue;
      if (!rule.pattern.compiled.matches(event)) continue;
      for (const target of rule.targets.values()) this.dispatcher.dispatch(rule, target, matched);
    }
  }

  /** Delivery to an `event-bus/NAME` target: the event is routed on that bus as it is. */
  private async deliverToBus(arn: string, input: string): Promise<void> {
    const name = /:event-bus\/(.+)$/.exec(arn)?.[1];
    if (!name) throw new AwsError('UnsupportedTarget', `the local cloud cannot deliver to ${arn} (only event buses are emulated)`);
    if (!this.buses.has(name)) throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    let event: unknown;
    try {
      event = JSON.parse(input);
    } catch {
      event = undefined;
    }
    const e = event as Record<string, unknown> | undefined;
    if (
      !e ||
      typeof e !== 'object' ||
      typeof e.source !== 'string' ||
      typeof e['detail-type'] !== 'string' ||
      typeof e.detail !== 'object'
    ) {
      throw new AwsError(
        'ValidationException',
        `an event bus target needs an event (source, detail-type, detail); got ${input.slice(0, 200)}`,
      );
    }
    const id = String(e.id ?? randomUUID());
    const hops = (this.hops.get(id) ?? 0) + 1;
    if (hops > MAX_BUS_HOPS) {
      this.context.log(`EventBridge: event ${id} was dropped after ${MAX_BUS_HOPS} bus-to-bus hops (a rule loop?)`);
      return;
    }
    this.hops.set(id, hops);
    if (this.hops.size > 10_000) this.hops.delete(this.hops.keys().next().value!);
    this.ingest(name, { ...e, id }, this.context.clock.now());
  }

  // ---------------------------------------------------------------------------------------------
  // Buses

  private busArn(name: string): string {
    return `arn:aws:events:${this.context.model.region}:${this.context.model.accountId}:event-bus/${name}`;
  }

  private addBus(bus: EventBus): void {
    this.buses.set(bus.name, bus);
  }

  private bus(nameOrArn: unknown): EventBus {
    const name = busNameOf(nameOrArn);
    const bus = this.buses.get(name);
    if (!bus) throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return bus;
  }

  private describeEventBus(input: Input) {
    return busOutput(this.bus(input.Name));
  }

  private listEventBuses(input: Input) {
    const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
    const all = [...this.buses.values()]
      .filter((b) => b.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const { page, NextToken } = paginate(all, input);
    return { EventBuses: page.map(busOutput), ...(NextToken ? { NextToken } : {}) };
  }

  private createEventBus(input: Input) {
    const name = String(input.Name ?? '');
    if (!/^[/.\-_A-Za-z0-9]{1,256}$/.test(name) || name === 'default') throw validationError(`Event bus name ${name} is not valid.`);
    if (this.buses.has(name)) throw new AwsError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
    const bus: EventBus = {
      name,
      arn: this.busArn(name),
      createdAt: this.context.clock.now(),
      rules: new Map(),
      ...(typeof input.Description === 'string' ? { description: input.Description } : {}),
    };
    this.addBus(bus);
    return { EventBusArn: bus.arn, ...(bus.description ? { Description: bus.description } : {}) };
  }

  private deleteEventBus(input: Input) {
    const name = String(input.Name ?? '');
    if (name === 'default') throw validationError('Cannot delete event bus default.');
    const bus = this.buses.get(name);
    if (!bus) return {};
    for (const rule of bus.rules.values()) this.unschedule(rule);
    this.buses.delete(name);
    return {};
  }

  // ---------------------------------------------------------------------------------------------
  // Rules and targets

  private rule(ruleName: unknown, busNameOrArn: unknown): Rule {
    const bus = this.bus(busNameOrArn);
    const rule = bus.rules.get(String(ruleName));
    if (!rule) throw new AwsError('ResourceNotFoundException', `Rule ${String(ruleName)} does not exist on EventBus ${bus.name}.`);
    return rule;
  }

  private ruleArn(busName: string, ruleName: string): string {
    const path = busName === 'default' ? ruleName : `${busName}/${ruleName}`;
    return `arn:aws:events:${this.context.model.region}:${this.context.model.accountId}:rule/${path}`;
  }

  private putRule(input: Input) {
    const bus = this.bus(input.EventBusName);
    const name = String(input.Name ?? '');
    if (!RULE_NAME.test(name))
      throw validationError(`Rule name ${JSON.stringify(input.Name ?? null)} is not valid (1-64 characters of [.-_A-Za-z0-9]).`);
    if (input.EventPattern === undefined && input.ScheduleExpression === undefined) {
      throw validationError('Parameter(s) EventPattern or ScheduleExpression must be specified.');
    }
    const pattern = input.EventPattern === undefined ? undefined : compileRulePattern(String(input.EventPattern));
    const schedule = input.ScheduleExpression === undefined ? undefined : compileRuleSchedule(String(input.ScheduleExpression));
    if (schedule && bus.name !== 'default') throw validationError('ScheduleExpression is supported only on the default event bus.');
    const state = ruleState(input.State);
    const existing = bus.rules.get(name);
    if (existing) this.unschedule(existing);
    const rule: Rule = {
      name,
      arn: existing?.arn ?? this.ruleArn(bus.name, name),
      busName: bus.name,
      state,
      targets: existing?.targets ?? new Map(),
      createdBy: this.context.model.accountId,
      ...(pattern ? { pattern } : {}),
      ...(schedule ? { schedule, scheduleAnchor: this.context.clock.now() } : {}),
      ...(typeof input.Description === 'string' ? { description: input.Description } : {}),
      ...(typeof input.RoleArn === 'string' ? { roleArn: input.RoleArn } : {}),
      ...(existing?.where ? { where: existing.where } : {}),
    };
    bus.rules.set(name, rule);
    if (this.started) this.schedule(rule);
    return { RuleArn: rule.arn };
  }

  private describeRule(input: Input) {
    return ruleOutput(this.rule(input.Name, input.EventBusName), true);
  }

  private listRules(input: Input) {
    const bus = this.bus(input.EventBusName);
    const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
    const all = [...bus.rules.values()]
      .filter((r) => r.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const { page, NextToken } = paginate(all, input);
    return { Rules: page.map((r) => ruleOutput(r, false)), ...(NextToken ? { NextToken } : {}) };
  }

  private deleteRule(input: Input) {
    const bus = this.bus(input.EventBusName);
    const rule = bus.rules.get(String(input.Name));
    if (!rule) return {};
    if (rule.targets.size > 0 && input.Force !== true) throw validationError("Rule can't be deleted since it has targets.");
    this.unschedule(rule);
    bus.rules.delete(rule.name);
    return {};
  }

  private setState(input: Input, state: RuleState) {
    const rule = this.rule(input.Name, input.EventBusName);
    rule.state = state;
    this.unschedule(rule);
    if (this.started) this.schedule(rule);
    return {};
  }

  private putTargets(input: Input) {
    const rule = this.rule(input.Rule, input.EventBusName);
    const targets = input.Targets;
    if (!Array.isArray(targets) || targets.length === 0) {
      throw validationError(
        "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    }
    const compiled = targets.map((t) => compileTarget(t as Record<string, unknown>));
    const ids = new Set([...rule.targets.keys(), ...compiled.map((t) => t.id)]);
    if (ids.size > MAX_TARGETS_PER_RULE) {
      throw new AwsError('LimitExceededException', 'The requested resource exceeds the maximum number allowed.');
    }
    for (const target of compiled) rule.targets.set(target.id, target);
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  private removeTargets(input: Input) {
    const rule = this.rule(input.Rule, input.EventBusName);
    for (const id of (input.Ids as unknown[] | undefined) ?? []) rule.targets.delete(String(id));
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  private listTargetsByRule(input: Input) {
    const rule = this.rule(input.Rule, input.EventBusName);
    const { page, NextToken } = paginate([...rule.targets.values()], input);
    return { Targets: page.map((t) => t.raw), ...(NextToken ? { NextToken } : {}) };
  }

  private listRuleNamesByTarget(input: Input) {
    const bus = this.bus(input.EventBusName);
    const arn = String(input.TargetArn ?? '');
    const names = [...bus.rules.values()]
      .filter((r) => [...r.targets.values()].some((t) => t.arn === arn))
      .map((r) => r.name)
      .sort();
    const { page, NextToken } = paginate(names, input);
    return { RuleNames: page, ...(NextToken ? { NextToken } : {}) };
  }

  private testEventPattern(input: Input) {
    const { compiled } = compileRulePattern(String(input.EventPattern ?? ''));
    let event: unknown;
    try {
      event = JSON.parse(String(input.Event ?? ''));
    } catch {
      throw validationError('Parameter Event is not valid.');
    }
    if (!event || typeof event !== 'object' || Array.isArray(event)) throw validationError('Parameter Event is not valid.');
    for (const field of ['id', 'account', 'source', 'time', 'region', 'detail-type']) {
      if (!(field in event))
        throw validationError(`Parameter Event is not valid. Reason: Provided Event is missing required field ${field}.`);
    }
    return { Result: compiled.matches(event) };
  }

  // ---------------------------------------------------------------------------------------------
  // Schedules

  private schedule(rule: Rule): void {
    if (!rule.schedule || rule.state === 'DISABLED' || this.stopped) return;
    const { clock } = this.context;
    rule.scheduleAnchor ??= clock.now();
    const due = rule.schedule.next(clock.now(), rule.scheduleAnchor);
    if (due === undefined) return;
    rule.scheduleTimer = clock.setTimer(
      due,
      () => {
        rule.scheduleTimer = undefined;
        this.fireSchedule(rule, due);
        this.schedule(rule);
      },
      `EventBridge rule ${rule.name} (${rule.schedule.expression})`,
    );
  }

  private unschedule(rule: Rule): void {
    this.context.clock.clearTimer(rule.scheduleTimer);
    rule.scheduleTimer = undefined;
  }

  private fireSchedule(rule: Rule, at: number): void {
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.context.model.accountId,
      time: isoSeconds(at),
      region: this.context.model.region,
      resources: [rule.arn],
      detail: {},
    };
    const matched: MatchedEvent = { event, eventJson: JSON.stringify(event), ingestedAt: this.context.clock.now() };
    for (const target of rule.targets.values()) this.dispatcher.dispatch(rule, target, matched);
  }

  // ---------------------------------------------------------------------------------------------
  // The template

  private loadBus(resource: ModelResource): void {
    const { model } = this.context;
    const props = model.properties(resource);
    if (props.EventSourceName !== undefined) {
      model.diagnostics.unsupported(
        `${resource.where}/EventSourceName`,
        'partner event sources do not exist locally; the bus only receives PutEvents',
      );
    }
    for (const key of ['KmsKeyIdentifier', 'DeadLetterConfig', 'LogConfig']) {
      if (props[key] !== undefined) model.diagnostics.ignored(`${resource.where}/${key}`, `EventBus ${key} (no local effect)`);
    }
    this.addBus({
      name: resource.physicalId,
      arn: resource.arn ?? this.busArn(resource.physicalId),
      createdAt: this.context.clock.now(),
      rules: new Map(),
      where: resource.where,
      ...(typeof props.Description === 'string' ? { description: props.Description } : {}),
      ...(props.Policy !== undefined ? { policy: typeof props.Policy === 'string' ? props.Policy : JSON.stringify(props.Policy) } : {}),
    });
  }

  private loadRule(resource: ModelResource): void {
    const { model } = this.context;
    const where = resource.where;
    const props = model.properties(resource);
    const busName = busNameOf(props.EventBusName);
    let bus = this.buses.get(busName);
    if (!bus) {
      model.diagnostics.unsupported(
        `${where}/EventBusName`,
        `event bus ${busName} is not defined in the template; it exists locally, empty, for this rule only`,
      );
      bus = { name: busName, arn: this.busArn(busName), createdAt: this.context.clock.now(), rules: new Map() };
      this.addBus(bus);
    }
    let pattern: Rule['pattern'];
    let schedule: Rule['schedule'];
    let state: RuleState;
    try {
      state = ruleState(props.State);
      if (props.EventPattern !== undefined) pattern = compileRulePattern(props.EventPattern);
      if (props.ScheduleExpression !== undefined) schedule = compileRuleSchedule(String(props.ScheduleExpression));
    } catch (error) {
      model.diagnostics.error(where, (error as Error).message);
      return;
    }
    if (!pattern && !schedule) {
      model.diagnostics.error(where, 'a rule needs an EventPattern or a ScheduleExpression');
      return;
    }
    if (schedule && busName !== 'default') {
      model.diagnostics.error(`${where}/ScheduleExpression`, 'ScheduleExpression is supported only on the default event bus');
      schedule = undefined;
    }
    if (props.RoleArn !== undefined) model.diagnostics.ignored(`${where}/RoleArn`, 'rule RoleArn (IAM is not enforced locally)');
    const rule: Rule = {
      name: resource.physicalId,
      // The model's ARN is what the functions see through Fn::GetAtt, so the same one is used here.
      arn: resource.arn ?? this.ruleArn(busName, resource.physicalId),
      busName,
      state,
      targets: new Map(),
      createdBy: model.accountId,
      where,
      ...(pattern ? { pattern } : {}),
      ...(schedule ? { schedule } : {}),
      ...(typeof props.Description === 'string' ? { description: props.Description } : {}),
      ...(typeof props.RoleArn === 'string' ? { roleArn: props.RoleArn } : {}),
    };
    const targets = Array.isArray(props.Targets) ? (props.Targets as Array<Record<string, unknown>>) : [];
    for (const [i, raw] of targets.entries()) {
      const at = `${where}/Targets/${i}`;
      try {
        const target = compileTarget(raw);
        const kind = targetKind(target.arn);
        if (!kind.supported) {
          model.diagnostics.unsupported(
            at,
            `target ${target.id}: ${kind.service} targets are not emulated locally (${target.arn}); matching events fail to reach it`,
          );
        }
        for (const key of UNSUPPORTED_TARGET_PARAMETERS) {
          if (raw[key] !== undefined) model.diagnostics.unsupported(`${at}/${key}`, `target ${target.id}: ${key} has no local effect`);
        }
        if (raw.RoleArn !== undefined) model.diagnostics.ignored(`${at}/RoleArn`, 'rule target RoleArn (IAM is not enforced locally)');
        rule.targets.set(target.id, target);
      } catch (error) {
        model.diagnostics.error(at, (error as Error).message);
      }
    }
    if (targets.length > MAX_TARGETS_PER_RULE)
      model.diagnostics.error(`${where}/Targets`, `a rule has at most ${MAX_TARGETS_PER_RULE} targets`);
    bus.rules.set(rule.name, rule);
  }
}

function ruleState(state: unknown): RuleState {
  if (state === undefined || state === null) return 'ENABLED';
  if (state === 'ENABLED' || state === 'DISABLED' || state === 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS') return state;
  throw validationError(
    `1 validation error detected: Value '${String(state)}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]`,
  );
}

function busOutput(bus: EventBus) {
  const seconds = bus.createdAt / 1000;
  return {
    Name: bus.name,
    Arn: bus.arn,
    ...(bus.description ? { Description: bus.description } : {}),
    ...(bus.policy ? { Policy: bus.policy } : {}),
    CreationTime: seconds,
    LastModifiedTime: seconds,
  };
}

function ruleOutput(rule: Rule, describe: boolean) {
  return {
    Name: rule.name,
    Arn: rule.arn,
    ...(rule.pattern ? { EventPattern: rule.pattern.text } : {}),
    ...(rule.schedule ? { ScheduleExpression: rule.schedule.expression } : {}),
    State: rule.state,
    ...(rule.description ? { Description: rule.description } : {}),
    ...(rule.roleArn ? { RoleArn: rule.roleArn } : {}),
    EventBusName: rule.busName,
    ...(describe ? { CreatedBy: rule.createdBy } : {}),
  };
}

function paginate<T>(items: T[], input: Input): { page: T[]; NextToken?: string } {
  let start = 0;
  if (typeof input.NextToken === 'string') {
    start = Number(Buffer.from(input.NextToken, 'base64').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw validationError('The NextToken is not valid.');
  }
  const limit = input.Limit === undefined ? 100 : Number(input.Limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw validationError('Limit must be between 1 and 100.');
  const page = items.slice(start, start + limit);
  const next = start + limit;
  return next < items.length ? { page, NextToken: Buffer.from(String(next)).toString('base64') } : { page };
}

/** The entry size as AWS documents it ("Calculating PutEvents event entry size"). */
function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (s: unknown) => (typeof s === 'string' ? Buffer.byteLength(s, 'utf8') : 0);
  let size = entry.Time !== undefined && entry.Time !== null ? 14 : 0;
  size += bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail);
  for (const r of Array.isArray(entry.Resources) ? entry.Resources : []) size += bytes(r);
  return size;
}

function entryTime(time: PutEventsRequestEntry['Time']): number | undefined {
  if (time === undefined || time === null) return undefined;
  const ms = time instanceof Date ? time.getTime() : typeof time === 'number' ? time * 1000 : Date.parse(time);
  return Number.isFinite(ms) ? ms : undefined;
}

/** ISO 8601 at second precision, as the `time` of EventBridge events. */
function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}
