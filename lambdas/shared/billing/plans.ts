/**
 * The plan catalog (DESIGN.md section 5). Plans are code, not table items: a fresh deploy and a
 * fresh `npm start` have them with no seeding step, and a price is immutable once published (a
 * new price is a new plan id, so a subscription keeps the terms it was sold; docs/decisions.md).
 * A subscription copies its plan's price and interval when it starts.
 */
import type { Currency } from './money';

export type Interval = 'month' | 'year';

export interface Plan {
  readonly id: string;
  readonly name: string;
  readonly amount: number;
  readonly currency: Currency;
  readonly interval: Interval;
  readonly intervalCount: number;
}

export const PLANS: readonly Plan[] = [
  { id: 'basic-monthly', name: 'Basic', amount: 999, currency: 'USD', interval: 'month', intervalCount: 1 },
  { id: 'pro-monthly', name: 'Pro', amount: 2_900, currency: 'USD', interval: 'month', intervalCount: 1 },
  { id: 'pro-yearly', name: 'Pro (yearly)', amount: 29_000, currency: 'USD', interval: 'year', intervalCount: 1 },
];

export function findPlan(id: string): Plan | undefined {
  return PLANS.find((plan) => plan.id === id);
}
