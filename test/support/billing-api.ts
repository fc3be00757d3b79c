/**
 * What the billing end-to-end files share (test/e2e/billing*.test.ts): the HTTP API as a user
 * calls it, users who can log in again after the clock moved (access tokens live an hour), the
 * local cloud's clock, and the resources of the template by logical id.
 *
 * `billingApi(platform, tag)` answers at once; its functions read the platform when called, so
 * call them inside tests and hooks only (as `usePlatform` asks).
 */
import { expect } from 'vitest';
import type { Platform } from './platform';

export interface BillingUser {
  readonly email: string;
  readonly userId: string;
  accessToken: string;
}

export interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of the API, asserted field by field
  readonly body: any;
  readonly headers: Headers;
}

const PASSWORD = 'correct-horse-battery';

export function billingApi(platform: Platform, tag: string, onUser: (user: BillingUser) => void = () => {}) {
  let users = 0;

  async function call(method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${platform.cloud.endpoints.httpUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  async function control(path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${platform.cloud.endpoints.controlUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return res.json();
  }

  return {
    call,
    control,

    /** A new signed-up user (`onUser` hears of it, e.g. to clean up after the test). */
    async newUser(name: string): Promise<BillingUser> {
      const email = `${tag}-${name}-${process.pid}-${++users}@example.com`;
      const res = await call('POST', '/api/v1/auth/signup', undefined, { email, password: PASSWORD, name });
      expect(res.status).toBe(201);
      const user = { email, userId: res.body.user.id, accessToken: res.body.accessToken };
      onUser(user);
      return user;
    },

    /** Access tokens live an hour: after moving the clock, log in again. */
    async relogin(user: BillingUser): Promise<void> {
      const res = await call('POST', '/api/v1/auth/login', undefined, { email: user.email, password: PASSWORD });
      expect(res.status).toBe(200);
      user.accessToken = res.body.accessToken;
    },

    status: async (user: BillingUser) => (await call('GET', '/api/v1/subscriptions/status', user.accessToken)).body,
    history: async (user: BillingUser) =>
      (await call('GET', '/api/v1/payments/history?limit=100', user.accessToken)).body.payments as Record<string, unknown>[],

    /** The virtual clock's time. */
    now: async () => new Date(((await control('/clock')) as { now: string }).now),

    /** Moves the virtual clock (firing every schedule on the way), then waits for the queues to drain. */
    async advanceTo(at: Date | string | number): Promise<void> {
      await control('/clock/advance', { to: new Date(at).toISOString() });
      await control('/settled');
    },

    /** The one resource of `type` whose logical id is `prefix` and CDK's hash, as endpoints.json describes it. */
    resource(type: string, prefix: string): { physicalId: string; url?: string } {
      const found = Object.values(platform.cloud.endpoints.resources)
        .flatMap((stack) => Object.entries(stack))
        .filter(([logicalId, r]) => r.type === type && new RegExp(`^${prefix}[0-9A-F]{8}$`).test(logicalId));
      expect(
        found.map(([logicalId]) => logicalId),
        `${type} ${prefix}*`,
      ).toHaveLength(1);
      return found[0]![1] as { physicalId: string; url?: string };
    },
  };
}
