/**
 * Reads a CDK cloud assembly (the `cdk.out` directory that `cdk synth` writes) without the CDK
 * CLI: the stacks in deployment order, their CloudFormation templates, and where each file asset
 * (a Lambda bundle) lives on disk, so the local cloud runs exactly what `cdk deploy` would upload.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
  Metadata?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

export interface CfnTemplate {
  Resources?: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown }; Condition?: string; Description?: string }>;
  Parameters?: Record<string, { Type: string; Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Rules?: unknown;
}

export interface AssemblyStack {
  /** Artifact id in the manifest (e.g. `Realtime-dev-Stateless`). */
  readonly artifactId: string;
  /** The CloudFormation stack name. */
  readonly stackName: string;
  readonly template: CfnTemplate;
  readonly templateFile: string;
  /** Artifact ids this stack depends on (already filtered to stacks). */
  readonly dependencies: string[];
  /** S3 object key of each file asset → absolute path of the asset in the assembly. */
  readonly assets: ReadonlyMap<string, FileAsset>;
}

export interface FileAsset {
  readonly path: string;
  readonly packaging: 'zip' | 'file';
}

interface ManifestArtifact {
  type: string;
  properties?: Record<string, unknown>;
  dependencies?: string[];
  displayName?: string;
}

/** Loads every stack of the assembly at `dir` (nested stage assemblies included), in deployment order. */
export function loadAssembly(dir: string): AssemblyStack[] {
  const root = resolve(dir);
  const manifestFile = join(root, 'manifest.json');
  if (!existsSync(manifestFile)) {
    throw new Error(`No cloud assembly at ${root} (manifest.json missing): run \`npx cdk synth\` first.`);
  }
  const stacks = readStacks(root);
  return orderByDependencies(stacks);
}

function readStacks(dir: string): AssemblyStack[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, ManifestArtifact>;
  };
  const artifacts = manifest.artifacts ?? {};
  const stacks: AssemblyStack[] = [];
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (artifact.type === 'cdk:cloud-assembly') {
      const nested = String(artifact.properties?.directoryName ?? '');
      stacks.push(...readStacks(join(dir, nested)));
      continue;
    }
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const templateFile = join(dir, String(artifact.properties?.templateFile));
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate;
    const assets = new Map<string, FileAsset>();
    for (const depId of artifact.dependencies ?? []) {
      const dep = artifacts[depId];
      if (dep?.type === 'cdk:asset-manifest') readAssetManifest(dir, String(dep.properties?.file), assets);
    }
    stacks.push({
      artifactId: id,
      stackName: String(artifact.properties?.stackName ?? id),
      template,
      templateFile,
      dependencies: (artifact.dependencies ?? []).filter((d) => artifacts[d]?.type === 'aws:cloudformation:stack'),
      assets,
    });
  }
  return stacks;
}

function readAssetManifest(dir: string, file: string, into: Map<string, FileAsset>): void {
  const manifest = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
    files?: Record<string, { source: { path?: string; packaging?: string }; destinations: Record<string, { objectKey: string }> }>;
  };
  for (const entry of Object.values(manifest.files ?? {})) {
    if (!entry.source.path) continue;
    for (const destination of Object.values(entry.destinations)) {
      into.set(destination.objectKey, {
        path: join(dir, entry.source.path),
        packaging: entry.source.packaging === 'zip' ? 'zip' : 'file',
      });
    }
  }
}

function orderByDependencies(stacks: AssemblyStack[]): AssemblyStack[] {
  const byId = new Map(stacks.map((s) => [s.artifactId, s]));
  const ordered: AssemblyStack[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (stack: AssemblyStack) => {
    const s = state.get(stack.artifactId);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`Stack dependency cycle through ${stack.artifactId}`);
    state.set(stack.artifactId, 'visiting');
    for (const dep of stack.dependencies) {
      const d = byId.get(dep);
      if (d) visit(d);
    }
    state.set(stack.artifactId, 'done');
    ordered.push(stack);
  };
  stacks.forEach(visit);
  return ordered;
}
