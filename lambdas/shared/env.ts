/**
 * Configuration from the environment. Handlers read their variables at module scope through
 * `requireEnv`, so a function deployed without one fails at cold start with the variable's name
 * instead of on the first request with an `undefined` table name.
 */

export class MissingEnvError extends Error {
  constructor(readonly variable: string) {
    super(`Missing required environment variable ${variable}`);
    this.name = 'MissingEnvError';
  }
}

/** The value of `name`; throws {@link MissingEnvError} when it is unset or empty. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new MissingEnvError(name);
  }
  return value;
}
