/**
 * Builds the CDK app for one stage. `bin/app.ts` calls it for the CLI; tests (and anything else
 * that needs the app in-process) call it directly instead of spawning `cdk synth`.
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { isEphemeralStage, validateStage } from './stage';
import { StatefulStack } from './stateful-stack';
import { StatelessStack } from './stateless-stack';

export const PROJECT_TAG = 'realtime-platform';

/**
 * CDK context flag: create API Gateway's account-level CloudWatch Logs role, which a WebSocket
 * stage's access logs need and a fresh account lacks (`-c apiGatewayCloudWatchRole=true` on the
 * first deploy into an account and region). Off by default: the role is one setting per account
 * and region, so it is set up once, on purpose, not by every stage (docs/decisions.md #17).
 */
export const API_GATEWAY_CLOUDWATCH_ROLE_CONTEXT = 'apiGatewayCloudWatchRole';

/**
 * CDK context: the address notification emails are sent from (the SES email identity of the
 * `Notifications` construct). cdk.json sets the default; a stage sets its own with
 * `-c notificationsFromAddress=noreply@mail.example.org`.
 */
export const NOTIFICATIONS_FROM_ADDRESS_CONTEXT = 'notificationsFromAddress';
export const DEFAULT_NOTIFICATIONS_FROM_ADDRESS = 'noreply@example.com';

export interface BuildAppProps {
  /** Stage to build; wins over the `stage` context value. @default - context `stage` */
  readonly stage?: string;
  /** Cloud assembly directory. @default - the CLI's, or a temporary directory in-process */
  readonly outdir?: string;
  /** Extra CDK context, e.g. `{ 'aws:cdk:bundling-stacks': [] }` to skip bundling. @default {} */
  readonly context?: Record<string, unknown>;
  /**
   * Run CDK's built-in CloudFormation template validation at synth. It takes seconds (a WASM
   * engine), so the local cloud and most construct tests turn it off; `cdk synth` and the cdk-nag
   * test keep it. The `CDK_VALIDATION=false` environment variable also turns it off.
   * @default true
   */
  readonly cloudFormationValidation?: boolean;
}

/** Construct ids (and CloudFormation stack names) of a stage's stacks. */
export function stackIds(stage: string): { readonly stateful: string; readonly stateless: string } {
  return { stateful: `Realtime-${stage}-Stateful`, stateless: `Realtime-${stage}-Stateless` };
}

export function buildApp(props: BuildAppProps = {}): App {
  const app = new App({
    outdir: props.outdir,
    context: props.context,
    builtinCloudFormationValidation: props.cloudFormationValidation ?? true,
  });
  const stage = validateStage(props.stage ?? app.node.tryGetContext('stage'));
  const apiGatewayCloudWatchRole = booleanContext(app, API_GATEWAY_CLOUDWATCH_ROLE_CONTEXT);
  const ephemeral = isEphemeralStage(stage);
  const notificationsFromAddress = stringContext(app, NOTIFICATIONS_FROM_ADDRESS_CONTEXT) ?? DEFAULT_NOTIFICATIONS_FROM_ADDRESS;
  const ids = stackIds(stage);

  // cdk-nag v3 is a policy-validation plugin that runs after synthesis (v2 was an Aspect). Any
  // finding not acknowledged on the construct that causes it fails `cdk synth`.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

  Tags.of(app).add('project', PROJECT_TAG);
  Tags.of(app).add('stage', stage);

  // No env: the stacks are environment-agnostic and deploy to the CLI's account and region.
  const stateful = new StatefulStack(app, ids.stateful, {
    description: `Realtime platform (${stage}): tables and secrets`,
    ephemeral,
    apiGatewayCloudWatchRole,
  });
  new StatelessStack(app, ids.stateless, {
    description: `Realtime platform (${stage}): APIs and functions`,
    stage,
    ephemeral,
    domainTable: stateful.domainTable,
    realtimeTable: stateful.realtimeTable,
    signingSecret: stateful.signingSecret,
    eventBus: stateful.eventBus,
    domainEventsDeadLetterQueue: stateful.domainEventsDeadLetterQueue,
    fanoutJobQueue: stateful.fanoutJobQueue,
    fanoutStreamFailures: stateful.fanoutStreamFailures,
    chargeQueue: stateful.chargeQueue,
    schedulerDeadLetterQueue: stateful.schedulerDeadLetterQueue,
    notificationQueue: stateful.notificationQueue,
    notificationsFromAddress,
  });

  return app;
}

/** A true/false context value; the CLI passes `-c key=true` as the string "true". Absent is false. */
function booleanContext(app: App, key: string): boolean {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw new Error(`Invalid context ${key}=${JSON.stringify(value)}: use true or false, e.g. \`-c ${key}=true\``);
}

/** A string context value, or undefined when it is not set. */
function stringContext(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new Error(`Invalid context ${key}=${JSON.stringify(value)}: expected a string`);
  return value;
}
