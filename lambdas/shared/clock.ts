/**
 * Time as a dependency. Domain code takes a `Clock` instead of calling `new Date()`, so tests (and
 * the local cloud's virtual clock) control what "now" is.
 */

export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** Whole seconds since the epoch, the unit DynamoDB TTL attributes use. */
export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
