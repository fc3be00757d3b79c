/**
 * Users: who they are, and what the auth use cases need from where they are kept (`UserStore`;
 * the domain table's adapter is `DynamoUserStore` in dynamo-users.ts). Emails are compared
 * lower-cased and unique regardless of case.
 */
import type { Role } from './tokens';

export interface User {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: string;
}

export interface UserWithHash extends User {
  readonly passwordHash: string;
}

export interface NewUser {
  readonly email: string;
  readonly name: string;
  readonly passwordHash: string;
  /** @default 'user' */
  readonly role?: Role;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface UserStore {
  /** Creates the user; `EmailTaken` when the email (in any case) already has an account. */
  create(input: NewUser): Promise<User>;
  findByEmail(email: string): Promise<UserWithHash | undefined>;
  findById(id: string): Promise<UserWithHash | undefined>;
}

export function withoutHash({ passwordHash: _hash, ...user }: UserWithHash): User {
  return user;
}
