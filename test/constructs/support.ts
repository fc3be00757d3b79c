/**
 * Builds the app in-process for construct tests. Synthesis bundles every function with esbuild,
 * so each test file builds once (module scope) and shares the result between its tests.
 */
import type { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, stackIds, type BuildAppProps } from '../../lib/app';

export const SYNTH_TIMEOUT = 120_000;

/** Context that skips esbuild for tests that do not look at function code. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };

export interface BuiltApp {
  readonly app: App;
  readonly stateful: Stack;
  readonly stateless: Stack;
  readonly statefulTemplate: Template;
  readonly statelessTemplate: Template;
}

/**
 * Builds the app for `stage`. CDK's built-in CloudFormation validation costs seconds per synth, so
 * it is off unless a test asks for it (the cdk-nag test does, once).
 */
export function synthApp(props: BuildAppProps & { stage: string }): BuiltApp {
  const app = buildApp({ cloudFormationValidation: false, ...props });
  const ids = stackIds(props.stage);
  const stateful = app.node.findChild(ids.stateful) as Stack;
  const stateless = app.node.findChild(ids.stateless) as Stack;
  return {
    app,
    stateful,
    stateless,
    statefulTemplate: Template.fromStack(stateful),
    statelessTemplate: Template.fromStack(stateless),
  };
}

/** Every resource of `type` in the template, as [logicalId, resource] pairs. */
export function resourcesOf(template: Template, type: string): [string, { Properties?: Record<string, unknown> }][] {
  return Object.entries(template.findResources(type));
}
