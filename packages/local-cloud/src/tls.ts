/**
 * TLS material of the local cloud: a long-lived local certificate authority and a server
 * certificate for 127.0.0.1 / localhost signed by it.
 *
 * The CA is what clients trust (the Lambda workers add it to every TLS context, tests pass it as
 * `ca`, a developer may add `ca.pem` to a browser); the server certificate is what the wss:// and
 * https @connections endpoints present. Both are cached as PEM files in the state directory and
 * reused on the next start, so a CA trusted once stays valid: only a missing, unreadable or
 * expiring CA is replaced, while the shorter-lived server certificate is re-issued from the same
 * CA whenever it is missing, does not match the CA, or is close to expiry.
 */
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  /** PEM of the local certificate authority that Lambda workers (and tests) trust. */
  readonly caPem: string;
  /** PEM of the server certificate (SAN: 127.0.0.1, localhost) signed by the CA, and its key. */
  readonly certPem: string;
  readonly keyPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** The CA lives ten years: trusting it once is enough for the life of a checkout. */
const CA_VALIDITY_DAYS = 3650;
/** The server certificate lives a year (clients like browsers refuse longer-lived leaf certificates). */
const SERVER_VALIDITY_DAYS = 365;
/** Re-issue anything that expires within this margin. */
const RENEW_BEFORE_MS = 30 * DAY_MS;

const FILES = {
  caCert: 'ca.pem',
  caKey: 'ca-key.pem',
  cert: 'server.pem',
  key: 'server-key.pem',
} as const;

/** Loads the CA and server certificate from `dir`, creating them on first use. */
export async function loadOrCreateTls(dir: string): Promise<TlsMaterial> {
  mkdirSync(dir, { recursive: true });
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch {
      return undefined;
    }
  };

  let ca = { cert: read(FILES.caCert), key: read(FILES.caKey) };
  if (!validCa(ca.cert, ca.key)) {
    ca = await createCa();
    writePem(dir, FILES.caKey, ca.key!, true);
    writePem(dir, FILES.caCert, ca.cert!, false);
  }
  let server = { cert: read(FILES.cert), key: read(FILES.key) };
  if (!validServer(server.cert, server.key, ca.cert!)) {
    server = await createServerCertificate({ cert: ca.cert!, key: ca.key! });
    writePem(dir, FILES.key, server.key!, true);
    writePem(dir, FILES.cert, server.cert!, false);
  }
  return { caPem: ca.cert!, certPem: server.cert!, keyPem: server.key! };
}

async function createCa(): Promise<{ cert: string; key: string }> {
  const notBeforeDate = new Date(Date.now() - DAY_MS); // tolerate a clock slightly behind
  const result = await generate(
    [
      { name: 'commonName', value: `Local Cloud Development CA ${randomBytes(4).toString('hex')}` },
      { name: 'organizationName', value: 'Local Cloud (development only)' },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate: new Date(notBeforeDate.getTime() + CA_VALIDITY_DAYS * DAY_MS),
      extensions: [
        { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    },
  );
  return { cert: result.cert, key: result.private };
}

async function createServerCertificate(ca: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  const notBeforeDate = new Date(Date.now() - DAY_MS);
  const result = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + SERVER_VALIDITY_DAYS * DAY_MS),
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: result.cert, key: result.private };
}

function validCa(certPem: string | undefined, keyPem: string | undefined): boolean {
  if (!certPem || !keyPem) return false;
  try {
    const cert = new X509Certificate(certPem);
    return cert.ca && notExpiring(cert) && cert.checkPrivateKey(createPrivateKey(keyPem)) && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

function validServer(certPem: string | undefined, keyPem: string | undefined, caPem: string): boolean {
  if (!certPem || !keyPem) return false;
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return (
      notExpiring(cert) &&
      cert.checkIssued(ca) &&
      cert.verify(ca.publicKey) &&
      cert.checkPrivateKey(createPrivateKey(keyPem)) &&
      cert.checkIP('127.0.0.1') !== undefined &&
      cert.checkHost('localhost') !== undefined
    );
  } catch {
    return false;
  }
}

function notExpiring(cert: X509Certificate): boolean {
  const now = Date.now();
  return Date.parse(cert.validFrom) <= now && Date.parse(cert.validTo) - now > RENEW_BEFORE_MS;
}

/** Writes atomically (temp file + rename), so a concurrent start never reads half a file. */
function writePem(dir: string, name: string, pem: string, secret: boolean): void {
  const path = join(dir, name);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, pem, { mode: secret ? 0o600 : 0o644 });
  if (secret) chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
