/**
 * The local cloud's programmatic API: start a synthesized CDK app (`LocalCloud.start`), stop it,
 * read its endpoints, drive its virtual clock; synthesize an app first (`synthesize`); wrap the
 * command line in a project's own start script (`runCli` with `onReady`); launch it as a child
 * process for end-to-end tests and benchmarks (`launchLocalCloud`).
 */
export { LocalCloud, type Endpoints, type LocalCloudOptions, type ResourceEndpoint } from './cloud';
export { VirtualClock } from './clock';
export { DynamoDbServer } from './dynamodb/server';
export { synthesize, type AppCommand, type SynthesizeOptions } from './synth';
export { runCli, exitOnError, type CliOptions, type ReadyContext } from './cli';
export { launchLocalCloud, type LaunchedCloud, type LaunchOptions } from './launch';
