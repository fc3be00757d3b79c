/**
 * The auth use cases (sign-up, login, refresh, logout) over the stores. No Lambda types: the
 * handler parses the request, calls one method and maps the result or the domain error. The stores
 * are interfaces (`UserStore` in users.ts, `LoginThrottle` in login-lockout.ts, `RefreshTokenStore`
 * below); their DynamoDB adapters are the `dynamo-*.ts` modules.
 */
import type { LoginBody, SignupBody } from './schemas';
import { InvalidCredentials, InvalidToken } from './errors';
import type { LoginThrottle } from './login-lockout';
import { hashPassword, verifyAgainstDummy, verifyPassword } from './password';
import type { AccessTokens } from './tokens';
import { withoutHash, type User, type UserStore } from './users';

export interface Session {
  readonly user: User;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Seconds until the access token expires. */
  readonly expiresIn: number;
}

/** Refresh tokens: opaque, single use (DynamoRefreshTokenStore in dynamo-refresh-tokens.ts). */
export interface RefreshTokenStore {
  /** A new token for the user. */
  issue(userId: string): Promise<string>;
  /**
   * Deletes the token and returns its user id; undefined when it is unknown, used, expired or
   * (with `userId`) someone else's.
   */
  consume(token: string, userId?: string): Promise<string | undefined>;
}

export interface AuthServiceDeps {
  readonly users: UserStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly throttle: LoginThrottle;
  readonly accessTokens: Pick<AccessTokens, 'issue'>;
}

export class AuthService {
  constructor(private readonly deps: AuthServiceDeps) {}

  /** `EmailTaken` when the email (any case) has an account. */
  async signup(input: SignupBody): Promise<Session> {
    const passwordHash = await hashPassword(input.password);
    const user = await this.deps.users.create({ email: input.email, name: input.name, passwordHash });
    return this.session(user);
  }

  /**
   * `TooManyAttempts` when the email's attempt budget is spent; `InvalidCredentials` for a wrong
   * email or password, after the same amount of hashing work either way. The attempt is reserved
   * before the password is checked, so concurrent logins cannot check more passwords than the
   * budget allows; a success clears it.
   */
  async login(input: LoginBody): Promise<Session> {
    await this.deps.throttle.reserve(input.email);
    const found = await this.deps.users.findByEmail(input.email);
    const valid = found ? await verifyPassword(input.password, found.passwordHash) : await verifyAgainstDummy(input.password);
    if (!found || !valid) throw new InvalidCredentials();
    await this.deps.throttle.reset(input.email);
    return this.session(withoutHash(found));
  }

  /** Rotates: the presented refresh token is used up and a new one issued. `InvalidToken` otherwise. */
  async refresh(refreshToken: string): Promise<Session> {
    const userId = await this.deps.refreshTokens.consume(refreshToken);
    const found = userId === undefined ? undefined : await this.deps.users.findById(userId);
    if (!found) throw new InvalidToken('Refresh token is invalid, used or expired');
    return this.session(withoutHash(found));
  }

  /**
   * Revokes the caller's refresh token. Idempotent and silent: an unknown, used or foreign token
   * is not an error, so logout reveals nothing about other users' tokens.
   */
  async logout(userId: string, refreshToken: string): Promise<void> {
    await this.deps.refreshTokens.consume(refreshToken, userId);
  }

  private async session(user: User): Promise<Session> {
    const [access, refreshToken] = await Promise.all([
      this.deps.accessTokens.issue({ userId: user.id, role: user.role }),
      this.deps.refreshTokens.issue(user.id),
    ]);
    return { user, accessToken: access.token, refreshToken, expiresIn: access.expiresIn };
  }
}
