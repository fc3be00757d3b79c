/**
 * Request bodies of the billing routes (DESIGN.md sections 4 and 5), validated at the edge
 * (STYLE 7): a failure is a 400 naming the field. Strict objects: an unknown field is a typo the
 * client should hear about, not something silently ignored.
 */
import { z } from 'zod';

/** A provider's payment token (`tok_ok`, a real provider's payment method id). */
export const paymentTokenSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'Expected a payment token such as tok_ok (letters, digits, "_" and "-")');

const idSchema = z.string().min(1).max(128);

export const subscribeBodySchema = z.strictObject({
  planId: z.string().min(1).max(64),
  paymentToken: paymentTokenSchema,
});

export const cancelBodySchema = z.strictObject({
  atPeriodEnd: z.boolean().default(true),
});

export const paymentMethodBodySchema = z.strictObject({
  paymentToken: paymentTokenSchema,
});

export const processPaymentBodySchema = z.discriminatedUnion('purpose', [
  z.strictObject({ purpose: z.literal('subscription'), subscriptionId: idSchema, paymentToken: paymentTokenSchema }),
  z.strictObject({ purpose: z.literal('booking'), bookingId: idSchema, paymentToken: paymentTokenSchema }),
]);
