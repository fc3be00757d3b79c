/**
 * Password hashing with scrypt (node:crypto): a random 16-byte salt per hash and the cost
 * parameters stored with it, so they can be raised later without invalidating stored hashes
 * (a hash is verified with its own parameters).
 *
 * Stored format: `scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>`.
 *
 * `verifyPassword` compares in constant time; `verifyAgainstDummy` does the same work for an email
 * without an account, so wrong email and wrong password take the same time.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/**
 * 2^15 × 8 × 128 B = 32 MiB of memory per hash: well above OWASP's scrypt minimum (2^13..2^17
 * with r 8) while a 1 GB Lambda hashes in well under 100 ms. Raise N with memory, never lower it.
 */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PREFIX = 'scrypt';
/** Bounds on stored parameters, so a corrupt hash cannot make verification allocate gigabytes. */
const MAX_N = 2 ** 20;

function scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // Node refuses above 32 MiB by default; allow what the parameters need, plus headroom.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, params);
  return [PREFIX, params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

interface ParsedHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

function parseHash(stored: string): ParsedHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const validN = Number.isInteger(N) && N > 1 && N <= MAX_N && (N & (N - 1)) === 0;
  if (!validN || !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || key.length !== KEY_BYTES) return undefined;
  return { params: { N, r, p }, salt, key };
}

/** Whether `password` matches `stored`. A malformed stored hash never matches (and never throws). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const candidate = await scrypt(password, parsed.salt, parsed.params);
  return timingSafeEqual(candidate, parsed.key);
}

let dummyHash: Promise<string> | undefined;

/**
 * Computes the throwaway hash ahead of the first request that needs it; call at module scope of
 * a handler, so the first unknown-email login does not pay for two hashes.
 */
export function primeDummyHash(): void {
  dummyHash ??= hashPassword(randomBytes(16).toString('base64url'));
  // A failure resurfaces (and is handled) when a login awaits it.
  dummyHash.catch(() => undefined);
}

/**
 * Runs a full verification against a throwaway hash with the default parameters and returns
 * false. Used when the email has no account, so the response time does not reveal that.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  primeDummyHash();
  await verifyPassword(password, await dummyHash!);
  return false;
}
