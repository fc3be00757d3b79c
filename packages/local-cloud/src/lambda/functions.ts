/**
 * Turns `AWS::Lambda::Function` resources into what a local execution environment needs: the
 * staged code directory, handler, limits and environment. Only Node.js runtimes run locally;
 * anything else is reported by name at start-up.
 */
import { cpSync, existsSync, mkdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type { CloudModel, ModelResource } from '../model';

export interface FunctionSpec {
  readonly resource: ModelResource;
  readonly name: string;
  /** Short name for log lines: the construct path without the stack (`HttpApi/Health`), else the logical id. */
  readonly displayName: string;
  readonly arn: string;
  readonly handler: string;
  /** Staged copy of the bundle, outside any project tree, like /var/task. */
  readonly taskRoot: string;
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly reservedConcurrency?: number;
  /** The function's own environment variables, resolved (API URLs already local). */
  readonly environment: Record<string, string>;
}

/**
 * Where staged bundles live. A sibling `node_modules` exposes the AWS SDK v3 the way the Lambda
 * Node.js runtime does (`/var/runtime/node_modules`), so code that leaves `@aws-sdk/*` out of its
 * bundle still finds it, while nothing else from the developer's machine leaks in. One runtime
 * directory per SDK installation, so two checkouts never re-point each other's links.
 */
const require = createRequire(import.meta.url);
const SDK_MODULES = dirname(dirname(dirname(require.resolve('@aws-sdk/client-dynamodb/package.json'))));
const RUNTIME_ROOT = join(tmpdir(), `local-cloud-runtime-${hash(SDK_MODULES).slice(0, 8)}`);
const TASKS_DIR = join(RUNTIME_ROOT, 'tasks');

export function functionSpecs(model: CloudModel): FunctionSpec[] {
  prepareRuntimeModules();
  const specs: FunctionSpec[] = [];
  for (const resource of model.ofType('AWS::Lambda::Function')) {
    const spec = toSpec(model, resource);
    if (spec) specs.push(spec);
  }
  return specs;
}

function toSpec(model: CloudModel, resource: ModelResource): FunctionSpec | undefined {
  const props = model.properties(resource);
  const where = resource.where;
  const runtime = String(props.Runtime ?? '');
  const packageType = String(props.PackageType ?? 'Zip');
  if (packageType !== 'Zip') {
    model.diagnostics.unsupported(where, `PackageType ${packageType} (container images) cannot run locally`);
    return undefined;
  }
  if (!runtime.startsWith('nodejs')) {
    model.diagnostics.unsupported(`${where}/Runtime`, `runtime "${runtime}" cannot run locally (Node.js runtimes only)`);
    return undefined;
  }
  for (const key of ['Layers', 'VpcConfig', 'FileSystemConfigs', 'SnapStart']) {
    if (props[key] !== undefined) model.diagnostics.unsupported(`${where}/${key}`, `${key} has no local equivalent and is ignored`);
  }
  const code = (props.Code ?? {}) as Record<string, unknown>;
  const taskRoot = stageCode(model, resource, code);
  if (!taskRoot) return undefined;
  const variables = ((props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<
    string,
    unknown
  >;
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries(variables)) environment[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return {
    resource,
    name: resource.physicalId,
    displayName: displayName(resource),
    arn: resource.arn!,
    handler: String(props.Handler ?? 'index.handler'),
    taskRoot,
    runtime,
    timeoutSeconds: Number(props.Timeout ?? 3),
    memoryMb: Number(props.MemorySize ?? 128),
    reservedConcurrency: props.ReservedConcurrentExecutions === undefined ? undefined : Number(props.ReservedConcurrentExecutions),
    environment,
  };
}

function displayName(resource: ModelResource): string {
  const path = resource.raw.Metadata?.['aws:cdk:path'];
  if (typeof path !== 'string') return resource.logicalId;
  return (
    path
      .split('/')
      .slice(1)
      .filter((p) => p !== 'Resource')
      .join('/') || resource.logicalId
  );
}

function stageCode(model: CloudModel, resource: ModelResource, code: Record<string, unknown>): string | undefined {
  const where = `${resource.where}/Code`;
  if (typeof code.ZipFile === 'string') {
    // Inline code: Lambda writes it to index.js (CommonJS) in the task root.
    const dir = join(TASKS_DIR, `inline.${hash(code.ZipFile)}`);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'index.js'), code.ZipFile);
    }
    return dir;
  }
  if (typeof code.S3Key === 'string') {
    const asset = resource.stack.assets.get(code.S3Key);
    if (!asset) {
      model.diagnostics.error(where, `no asset in the cloud assembly for S3 key ${code.S3Key}`);
      return undefined;
    }
    if (!existsSync(asset.path) || !statSync(asset.path).isDirectory()) {
      model.diagnostics.unsupported(where, `asset ${asset.path} is a packaged file; only directory assets run locally`);
      return undefined;
    }
    // Asset directories are content-addressed (asset.<hash>), so a staged copy is reused safely.
    const dir = join(TASKS_DIR, `${basename(asset.path)}-${hash(asset.path).slice(0, 8)}`);
    if (!existsSync(dir)) {
      const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
      cpSync(asset.path, tmp, { recursive: true });
      try {
        renameSync(tmp, dir);
      } catch {
        rmSync(tmp, { recursive: true, force: true }); // another process staged it first
      }
    }
    return dir;
  }
  model.diagnostics.unsupported(where, 'code must be an asset (S3Key) or inline (ZipFile) to run locally');
  return undefined;
}

/** Links the AWS SDK v3 packages the local cloud itself ships into the runtime's node_modules. */
function prepareRuntimeModules(): void {
  const target = join(RUNTIME_ROOT, 'node_modules');
  mkdirSync(TASKS_DIR, { recursive: true });
  mkdirSync(target, { recursive: true });
  for (const scope of ['@aws-sdk', '@smithy', '@aws-crypto']) {
    const source = join(SDK_MODULES, scope);
    const link = join(target, scope);
    if (!existsSync(source)) continue;
    let current: string | undefined;
    try {
      current = readlinkSync(link);
    } catch {
      current = undefined;
    }
    if (current === source) continue;
    if (current !== undefined) rmSync(link, { force: true });
    try {
      symlinkSync(source, link, 'dir');
    } catch {
      // Another local cloud of this checkout created it at the same moment.
    }
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
