/**
 * The resolved view of a cloud assembly: every resource with the name, ARN and attributes it would
 * get from CloudFormation, and a resolver for the intrinsic functions CDK emits (`Ref`,
 * `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::ImportValue`, conditions, ...).
 *
 * Physical names are derived deterministically from stack name and logical id (the way
 * CloudFormation names things, minus the random suffix), so a persisted local database keeps
 * matching the template across restarts.
 */
import { createHash } from 'node:crypto';
import type { AssemblyStack, CfnResource } from './assembly';
import { Diagnostics, TemplateError } from './diagnostics';

export const LOCAL_ACCOUNT_ID = '000000000000';

export interface ModelResource {
  readonly stack: AssemblyStack;
  readonly logicalId: string;
  readonly type: string;
  readonly raw: CfnResource;
  /** What `Ref` returns. */
  readonly ref: string;
  /** The resource's name or id (for most types the same as `ref`). */
  readonly physicalId: string;
  readonly arn?: string;
  /** `Fn::GetAtt` attributes. */
  readonly attributes: Record<string, unknown>;
  /** `Stack/LogicalId`, for messages. */
  readonly where: string;
}

/** The local base URLs an API is served on, used to rewrite `*.execute-api.*` URLs to local ones. */
export interface LocalApiEndpoints {
  /** For HTTP APIs: `http://127.0.0.1:3000`. For WebSocket APIs: the TLS base of the management API. */
  readonly https: string;
  /** WebSocket APIs: `ws://127.0.0.1:3001`. */
  readonly wss?: string;
}

export interface ModelOptions {
  readonly region?: string;
  readonly accountId?: string;
}

type Intrinsic = Record<string, unknown>;

export class CloudModel {
  readonly region: string;
  readonly accountId: string;
  readonly diagnostics = new Diagnostics();
  readonly resources: ModelResource[] = [];
  private readonly byKey = new Map<string, ModelResource>();
  private readonly exportsByName = new Map<string, unknown>();
  private readonly conditionCache = new Map<string, boolean>();
  private readonly propertyCache = new Map<ModelResource, Record<string, unknown>>();
  private readonly apiEndpoints = new Map<string, LocalApiEndpoints>();
  private readonly localizers: Array<(text: string) => string> = [];

  constructor(
    readonly stacks: AssemblyStack[],
    options: ModelOptions = {},
  ) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? LOCAL_ACCOUNT_ID;
    for (const stack of stacks) {
      for (const [logicalId, raw] of Object.entries(stack.template.Resources ?? {})) {
        if (raw.Condition && !this.condition(stack, raw.Condition, `${stack.stackName}/${logicalId}`)) continue;
        const resource = this.describe(stack, logicalId, raw);
        this.resources.push(resource);
        this.byKey.set(`${stack.stackName}/${logicalId}`, resource);
      }
      // Exports are resolved stack by stack in deployment order, as CloudFormation does.
      for (const [name, output] of Object.entries(stack.template.Outputs ?? {})) {
        if (!output.Export) continue;
        const where = `${stack.stackName}/Outputs/${name}`;
        const exportName = this.resolve(stack, output.Export.Name, `${where}/Export`);
        this.exportsByName.set(String(exportName), this.resolve(stack, output.Value, where));
      }
    }
  }

  /** Throws a TemplateError listing every error found so far. */
  assertValid(): void {
    if (this.diagnostics.errors.length > 0) throw new TemplateError(this.diagnostics.errors);
  }

  ofType(...types: string[]): ModelResource[] {
    return this.resources.filter((r) => types.includes(r.type));
  }

  get(stackName: string, logicalId: string): ModelResource | undefined {
    return this.byKey.get(`${stackName}/${logicalId}`);
  }

  /** Finds a resource of one of `types` by its Ref value, physical id, ARN or logical id. */
  find(types: string[], key: string): ModelResource | undefined {
    return this.resources.find(
      (r) => types.includes(r.type) && (r.ref === key || r.physicalId === key || r.arn === key || r.logicalId === key || r.where === key),
    );
  }

  /** The resource's properties with every intrinsic resolved (cached). */
  properties(resource: ModelResource): Record<string, unknown> {
    let props = this.propertyCache.get(resource);
    if (!props) {
      props = (this.resolve(resource.stack, resource.raw.Properties ?? {}, resource.where) ?? {}) as Record<string, unknown>;
      this.propertyCache.set(resource, props);
    }
    return props;
  }

  /** Outputs of every stack, resolved, with API URLs rewritten to their local endpoints. */
  outputs(): Record<string, Record<string, unknown>> {
    const result: Record<string, Record<string, unknown>> = {};
    for (const stack of this.stacks) {
      const outputs: Record<string, unknown> = {};
      for (const [name, output] of Object.entries(stack.template.Outputs ?? {})) {
        if (output.Condition && !this.condition(stack, output.Condition, `${stack.stackName}/Outputs/${name}`)) continue;
        outputs[name] = this.localize(this.resolve(stack, output.Value, `${stack.stackName}/Outputs/${name}`));
      }
      result[stack.stackName] = outputs;
    }
    return result;
  }

  /** Registers where an API (by id) is served locally, so URLs pointing at it can be rewritten. */
  setApiEndpoints(apiId: string, endpoints: LocalApiEndpoints): void {
    this.apiEndpoints.set(apiId, endpoints);
  }

  /** Adds a rewrite of AWS URLs to local ones (e.g. SQS queue URLs), applied by `localize`. */
  addLocalizer(localizer: (text: string) => string): void {
    this.localizers.push(localizer);
  }

  /**
   * Rewrites `https://{apiId}.execute-api.{region}.amazonaws.com` (and `wss://`) inside strings to
   * the local endpoint of that API, recursively: the code reads the same variables as in AWS and
   * reaches the local API.
   */
  localize<T>(value: T): T {
    if (typeof value === 'string') {
      const text = this.localizers.reduce<string>((t, localizer) => localizer(t), value);
      return text.replace(
        /(https|wss):\/\/([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com/g,
        (match, scheme: string, apiId: string) => {
          const local = this.apiEndpoints.get(apiId);
          if (!local) return match;
          return scheme === 'wss' ? (local.wss ?? match) : local.https;
        },
      ) as T;
    }
    if (Array.isArray(value)) return value.map((v) => this.localize(v)) as T;
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.localize(v)])) as T;
    }
    return value;
  }

  // ---------------------------------------------------------------------------------------------
  // Intrinsic functions

  resolve(stack: AssemblyStack, value: unknown, where: string): unknown {
    if (Array.isArray(value)) {
      return value.map((v, i) => this.resolve(stack, v, `${where}/${i}`)).filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Intrinsic);
    if (entries.length === 1) {
      const [key, arg] = entries[0]!;
      if (key === 'Ref' || key.startsWith('Fn::') || key === 'Condition') return this.intrinsic(stack, key, arg, where);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const resolved = this.resolve(stack, v, `${where}/${k}`);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  }

  private intrinsic(stack: AssemblyStack, fn: string, arg: unknown, where: string): unknown {
    const r = (v: unknown, suffix = fn) => this.resolve(stack, v, `${where}/${suffix}`);
    switch (fn) {
      case 'Ref':
        return this.ref(stack, String(arg), where);
      case 'Fn::GetAtt': {
        const [logicalId, ...attrParts] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
        return this.getAtt(stack, String(logicalId), attrParts.map(String).join('.'), where);
      }
      case 'Fn::Join': {
        const [delimiter, list] = arg as [string, unknown];
        const items = r(list) as unknown[];
        return items.map((i) => this.scalar(i, where)).join(delimiter);
      }
      case 'Fn::Sub': {
        const [template, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
        const resolvedVars = (r(vars ?? {}) ?? {}) as Record<string, unknown>;
        return template.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
          if (bang) return `\${${name}}`;
          if (name in resolvedVars) return this.scalar(resolvedVars[name], where);
          if (name.includes('.')) {
            const [id, ...attr] = name.split('.');
            return this.scalar(this.getAtt(stack, id!, attr.join('.'), where), where);
          }
          return this.scalar(this.ref(stack, name, where), where);
        });
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = r(list) as unknown[];
        const i = Number(r(index));
        if (!Array.isArray(items) || i < 0 || i >= items.length) {
          this.diagnostics.error(where, `Fn::Select index ${i} out of range`);
          return '';
        }
        return items[i];
      }
      case 'Fn::Split': {
        const [delimiter, source] = arg as [string, unknown];
        return String(r(source)).split(delimiter);
      }
      case 'Fn::ImportValue': {
        const name = String(r(arg));
        if (!this.exportsByName.has(name)) {
          this.diagnostics.error(where, `Fn::ImportValue: no stack exports "${name}"`);
          return '';
        }
        return this.exportsByName.get(name);
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = arg as [string, unknown, unknown];
        return this.condition(stack, condition, where) ? r(whenTrue, 'Fn::If/1') : r(whenFalse, 'Fn::If/2');
      }
      case 'Condition':
        return this.condition(stack, String(arg), where);
      case 'Fn::Equals': {
        const [a, b] = (arg as unknown[]).map((v) => r(v));
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::And':
        return (arg as unknown[]).every((v) => r(v) === true);
      case 'Fn::Or':
        return (arg as unknown[]).some((v) => r(v) === true);
      case 'Fn::Not':
        return r((arg as unknown[])[0]) !== true;
      case 'Fn::FindInMap': {
        const [map, top, second] = (arg as unknown[]).map((v) => String(r(v)));
        const value = stack.template.Mappings?.[map!]?.[top!]?.[second!];
        if (value === undefined) this.diagnostics.error(where, `Fn::FindInMap: ${map}/${top}/${second} not found`);
        return value;
      }
      case 'Fn::Base64':
        return Buffer.from(String(r(arg))).toString('base64');
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((z) => `${this.region}${z}`);
      case 'Fn::ToJsonString':
        return JSON.stringify(r(arg));
      case 'Fn::Length':
        return (r(arg) as unknown[]).length;
      default:
        this.diagnostics.error(where, `intrinsic function ${fn} is not supported by the local cloud`);
        return '';
    }
  }

  private scalar(value: unknown, where: string): string {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    this.diagnostics.error(where, `expected a string, got ${JSON.stringify(value)}`);
    return '';
  }

  private condition(stack: AssemblyStack, name: string, where: string): boolean {
    const key = `${stack.stackName}/${name}`;
    const cached = this.conditionCache.get(key);
    if (cached !== undefined) return cached;
    const definition = stack.template.Conditions?.[name];
    if (definition === undefined) {
      this.diagnostics.error(where, `condition ${name} is not defined`);
      return false;
    }
    const value = this.resolve(stack, definition, `${stack.stackName}/Conditions/${name}`) === true;
    this.conditionCache.set(key, value);
    return value;
  }

  private ref(stack: AssemblyStack, name: string, where: string): unknown {
    switch (name) {
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.accountId;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.stackName;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${this.region}:${this.accountId}:stack/${stack.stackName}/${uuidFrom(stack.stackName)}`;
      case 'AWS::NoValue':
        return NO_VALUE;
      case 'AWS::NotificationARNs':
        return [];
    }
    const parameter = stack.template.Parameters?.[name];
    if (parameter) {
      if (parameter.Default === undefined) this.diagnostics.error(where, `parameter ${name} has no default value`);
      return parameter.Default;
    }
    const resource = this.byKey.get(`${stack.stackName}/${name}`);
    if (!resource) {
      if (!stack.template.Resources?.[name]) this.diagnostics.error(where, `Ref to unknown resource ${name}`);
      return '';
    }
    return resource.ref;
  }

  private getAtt(stack: AssemblyStack, logicalId: string, attribute: string, where: string): unknown {
    const resource = this.byKey.get(`${stack.stackName}/${logicalId}`);
    if (!resource) {
      this.diagnostics.error(where, `Fn::GetAtt on unknown resource ${logicalId}`);
      return '';
    }
    if (!(attribute in resource.attributes)) {
      this.diagnostics.error(where, `Fn::GetAtt ${logicalId}.${attribute}: attribute not known locally for ${resource.type}`);
      return '';
    }
    return resource.attributes[attribute];
  }

  // ---------------------------------------------------------------------------------------------
  // Names, ARNs and attributes per resource type

  private describe(stack: AssemblyStack, logicalId: string, raw: CfnResource): ModelResource {
    const where = `${stack.stackName}/${logicalId}`;
    const base = { stack, logicalId, type: raw.Type, raw, where };
    const props = raw.Properties ?? {};
    // A name given in the template wins over the generated one (only literal names: CDK code in this
    // project never sets physical names, and a computed one would need resolution order).
    const given = (key: string) => (typeof props[key] === 'string' ? (props[key] as string) : undefined);
    const name = (max: number, key?: string) => (key && given(key)) || generatedName(stack.stackName, logicalId, max);
    const { region, accountId } = this;
    const arn = (service: string, resourcePart: string) => `arn:aws:${service}:${region}:${accountId}:${resourcePart}`;

    switch (raw.Type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable': {
        const tableName = name(255, 'TableName');
        const tableArn = arn('dynamodb', `table/${tableName}`);
        return {
          ...base,
          ref: tableName,
          physicalId: tableName,
          arn: tableArn,
          attributes: { Arn: tableArn, StreamArn: `${tableArn}/stream/1970-01-01T00:00:00.000`, TableId: uuidFrom(where) },
        };
      }
      case 'AWS::Lambda::Function': {
        const functionName = name(64, 'FunctionName');
        const functionArn = arn('lambda', `function:${functionName}`);
        return { ...base, ref: functionName, physicalId: functionName, arn: functionArn, attributes: { Arn: functionArn } };
      }
      case 'AWS::IAM::Role': {
        const roleName = name(64, 'RoleName');
        const roleArn = `arn:aws:iam::${accountId}:role/${roleName}`;
        return {
          ...base,
          ref: roleName,
          physicalId: roleName,
          arn: roleArn,
          attributes: { Arn: roleArn, RoleId: shortId(where, 21).toUpperCase() },
        };
      }
      case 'AWS::ApiGatewayV2::Api': {
        const apiId = shortId(where, 10);
        const scheme = props.ProtocolType === 'WEBSOCKET' ? 'wss' : 'https';
        return {
          ...base,
          ref: apiId,
          physicalId: apiId,
          arn: `arn:aws:apigateway:${region}::/apis/${apiId}`,
          attributes: { ApiId: apiId, ApiEndpoint: `${scheme}://${apiId}.execute-api.${region}.amazonaws.com` },
        };
      }
      case 'AWS::ApiGatewayV2::Stage': {
        const stageName = given('StageName') ?? '$default';
        return { ...base, ref: stageName, physicalId: stageName, attributes: {} };
      }
      case 'AWS::Logs::LogGroup': {
        const groupName = given('LogGroupName') ?? `/aws/local/${generatedName(stack.stackName, logicalId, 200)}`;
        const groupArn = arn('logs', `log-group:${groupName}:*`);
        return { ...base, ref: groupName, physicalId: groupName, arn: groupArn, attributes: { Arn: groupArn } };
      }
      case 'AWS::SQS::Queue': {
        const fifo = props.FifoQueue === true || props.FifoQueue === 'true';
        const queueName = given('QueueName') ?? `${generatedName(stack.stackName, logicalId, fifo ? 75 : 80)}${fifo ? '.fifo' : ''}`;
        const queueArn = arn('sqs', queueName);
        const url = `https://sqs.${region}.amazonaws.com/${accountId}/${queueName}`;
        return {
          ...base,
          ref: url,
          physicalId: queueName,
          arn: queueArn,
          attributes: { Arn: queueArn, QueueName: queueName, QueueUrl: url },
        };
      }
      case 'AWS::SNS::Topic': {
        const topicName = name(256, 'TopicName');
        const topicArn = arn('sns', topicName);
        return { ...base, ref: topicArn, physicalId: topicName, arn: topicArn, attributes: { TopicArn: topicArn, TopicName: topicName } };
      }
      case 'AWS::Events::EventBus': {
        const busName = name(256, 'Name');
        const busArn = arn('events', `event-bus/${busName}`);
        return { ...base, ref: busName, physicalId: busName, arn: busArn, attributes: { Arn: busArn, Name: busName } };
      }
      case 'AWS::Events::Rule': {
        const ruleName = name(64, 'Name');
        const ruleArn = arn('events', `rule/${ruleName}`);
        return { ...base, ref: ruleName, physicalId: ruleName, arn: ruleArn, attributes: { Arn: ruleArn } };
      }
      case 'AWS::StepFunctions::StateMachine': {
        const smName = name(80, 'StateMachineName');
        const smArn = arn('states', `stateMachine:${smName}`);
        return { ...base, ref: smArn, physicalId: smName, arn: smArn, attributes: { Arn: smArn, Name: smName } };
      }
      case 'AWS::SecretsManager::Secret': {
        const secretName = name(512, 'Name');
        const secretArn = arn('secretsmanager', `secret:${secretName}-${shortId(where, 6)}`);
        return { ...base, ref: secretArn, physicalId: secretName, arn: secretArn, attributes: { Id: secretArn } };
      }
      case 'AWS::Scheduler::ScheduleGroup':
      case 'AWS::Scheduler::Schedule': {
        const scheduleName = name(64, 'Name');
        const group = typeof props.GroupName === 'string' ? props.GroupName : 'default';
        const kind = raw.Type === 'AWS::Scheduler::Schedule' ? `schedule/${group}` : 'schedule-group';
        const scheduleArn = arn('scheduler', `${kind}/${scheduleName}`);
        return { ...base, ref: scheduleName, physicalId: scheduleName, arn: scheduleArn, attributes: { Arn: scheduleArn } };
      }
      case 'AWS::SES::EmailIdentity': {
        // Ref is the identity itself (an address or a domain), as CloudFormation documents; the Easy
        // DKIM tokens are stable stand-ins of the documented shape (`{token}._domainkey.{domain}`
        // → `{token}.dkim.amazonses.com`), so records built from them resolve.
        const identity = given('EmailIdentity') ?? generatedName(stack.stackName, logicalId, 320);
        const domain = identity.slice(identity.lastIndexOf('@') + 1).toLowerCase();
        const attributes: Record<string, string> = {};
        for (const i of [1, 2, 3]) {
          const token = shortId(`${where}/dkim/${i}`, 32);
          attributes[`DkimDNSTokenName${i}`] = `${token}._domainkey.${domain}`;
          attributes[`DkimDNSTokenValue${i}`] = `${token}.dkim.amazonses.com`;
        }
        return { ...base, ref: identity, physicalId: identity, arn: arn('ses', `identity/${identity}`), attributes };
      }
      case 'AWS::SES::Template': {
        // Ref and Id are the template's name (CloudFormation names it when the template does not).
        const template = (props.Template ?? {}) as Record<string, unknown>;
        const templateName =
          typeof template.TemplateName === 'string' ? template.TemplateName : generatedName(stack.stackName, logicalId, 64);
        return {
          ...base,
          ref: templateName,
          physicalId: templateName,
          arn: arn('ses', `template/${templateName}`),
          attributes: { Id: templateName },
        };
      }
      default: {
        // Anything else gets a stable id; its attributes are unknown, and a GetAtt on it is an error.
        const id = generatedName(stack.stackName, logicalId, 128);
        return { ...base, ref: id, physicalId: id, attributes: {} };
      }
    }
  }
}

/** Marker for `AWS::NoValue`: the enclosing property or list item is dropped. */
export const NO_VALUE = Symbol('AWS::NoValue');

/** `Stack-LogicalId-SUFFIX`, like CloudFormation's generated names, with a stable suffix. */
export function generatedName(stackName: string, logicalId: string, maxLength: number): string {
  const suffix = createHash('sha256').update(`${stackName}/${logicalId}`).digest('hex').slice(0, 12).toUpperCase();
  const head = `${stackName}-${logicalId}`.slice(0, Math.max(1, maxLength - suffix.length - 1));
  return `${head}-${suffix}`;
}

function shortId(seed: string, length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = createHash('sha256').update(seed).digest();
  let id = '';
  for (let i = 0; i < length; i++) id += alphabet[bytes[i % bytes.length]! % alphabet.length];
  return id;
}

function uuidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
