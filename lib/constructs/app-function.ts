/**
 * AppFunction: the one way this project defines a Lambda function (STYLE 3). It fixes what every
 * function shares: Node.js 22 on ARM64, ESM bundles built by esbuild, source maps, an explicit log
 * group with retention, a role without AWS managed policies, and the Powertools settings that
 * `lambdas/shared/observability.ts` reads. Access to other resources is added with `bind*` and
 * `grant*` methods that set the environment variable and the permission together (STYLE 4).
 *
 * Relies on: local esbuild (no Docker bundling), handler modules under `lambdas/` exporting
 * `handler`, and `package-lock.json` at the repository root.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { TableGrants, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogLevel as EsbuildLogLevel, NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { integerInRange } from './validate';

/** Repository root: where `package-lock.json` and `lambdas/` live. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const LAMBDAS_DIR = join(PROJECT_ROOT, 'lambdas');

/** `R`: read items; `W`: write and delete items; `RW`: both. */
export type TableAccess = 'R' | 'W' | 'RW';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface AppFunctionProps {
  /** Handler module relative to `lambdas/`, e.g. `http/health.ts`. It must export `handler`. */
  readonly entry: string;
  /** Powertools service name: the `service` field of every log line and a metric dimension. */
  readonly serviceName: string;
  /** @default - no description */
  readonly description?: string;
  /**
   * Behind API Gateway (29 s integration limit) a request handler should be done in well under
   * a second; 10 s leaves room for a cold start plus a slow DynamoDB retry.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Lambda allocates CPU in proportion to memory; 256 MB keeps cold starts of an ESM bundle with
   * the SDK reasonable at low cost.
   * @default 256
   */
  readonly memorySize?: number;
  /** Extra environment variables. Tables are bound with `bindTable`, not passed here. @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Powertools log level. @default 'INFO' */
  readonly logLevel?: LogLevel;
  /** CloudWatch namespace for EMF metrics. @default 'RealtimePlatform' */
  readonly metricsNamespace?: string;
}

const READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
];
const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:DescribeTable',
];

/** What each access level allows on a table (never Scan: see `bindTable`). */
export const TABLE_ACTIONS: Readonly<Record<TableAccess, readonly string[]>> = {
  R: READ_ACTIONS,
  W: WRITE_ACTIONS,
  RW: [...new Set([...READ_ACTIONS, ...WRITE_ACTIONS])],
};

/** Variables AppFunction owns; props may not set them. */
const MANAGED_ENV = ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_LOG_LEVEL'];
const ENV_NAME_PATTERN = /^[A-Z][A-Z0-9_]*$/;

export class AppFunction extends NodejsFunction {
  private readonly boundEnv = new Set<string>();
  private readonly serviceName: string;
  private readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    const entry = join(LAMBDAS_DIR, props.entry);
    if (!existsSync(entry)) {
      throw new Error(`AppFunction ${id}: handler module ${entry} does not exist (entry is relative to lambdas/)`);
    }
    if (props.serviceName.trim() === '') {
      throw new Error(`AppFunction ${id}: serviceName must not be empty`);
    }
    const metricsNamespace = props.metricsNamespace ?? 'RealtimePlatform';
    const memorySize = integerInRange(`AppFunction ${id}`, 'memorySize', props.memorySize ?? 256, 128, 10_240, ' MB');
    const clashing = Object.keys(props.environment ?? {}).filter((name) => MANAGED_ENV.includes(name));
    if (clashing.length > 0) {
      throw new Error(`AppFunction ${id}: environment may not set ${clashing.join(', ')}; AppFunction manages them`);
    }

    // Log group and role are siblings rather than children: both must exist before super(), and
    // a construct cannot have children before its own constructor has run.
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    // Our own role instead of the default one: the default attaches the AWS managed
    // AWSLambdaBasicExecutionRole, which may write to any log group in the account.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(10),
      memorySize,
      role,
      logGroup,
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      },
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        format: OutputFormat.ESM, // CDK names ESM output index.mjs, so Lambda loads it as ESM
        target: 'node22',
        // Prefer packages' ESM builds: they tree-shake, the CommonJS builds do not.
        mainFields: ['module', 'main'],
        minify: true,
        // Minified class names would turn error names in logs into single letters.
        keepNames: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        // Stack traces need the mappings, not a copy of every source file in the asset.
        sourcesContent: false,
        // CommonJS dependencies inside an ESM bundle still call require(); give them one. The
        // alias avoids clashing with a bundled module that imports createRequire itself.
        banner: "import { createRequire as __appCreateRequire } from 'node:module'; const require = __appCreateRequire(import.meta.url);",
        // Bundle the AWS SDK instead of using the copy in the Lambda runtime: the deployed code
        // then runs the SDK version our lockfile pins (the one tests and the local cloud run),
        // not whatever the runtime ships that week, and tree-shaking keeps only the clients used.
        bundleAwsSDK: true,
        // esbuild's per-file size report drowns synth output; warnings and errors still show.
        logLevel: EsbuildLogLevel.WARNING,
        // Hash the bundle's inputs rather than its output: CDK then skips esbuild when an asset
        // with that hash is already in the output directory, which makes re-synthesis (npm start)
        // fast. Sound because handlers import only from lambdas/ and locked packages (enforced by
        // test/constructs/bundle-inputs.test.ts); CDK adds this function's bundling options.
        assetHash: bundleInputsHash(),
      },
    });

    this.serviceName = props.serviceName;
    this.metricsNamespace = metricsNamespace;

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the project runtime (STYLE.md, DESIGN.md): an LTS runtime supported by Lambda, ' +
        'the esbuild target and what the local cloud runs. nodejs24.x is newer; moving to it is a ' +
        'deliberate, tested change of this construct, not something a linter should force.',
    });
  }

  /**
   * Gives the function access to a table and tells it the table's name in `envName`.
   *
   * `envName` has no default: a table goes by one name in every function (`DOMAIN_TABLE_NAME`,
   * `REALTIME_TABLE_NAME`; test/constructs/app.test.ts checks the whole app), and a generic
   * default is how a function once came to read the domain table as `TABLE_NAME`.
   *
   * The actions are listed here rather than taken from the built-in `grant*Data` methods, for two
   * reasons. Those grant `dynamodb:Scan`, and no handler scans (DESIGN.md: subscribers and
   * everything else are found by key, never by a scan), so a scan is refused by IAM, not just
   * absent from the code. And they add index ARNs (`index/*`): writes never need them, and a
   * function that queries an index says which one with `grantIndexQuery`.
   */
  public bindTable(table: ITable, access: TableAccess, envName: string): this {
    this.bindEnvironment(envName, table.tableName);
    TableGrants.fromTable(table, undefined, false).actions(this, ...TABLE_ACTIONS[access]);
    return this;
  }

  /**
   * Lets the function query one global secondary index of a table it is bound to. There is no
   * per-index grant in CDK, hence the explicit statement; the index is named, not wildcarded.
   */
  public grantIndexQuery(table: ITable, indexName: string): this {
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(indexName)) {
      throw new Error(`${this.node.path}: invalid index name ${JSON.stringify(indexName)}`);
    }
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${table.tableArn}/index/${indexName}`],
      }),
    );
    return this;
  }

  /** Lets the function put events on `bus` (events:PutEvents on that bus only) and names it in `envName`. */
  public bindEventBus(bus: IEventBus, envName = 'EVENT_BUS_NAME'): this {
    this.bindEnvironment(envName, bus.eventBusName);
    bus.grantPutEventsTo(this);
    return this;
  }

  /**
   * A metric the handler records with `metrics.addMetric` (lambdas/shared/observability.ts):
   * Powertools writes it as EMF in this function's namespace with the `service` dimension.
   */
  public appMetric(metricName: string, options: MetricOptions = {}): Metric {
    return new Metric({
      namespace: this.metricsNamespace,
      metricName,
      dimensionsMap: { service: this.serviceName },
      ...options,
    });
  }

  /**
   * Sets an environment variable that a binding owns (a table name, an endpoint). Unlike
   * `addEnvironment` it refuses to overwrite another binding or a variable AppFunction manages.
   */
  public bindEnvironment(envName: string, value: string): this {
    if (!ENV_NAME_PATTERN.test(envName) || envName.startsWith('AWS_') || MANAGED_ENV.includes(envName)) {
      throw new Error(
        `${this.node.path}: ${JSON.stringify(envName)} is not a usable environment variable name ` +
          '(upper case letters, digits and underscores; not AWS_* or a variable AppFunction manages)',
      );
    }
    if (this.boundEnv.has(envName)) {
      throw new Error(`${this.node.path}: ${envName} is already bound; pass a distinct envName for each binding`);
    }
    this.boundEnv.add(envName);
    this.addEnvironment(envName, value);
    return this;
  }
}

let cachedInputsHash: string | undefined;

/** Hash of everything a bundle is built from: lambdas/, the lockfile and tsconfig.json. */
export function bundleInputsHash(): string {
  if (cachedInputsHash) return cachedInputsHash;
  const hash = createHash('sha256');
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.isFile()) hash.update(relative(PROJECT_ROOT, path)).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  visit(LAMBDAS_DIR);
  for (const file of ['package-lock.json', 'tsconfig.json']) hash.update(file).update(readFileSync(join(PROJECT_ROOT, file)));
  cachedInputsHash = hash.digest('hex');
  return cachedInputsHash;
}
