/**
 * Request bodies of the auth routes (DESIGN.md section 4). Strict: an unknown field is a 400 that
 * names it, so a typo (`passwd`) is not silently ignored.
 */
import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password';

const email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: 'Invalid email address' }))
  .transform((value) => value.toLowerCase());

const password = z
  .string()
  .min(PASSWORD_MIN_LENGTH, { message: `Must be at least ${PASSWORD_MIN_LENGTH} characters` })
  .max(PASSWORD_MAX_LENGTH, { message: `Must be at most ${PASSWORD_MAX_LENGTH} characters` });

const opaqueToken = z.string().min(1).max(512);

export const signupBodySchema = z.strictObject({
  email,
  password,
  name: z.string().trim().min(1).max(100),
});

/** Login does not enforce the password policy: a too-short guess is simply wrong, not malformed. */
export const loginBodySchema = z.strictObject({
  email,
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});

export const refreshBodySchema = z.strictObject({ refreshToken: opaqueToken });
export const logoutBodySchema = z.strictObject({ refreshToken: opaqueToken });

export type SignupBody = z.infer<typeof signupBodySchema>;
export type LoginBody = z.infer<typeof loginBodySchema>;
