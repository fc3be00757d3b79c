/**
 * The local AWS Secrets Manager: secrets from the templates (`AWS::SecretsManager::Secret`, with a
 * literal `SecretString` or a `GenerateSecretString`) and from the API, served to the real
 * `@aws-sdk/client-secrets-manager` over the JSON protocol (`X-Amz-Target: secretsmanager.<Op>`,
 * `application/x-amz-json-1.1`) on the control port.
 *
 * Operations: GetSecretValue, BatchGetSecretValue, DescribeSecret, ListSecrets, CreateSecret,
 * PutSecretValue, UpdateSecret, DeleteSecret, RestoreSecret, GetRandomPassword. A secret is found
 * by name, by full ARN, or by partial ARN (the ARN without its 6-character random suffix).
 * Versions carry staging labels: a new AWSCURRENT version moves the old one to AWSPREVIOUS.
 * Scheduled deletions complete on the virtual clock (checked when the secret is next looked up).
 *
 * Generated template secrets (`GenerateSecretString`) are random (`node:crypto`) but must not
 * change on every start — a signing key that changes on restart invalidates every token issued
 * before it. With a state directory they are kept in `{stateDir}/secretsmanager.json` (mode 0600),
 * keyed by the secret's ARN, with a fingerprint of the generator settings: a changed
 * `GenerateSecretString` generates a new value, as CloudFormation creates a new version. THAT FILE
 * HOLDS THE LOCAL CLOUD'S SECRET VALUES IN PLAIN TEXT: they are local-only (never used in AWS),
 * but keep the directory out of version control. Secrets created or changed through the API live
 * in memory only.
 */
import { createHash, randomInt, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsError, type JsonService } from '../aws-protocol';
import type { ServiceContext } from '../context';
import type { ModelResource } from '../model';

export interface SecretsManagerServiceOptions {
  /** Keep generated template secrets in `{stateDir}/secretsmanager.json`. @default in memory */
  readonly stateDir?: string;
}

export const STATE_FILE = 'secretsmanager.json';
const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
/** What ExcludePunctuation removes (the set Secrets Manager documents). */
export const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const LOWERCASE = 'abcdefghijklmnopqrstuvwxyz';
const UPPERCASE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const MAX_VERSIONS = 100;
const DAY_MS = 86_400_000;

interface SecretVersion {
  readonly versionId: string;
  readonly secretString?: string;
  /** Base64, as the JSON protocol carries blobs. */
  readonly secretBinary?: string;
  readonly createdDate: number;
  stages: string[];
}

interface Secret {
  readonly arn: string;
  readonly name: string;
  description?: string;
  kmsKeyId?: string;
  tags: Array<{ Key: string; Value: string }>;
  readonly createdDate: number;
  lastChangedDate: number;
  lastAccessedDate?: number;
  /** When DeleteSecret was called; the secret is gone at `deletionDate`. */
  deletedDate?: number;
  deletionDate?: number;
  /** Oldest first. */
  versions: SecretVersion[];
}

/** One generated template secret as kept in the state file. */
interface StoredSecret {
  readonly fingerprint: string;
  readonly versionId: string;
  readonly secretString: string;
  readonly createdDate: number;
}

interface StateFile {
  readonly note: string;
  readonly secrets: Record<string, StoredSecret>;
}

/** Options of GetRandomPassword, and of a template's GenerateSecretString. */
export interface PasswordOptions {
  readonly PasswordLength?: number;
  readonly ExcludeCharacters?: string;
  readonly ExcludeNumbers?: boolean;
  readonly ExcludePunctuation?: boolean;
  readonly ExcludeUppercase?: boolean;
  readonly ExcludeLowercase?: boolean;
  readonly IncludeSpace?: boolean;
  readonly RequireEachIncludedType?: boolean;
}

const invalidParameter = (message: string) => new AwsError('InvalidParameterException', message);
const invalidRequest = (message: string) => new AwsError('InvalidRequestException', message);
const notFound = (message = "Secrets Manager can't find the specified secret.") => new AwsError('ResourceNotFoundException', message);

/**
 * A random password as GetRandomPassword makes it: `PasswordLength` (default 32, 1-4096) characters
 * from lowercase, uppercase, digits and punctuation (and the space with `IncludeSpace`), minus what
 * is excluded; with `RequireEachIncludedType` (default true) at least one of each included type.
 */
export function generatePassword(options: PasswordOptions = {}): string {
  const length = options.PasswordLength ?? 32;
  if (!Number.isInteger(length) || length < 1 || length > 4096)
    throw invalidParameter('PasswordLength must be an integer between 1 and 4096.');
  const excluded = new Set(options.ExcludeCharacters ?? '');
  const keep = (chars: string) => [...chars].filter((c) => !excluded.has(c)).join('');
  const types = [
    options.ExcludeLowercase ? '' : keep(LOWERCASE),
    options.ExcludeUppercase ? '' : keep(UPPERCASE),
    options.ExcludeNumbers ? '' : keep(DIGITS),
    options.ExcludePunctuation ? '' : keep(PUNCTUATION),
  ].filter((t) => t.length > 0);
  const space = options.IncludeSpace && !excluded.has(' ') ? ' ' : '';
  const pool = types.join('') + space;
  if (pool.length === 0) throw invalidParameter('The password cannot be generated: every character is excluded.');
  const chars: string[] = [];
  if (options.RequireEachIncludedType ?? true) {
    if (length < types.length) {
      throw invalidParameter(`PasswordLength ${length} is too short to include each of the ${types.length} required character types.`);
    }
    for (const type of types) chars.push(type[randomInt(type.length)]!);
  }
  while (chars.length < length) chars.push(pool[randomInt(pool.length)]!);
  // Fisher-Yates, so the required characters are not always at the start.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

/** The secret string of a template's GenerateSecretString: a bare password, or a JSON object with it under GenerateStringKey. */
export function generateSecretString(spec: Record<string, unknown>): string {
  const template = spec.SecretStringTemplate;
  const key = spec.GenerateStringKey;
  if ((template === undefined) !== (key === undefined)) {
    throw new Error('SecretStringTemplate and GenerateStringKey must be given together');
  }
  const options: PasswordOptions = {
    PasswordLength: spec.PasswordLength === undefined ? undefined : Number(spec.PasswordLength),
    ExcludeCharacters: spec.ExcludeCharacters === undefined ? undefined : String(spec.ExcludeCharacters),
    ExcludeNumbers: bool(spec.ExcludeNumbers),
    ExcludePunctuation: bool(spec.ExcludePunctuation),
    ExcludeUppercase: bool(spec.ExcludeUppercase),
    ExcludeLowercase: bool(spec.ExcludeLowercase),
    IncludeSpace: bool(spec.IncludeSpace),
    RequireEachIncludedType: bool(spec.RequireEachIncludedType),
  };
  const password = generatePassword(options);
  if (template === undefined) return password;
  let object: unknown;
  try {
    object = JSON.parse(String(template));
  } catch {
    throw new Error('SecretStringTemplate is not valid JSON');
  }
  if (object === null || typeof object !== 'object' || Array.isArray(object)) throw new Error('SecretStringTemplate must be a JSON object');
  if (typeof key !== 'string' || key.length === 0) throw new Error('GenerateStringKey must be a non-empty string');
  return JSON.stringify({ ...(object as Record<string, unknown>), [key]: password });
}

function bool(value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  return value === true || value === 'true';
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

export class SecretsManagerService {
  readonly jsonService: JsonService;
  /** By name. */
  private readonly secrets = new Map<string, Secret>();
  private readonly statePath?: string;
  private started = false;

  constructor(
    private readonly context: ServiceContext,
    options: SecretsManagerServiceOptions = {},
  ) {
    this.statePath = options.stateDir ? join(options.stateDir, STATE_FILE) : undefined;
    this.jsonService = {
      targetPrefix: 'secretsmanager',
      contentType: 'application/x-amz-json-1.1',
      operations: {
        GetSecretValue: (input) => this.getSecretValue(input),
        BatchGetSecretValue: (input) => this.batchGetSecretValue(input),
        DescribeSecret: (input) => this.describeSecret(input),
        ListSecrets: (input) => this.listSecrets(input),
        CreateSecret: (input) => this.createSecret(input),
        PutSecretValue: (input) => this.putSecretValue(input),
        UpdateSecret: (input) => this.updateSecret(input),
        DeleteSecret: (input) => this.deleteSecret(input),
        RestoreSecret: (input) => this.restoreSecret(input),
        GetRandomPassword: (input) => ({ RandomPassword: generatePassword(passwordOptions(input)) }),
      },
    };
  }

  /** Creates the secrets of the templates (generated values from the state file when known). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const stored = this.readState();
    let changed = false;
    for (const resource of this.context.model.ofType('AWS::SecretsManager::Secret')) {
      changed = this.createTemplateSecret(resource, stored) || changed;
    }
    if (changed) this.writeState(stored);
  }

  async stop(): Promise<void> {}

  /** Nothing runs in the background: deletions complete when the secret is next looked up. */
  isIdle(): boolean {
    return true;
  }

  /** The current value of a secret by name or ARN (for other local services). */
  secretString(secretId: string): string | undefined {
    const secret = this.find(secretId);
    return secret && !secret.deletedDate ? this.version(secret, undefined, CURRENT)?.secretString : undefined;
  }

  // -----------------------------------------------------------------------------------------------
  // Template secrets

  /** Returns whether the stored state changed. */
  private createTemplateSecret(resource: ModelResource, stored: Record<string, StoredSecret>): boolean {
    const { model, clock } = this.context;
    const props = model.properties(resource);
    const arn = resource.arn!;
    const name = resource.physicalId;
    if (!NAME.test(name)) {
      model.diagnostics.error(`${resource.where}/Name`, `"${name}" is not a valid secret name`);
      return false;
    }
    if (this.secrets.has(name)) {
      model.diagnostics.error(resource.where, `secret name ${name} is used twice`);
      return false;
    }
    for (const key of ['KmsKeyId', 'ReplicaRegions', 'Tags']) {
      if (props[key] !== undefined) model.diagnostics.ignored(`${resource.where}/${key}`, `Secret ${key} (no local effect)`);
    }
    const now = clock.now();
    const secret: Secret = {
      arn,
      name,
      description: typeof props.Description === 'string' ? props.Description : undefined,
      kmsKeyId: typeof props.KmsKeyId === 'string' ? props.KmsKeyId : undefined,
      tags: Array.isArray(props.Tags)
        ? (props.Tags as Array<{ Key: unknown; Value: unknown }>).map((t) => ({ Key: String(t.Key), Value: String(t.Value ?? '') }))
        : [],
      createdDate: now,
      lastChangedDate: now,
      versions: [],
    };
    let changed = false;
    const given = props.SecretString;
    const spec = props.GenerateSecretString;
    if (given !== undefined && spec !== undefined) {
      model.diagnostics.error(resource.where, 'SecretString and GenerateSecretString cannot both be given');
      return false;
    }
    if (given !== undefined) {
      const value = String(given);
      secret.versions.push({ versionId: uuidFrom(`${arn}\n${value}`), secretString: value, createdDate: now, stages: [CURRENT] });
    } else if (spec !== undefined) {
      if (spec === null || typeof spec !== 'object') {
        model.diagnostics.error(`${resource.where}/GenerateSecretString`, 'GenerateSecretString must be an object');
        return false;
      }
      const fingerprint = createHash('sha256').update(canonical(spec)).digest('hex');
      let entry = stored[arn];
      if (!entry || entry.fingerprint !== fingerprint) {
        let value: string;
        try {
          value = generateSecretString(spec as Record<string, unknown>);
        } catch (error) {
          model.diagnostics.error(`${resource.where}/GenerateSecretString`, (error as Error).message);
          return false;
        }
        entry = { fingerprint, versionId: randomUUID(), secretString: value, createdDate: now };
        stored[arn] = entry;
        changed = true;
      }
      secret.versions.push({
        versionId: entry.versionId,
        secretString: entry.secretString,
        createdDate: entry.createdDate,
        stages: [CURRENT],
      });
    }
    // Neither: an empty secret, with no version until PutSecretValue (as CloudFormation creates it).
    this.secrets.set(name, secret);
    return changed;
  }

  private readState(): Record<string, StoredSecret> {
    if (!this.statePath || !existsSync(this.statePath)) return {};
    try {
      const parsed = JSON.parse(readFileSync(this.statePath, 'utf8')) as Partial<StateFile>;
      return { ...(parsed.secrets ?? {}) };
    } catch (error) {
      this.context.log(`Secrets Manager: ${this.statePath} is unreadable (${(error as Error).message}); generated secrets get new values`);
      return {};
    }
  }

  private writeState(secrets: Record<string, StoredSecret>): void {
    if (!this.statePath) return;
    const state: StateFile = {
      note: "Local cloud only: generated values of the templates' Secrets Manager secrets, in plain text, kept so they survive restarts. Never used in AWS; do not commit.",
      secrets,
    };
    mkdirSync(join(this.statePath, '..'), { recursive: true });
    const temp = `${this.statePath}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, this.statePath);
  }

  // -----------------------------------------------------------------------------------------------
  // Lookup

  /** A secret by name, full ARN or partial ARN, including ones scheduled for deletion. */
  private find(secretId: string): Secret | undefined {
    this.purgeDeleted();
    const byName = this.secrets.get(secretId);
    if (byName) return byName;
    if (!secretId.startsWith('arn:')) return undefined;
    for (const secret of this.secrets.values()) {
      if (secret.arn === secretId) return secret;
      // A partial ARN: everything but the "-" and 6 random characters.
      if (secret.arn.length === secretId.length + 7 && secret.arn.startsWith(`${secretId}-`)) return secret;
    }
    return undefined;
  }

  private require(input: Record<string, unknown>): Secret {
    const id = input.SecretId;
    if (typeof id !== 'string' || id.length === 0) throw invalidParameter('SecretId is required.');
    if (id.length > 2048) throw invalidParameter('SecretId must be at most 2048 characters.');
    const secret = this.find(id);
    if (!secret) throw notFound();
    return secret;
  }

  private requireLive(input: Record<string, unknown>, action: string): Secret {
    const secret = this.require(input);
    if (secret.deletedDate !== undefined) {
      throw invalidRequest(`You can't perform this operation on the secret because it was marked for deletion. (${action})`);
    }
    return secret;
  }

  /** Completes scheduled deletions whose recovery window has passed (in virtual time). */
  private purgeDeleted(): void {
    const now = this.context.clock.now();
    for (const [name, secret] of this.secrets)
      if (secret.deletionDate !== undefined && secret.deletionDate <= now) this.secrets.delete(name);
  }

  private version(secret: Secret, versionId: string | undefined, stage: string | undefined): SecretVersion | undefined {
    if (versionId !== undefined) {
      const v = secret.versions.find((x) => x.versionId === versionId);
      return v && (stage === undefined || v.stages.includes(stage)) ? v : undefined;
    }
    return secret.versions.find((x) => x.stages.includes(stage ?? CURRENT));
  }

  // -----------------------------------------------------------------------------------------------
  // Reading

  private getSecretValue(input: Record<string, unknown>) {
    const secret = this.requireLive(input, 'GetSecretValue');
    return this.valueEntry(secret, optionalString(input, 'VersionId'), optionalString(input, 'VersionStage'));
  }

  private valueEntry(secret: Secret, versionId: string | undefined, stage: string | undefined) {
    const version = this.version(secret, versionId, stage);
    if (!version) {
      if (versionId !== undefined && stage !== undefined && secret.versions.some((v) => v.versionId === versionId)) {
        throw invalidParameter(`The version ${versionId} does not have the staging label ${stage}.`);
      }
      throw notFound(
        versionId !== undefined
          ? `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`
          : `Secrets Manager can't find the specified secret value for staging label: ${stage ?? CURRENT}`,
      );
    }
    // LastAccessedDate is kept to the day, as Secrets Manager does.
    secret.lastAccessedDate = Math.floor(this.context.clock.now() / DAY_MS) * DAY_MS;
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      ...(version.secretString !== undefined ? { SecretString: version.secretString } : {}),
      ...(version.secretBinary !== undefined ? { SecretBinary: version.secretBinary } : {}),
      VersionStages: [...version.stages],
      CreatedDate: seconds(version.createdDate),
    };
  }

  private batchGetSecretValue(input: Record<string, unknown>) {
    const ids = input.SecretIdList;
    const filters = input.Filters;
    if (ids !== undefined && filters !== undefined) throw invalidParameter('You can specify either SecretIdList or Filters, but not both.');
    if (ids === undefined && filters === undefined) throw invalidParameter('You must specify either SecretIdList or Filters.');
    if (ids !== undefined) {
      if (!Array.isArray(ids) || ids.length < 1 || ids.length > 20)
        throw invalidParameter('SecretIdList must have between 1 and 20 entries.');
      const values: unknown[] = [];
      const errors: unknown[] = [];
      for (const id of ids as unknown[]) {
        const secretId = String(id);
        try {
          const secret = this.requireLive({ SecretId: secretId }, 'BatchGetSecretValue');
          values.push(this.valueEntry(secret, undefined, CURRENT));
        } catch (error) {
          if (!(error instanceof AwsError)) throw error;
          errors.push({ SecretId: secretId, ErrorCode: error.code, Message: error.message });
        }
      }
      return { SecretValues: values, Errors: errors };
    }
    const { page, nextToken } = this.page(
      this.listed(false, filters).filter((s) => this.version(s, undefined, CURRENT)),
      input,
      20,
    );
    return {
      SecretValues: page.map((s) => this.valueEntry(s, undefined, CURRENT)),
      Errors: [],
      ...(nextToken ? { NextToken: nextToken } : {}),
    };
  }

  private describeSecret(input: Record<string, unknown>) {
    const secret = this.require(input);
    return {
      ...this.summary(secret),
      VersionIdsToStages: this.stagesMap(secret),
      RotationEnabled: false,
    };
  }

  private summary(secret: Secret) {
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description !== undefined ? { Description: secret.description } : {}),
      ...(secret.kmsKeyId !== undefined ? { KmsKeyId: secret.kmsKeyId } : {}),
      LastChangedDate: seconds(secret.lastChangedDate),
      ...(secret.lastAccessedDate !== undefined ? { LastAccessedDate: seconds(secret.lastAccessedDate) } : {}),
      ...(secret.deletedDate !== undefined ? { DeletedDate: seconds(secret.deletedDate) } : {}),
      ...(secret.tags.length > 0 ? { Tags: secret.tags } : {}),
      CreatedDate: seconds(secret.createdDate),
    };
  }

  private stagesMap(secret: Secret): Record<string, string[]> {
    return Object.fromEntries(secret.versions.filter((v) => v.stages.length > 0).map((v) => [v.versionId, [...v.stages]]));
  }

  private listSecrets(input: Record<string, unknown>) {
    const includeDeleted = input.IncludePlannedDeletion === true;
    let secrets = this.listed(includeDeleted, input.Filters);
    const order = input.SortOrder ?? 'asc';
    if (order !== 'asc' && order !== 'desc') throw invalidParameter('SortOrder must be asc or desc.');
    if (order === 'desc') secrets = secrets.reverse();
    const { page, nextToken } = this.page(secrets, input, 100);
    return {
      SecretList: page.map((s) => ({ ...this.summary(s), SecretVersionsToStages: this.stagesMap(s) })),
      ...(nextToken ? { NextToken: nextToken } : {}),
    };
  }

  /** Secrets matching `filters` (prefix matches, `!` negates), oldest first. */
  private listed(includeDeleted: boolean, filters: unknown): Secret[] {
    this.purgeDeleted();
    const parsed = parseFilters(filters);
    return [...this.secrets.values()]
      .filter((s) => includeDeleted || s.deletedDate === undefined)
      .filter((s) => parsed.every((f) => matchesFilter(s, f.key, f.values)))
      .sort((a, b) => a.createdDate - b.createdDate);
  }

  private page<T>(items: T[], input: Record<string, unknown>, max: number): { page: T[]; nextToken?: string } {
    const size = input.MaxResults === undefined ? max : Number(input.MaxResults);
    if (!Number.isInteger(size) || size < 1 || size > max) throw invalidParameter(`MaxResults must be between 1 and ${max}.`);
    let start = 0;
    if (input.NextToken !== undefined) {
      const match = /^offset:(\d{1,9})$/.exec(Buffer.from(String(input.NextToken), 'base64url').toString('utf8'));
      if (!match) throw new AwsError('InvalidNextTokenException', 'The NextToken value is invalid.');
      start = Number(match[1]);
    }
    const end = start + size;
    return {
      page: items.slice(start, end),
      nextToken: end < items.length ? Buffer.from(`offset:${end}`).toString('base64url') : undefined,
    };
  }

  // -----------------------------------------------------------------------------------------------
  // Writing

  private createSecret(input: Record<string, unknown>) {
    const name = input.Name;
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw invalidParameter('Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
    }
    const value = secretValue(input);
    const token = clientRequestToken(input);
    this.purgeDeleted();
    const existing = this.secrets.get(name);
    if (existing) {
      if (existing.deletedDate !== undefined) {
        throw invalidRequest(`You can't create this secret because a secret with this name is already scheduled for deletion.`);
      }
      // A retry of the same CreateSecret (same token, same value) answers as the first call did.
      const version = token ? existing.versions.find((v) => v.versionId === token) : undefined;
      if (version && sameValue(version, value)) return { ARN: existing.arn, Name: existing.name, VersionId: version.versionId };
      throw new AwsError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    }
    const now = this.context.clock.now();
    const secret: Secret = {
      arn: `arn:aws:secretsmanager:${this.context.model.region}:${this.context.model.accountId}:secret:${name}-${randomSuffix()}`,
      name,
      description: optionalString(input, 'Description'),
      kmsKeyId: optionalString(input, 'KmsKeyId'),
      tags: parseTags(input.Tags),
      createdDate: now,
      lastChangedDate: now,
      versions: [],
    };
    let versionId: string | undefined;
    if (value) versionId = this.addVersion(secret, value, token ?? randomUUID(), [CURRENT]).versionId;
    this.secrets.set(name, secret);
    return { ARN: secret.arn, Name: secret.name, ...(versionId ? { VersionId: versionId } : {}) };
  }

  private putSecretValue(input: Record<string, unknown>) {
    const secret = this.requireLive(input, 'PutSecretValue');
    const value = secretValue(input);
    if (!value) throw invalidParameter('You must provide either SecretString or SecretBinary.');
    const token = clientRequestToken(input) ?? randomUUID();
    let stages = [CURRENT];
    if (input.VersionStages !== undefined) {
      if (!Array.isArray(input.VersionStages) || input.VersionStages.length < 1 || input.VersionStages.length > 20) {
        throw invalidParameter('VersionStages must have between 1 and 20 labels.');
      }
      stages = (input.VersionStages as unknown[]).map(String);
    }
    const existing = secret.versions.find((v) => v.versionId === token);
    if (existing) {
      if (!sameValue(existing, value))
        throw new AwsError('ResourceExistsException', `You can't modify an existing version, you can only create a new version.`);
      return { ARN: secret.arn, Name: secret.name, VersionId: existing.versionId, VersionStages: [...existing.stages] };
    }
    const version = this.addVersion(secret, value, token, stages);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
  }

  private updateSecret(input: Record<string, unknown>) {
    const secret = this.requireLive(input, 'UpdateSecret');
    const value = secretValue(input);
    if (input.Description !== undefined) secret.description = String(input.Description);
    if (input.KmsKeyId !== undefined) secret.kmsKeyId = String(input.KmsKeyId);
    secret.lastChangedDate = this.context.clock.now();
    if (!value) return { ARN: secret.arn, Name: secret.name };
    const token = clientRequestToken(input) ?? randomUUID();
    const existing = secret.versions.find((v) => v.versionId === token);
    if (existing) {
      if (!sameValue(existing, value))
        throw new AwsError('ResourceExistsException', `You can't modify an existing version, you can only create a new version.`);
      return { ARN: secret.arn, Name: secret.name, VersionId: existing.versionId };
    }
    return { ARN: secret.arn, Name: secret.name, VersionId: this.addVersion(secret, value, token, [CURRENT]).versionId };
  }

  /**
   * Adds a version holding `stages`, taking each label off the version that had it; the version that
   * loses AWSCURRENT gets AWSPREVIOUS. Versions without labels are kept (up to 100 in all).
   */
  private addVersion(
    secret: Secret,
    value: { secretString?: string; secretBinary?: string },
    versionId: string,
    stages: string[],
  ): SecretVersion {
    const now = this.context.clock.now();
    const previousCurrent = stages.includes(CURRENT) ? secret.versions.find((v) => v.stages.includes(CURRENT)) : undefined;
    for (const v of secret.versions) v.stages = v.stages.filter((s) => !stages.includes(s));
    if (previousCurrent) {
      for (const v of secret.versions) v.stages = v.stages.filter((s) => s !== PREVIOUS);
      previousCurrent.stages.push(PREVIOUS);
    }
    const version: SecretVersion = { versionId, ...value, createdDate: now, stages: [...new Set(stages)] };
    secret.versions.push(version);
    while (secret.versions.length > MAX_VERSIONS) {
      const i = secret.versions.findIndex((v) => v.stages.length === 0);
      if (i < 0) break;
      secret.versions.splice(i, 1);
    }
    secret.lastChangedDate = now;
    return version;
  }

  private deleteSecret(input: Record<string, unknown>) {
    const secret = this.require(input);
    const force = input.ForceDeleteWithoutRecovery === true;
    if (force && input.RecoveryWindowInDays !== undefined) {
      throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    }
    const now = this.context.clock.now();
    if (force) {
      this.secrets.delete(secret.name);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(now) };
    }
    if (secret.deletedDate !== undefined) {
      throw invalidRequest("You can't perform this operation on the secret because it was already scheduled for deletion.");
    }
    const days = input.RecoveryWindowInDays === undefined ? 30 : Number(input.RecoveryWindowInDays);
    if (!Number.isInteger(days) || days < 7 || days > 30)
      throw invalidParameter('RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
    secret.deletedDate = now;
    secret.deletionDate = now + days * DAY_MS;
    return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(secret.deletionDate) };
  }

  private restoreSecret(input: Record<string, unknown>) {
    const secret = this.require(input);
    secret.deletedDate = undefined;
    secret.deletionDate = undefined;
    return { ARN: secret.arn, Name: secret.name };
  }
}

// -------------------------------------------------------------------------------------------------
// Input helpers

function optionalString(input: Record<string, unknown>, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(`${key} must be a string.`);
  return value;
}

function secretValue(input: Record<string, unknown>): { secretString?: string; secretBinary?: string } | undefined {
  const string = optionalString(input, 'SecretString');
  const binary = optionalString(input, 'SecretBinary');
  if (string !== undefined && binary !== undefined) {
    throw invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.");
  }
  if (string !== undefined) {
    if (Buffer.byteLength(string) > 65_536) throw invalidParameter('SecretString must be at most 65536 bytes.');
    return { secretString: string };
  }
  if (binary !== undefined) return { secretBinary: binary };
  return undefined;
}

function clientRequestToken(input: Record<string, unknown>): string | undefined {
  const token = optionalString(input, 'ClientRequestToken');
  if (token !== undefined && (token.length < 32 || token.length > 64))
    throw invalidParameter('ClientRequestToken must be 32 to 64 characters long.');
  return token;
}

function sameValue(version: SecretVersion, value: { secretString?: string; secretBinary?: string } | undefined): boolean {
  return version.secretString === value?.secretString && version.secretBinary === value?.secretBinary;
}

function passwordOptions(input: Record<string, unknown>): PasswordOptions {
  const flag = (key: string) => {
    const v = input[key];
    if (v !== undefined && typeof v !== 'boolean') throw invalidParameter(`${key} must be a boolean.`);
    return v as boolean | undefined;
  };
  return {
    PasswordLength: input.PasswordLength === undefined ? undefined : Number(input.PasswordLength),
    ExcludeCharacters: optionalString(input, 'ExcludeCharacters'),
    ExcludeNumbers: flag('ExcludeNumbers'),
    ExcludePunctuation: flag('ExcludePunctuation'),
    ExcludeUppercase: flag('ExcludeUppercase'),
    ExcludeLowercase: flag('ExcludeLowercase'),
    IncludeSpace: flag('IncludeSpace'),
    RequireEachIncludedType: flag('RequireEachIncludedType'),
  };
}

function parseTags(tags: unknown): Array<{ Key: string; Value: string }> {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) throw invalidParameter('Tags must be a list.');
  return tags.map((t: { Key?: unknown; Value?: unknown }) => ({ Key: String(t.Key), Value: String(t.Value ?? '') }));
}

const FILTER_KEYS = new Set(['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all']);

function parseFilters(filters: unknown): Array<{ key: string; values: string[] }> {
  if (filters === undefined) return [];
  if (!Array.isArray(filters)) throw invalidParameter('Filters must be a list.');
  return filters.map((f: { Key?: unknown; Values?: unknown }) => {
    const key = String(f.Key);
    if (!FILTER_KEYS.has(key)) throw invalidParameter(`Invalid filter key: ${key}`);
    if (!Array.isArray(f.Values) || f.Values.length === 0) throw invalidParameter(`Filter ${key} needs at least one value.`);
    return { key, values: f.Values.map(String) };
  });
}

/** One filter: any of its values matches (prefix, case-sensitive); a value starting with `!` must not. */
function matchesFilter(secret: Secret, key: string, values: string[]): boolean {
  const fields = (): string[] => {
    switch (key) {
      case 'name':
        return [secret.name];
      case 'description':
        return [secret.description ?? ''];
      case 'tag-key':
        return secret.tags.map((t) => t.Key);
      case 'tag-value':
        return secret.tags.map((t) => t.Value);
      case 'all':
        return [secret.name, secret.description ?? '', ...secret.tags.flatMap((t) => [t.Key, t.Value])];
      default:
        return [];
    }
  };
  const candidates = fields();
  const positive = values.filter((v) => !v.startsWith('!'));
  const negative = values.filter((v) => v.startsWith('!')).map((v) => v.slice(1));
  if (negative.some((v) => candidates.some((c) => c.startsWith(v)))) return false;
  return positive.length === 0 || positive.some((v) => candidates.some((c) => c.startsWith(v)));
}

function randomSuffix(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let s = '';
  for (let i = 0; i < 6; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** JSON with sorted keys, for fingerprints. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function uuidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
