/**
 * Deployment stages. The stage comes from CDK context (`-c stage=dev`) and ends up in stack names,
 * the WebSocket stage name and tags, so it is validated before anything is built.
 */

/** 1-32 lowercase letters, digits or hyphens, starting and ending with a letter or digit. */
const STAGE_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/**
 * Stages whose data is disposable: shared dev/test environments, per-developer `dev-*` stages,
 * per-pull-request `pr-*` stages and the local cloud. Everything else (prod, staging, anything new)
 * keeps its data, so an unknown stage fails safe.
 */
const EPHEMERAL_STAGES = new Set(['dev', 'test', 'ci', 'local']);
const EPHEMERAL_PREFIXES = ['dev-', 'pr-', 'test-'];

export function validateStage(stage: unknown): string {
  if (typeof stage !== 'string' || stage.length === 0) {
    throw new Error('Missing stage: pass it as CDK context, e.g. `npx cdk synth -c stage=dev`');
  }
  if (!STAGE_PATTERN.test(stage)) {
    throw new Error(
      `Invalid stage ${JSON.stringify(stage)}: use 1-32 lowercase letters, digits or hyphens, ` +
        'starting and ending with a letter or digit (e.g. dev, prod, pr-42)',
    );
  }
  return stage;
}

/** Whether the stage's stateful resources may be destroyed with its stacks. */
export function isEphemeralStage(stage: string): boolean {
  return EPHEMERAL_STAGES.has(stage) || EPHEMERAL_PREFIXES.some((prefix) => stage.startsWith(prefix));
}
