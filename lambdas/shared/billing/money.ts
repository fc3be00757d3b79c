/**
 * Money as integer minor units with an ISO 4217 currency (DESIGN.md section 4): `{amount: 999,
 * currency: "USD"}` is $9.99. Never a float: sums and comparisons are exact.
 */
import { z } from 'zod';

/** Currencies the platform charges in. Each has two minor-unit digits. */
export const CURRENCIES = ['USD', 'EUR', 'GBP'] as const;
export type Currency = (typeof CURRENCIES)[number];

/** Largest amount one charge may carry: $1,000,000.00; far above any plan, far below 2^53. */
export const MAX_AMOUNT = 100_000_000;

export const moneySchema = z.strictObject({
  amount: z.number().int('Expected an integer number of minor units (999 is 9.99)').positive().max(MAX_AMOUNT),
  currency: z.enum(CURRENCIES),
});
export type Money = z.infer<typeof moneySchema>;
