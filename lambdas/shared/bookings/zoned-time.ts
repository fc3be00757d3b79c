/**
 * Wall-clock time in an IANA time zone, with `Intl` only (no date library: the runtime's ICU has
 * the tz database, and Lambda's Node.js ships full ICU). A "wall" value is the local date and time
 * written as if it were UTC epoch milliseconds (`Date.UTC(y, m, d, h, min)`), so calendar
 * arithmetic on it is plain addition and never meets a DST rule; `instantsOfWall` turns it back
 * into real instants, which is where DST is decided.
 *
 * Relies on one property of the tz database: a zone changes its offset at most once in any 50
 * hours (true of every zone's rules today; Temporal's reference implementation assumes the same).
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** IANA names (`Europe/London`, `UTC`, `Etc/GMT+5`), not offsets such as `+05:30`. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

/** True when `name` is a time zone name this runtime knows. */
export function isTimeZone(name: string): boolean {
  if (name.length > 64 || !ZONE_NAME.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

// One formatter per zone: building one costs tens of microseconds, using one a few. Only zones of
// validated services reach this cache, so it stays as small as the set of zones in use.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall-clock time in `zone` at the instant `epochMs` (to the second). */
export function wallAt(zone: string, epochMs: number): number {
  const fields: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(epochMs)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  return Date.UTC(fields.year!, fields.month! - 1, fields.day!, fields.hour!, fields.minute!, fields.second!);
}

/** The zone's offset from UTC at the instant `epochMs`, in ms (+01:00 is 3,600,000). */
export function offsetAt(zone: string, epochMs: number): number {
  const second = Math.floor(epochMs / 1000) * 1000;
  return wallAt(zone, second) - second;
}

/**
 * Every instant at which the clocks of `zone` show `wall`, earliest first: one on an ordinary day,
 * none in the hour skipped when clocks go forward, two in the hour repeated when they go back.
 */
export function instantsOfWall(zone: string, wall: number): number[] {
  // The instant lies within 14 hours of `wall` (offsets run from -12:00 to +14:00), so the offsets a
  // day either side are the ones in force before and after any change near it.
  const candidates = new Set([wall - offsetAt(zone, wall - DAY_MS), wall - offsetAt(zone, wall + DAY_MS)]);
  return [...candidates].filter((instant) => wallAt(zone, instant) === wall).sort((a, b) => a - b);
}

/**
 * The offsets in force around one local day (the wall values `[dayWall, dayWall + 24 h)`): `before`
 * until the instant `changesAt`, `after` from it on; `changesAt` is `Infinity` on the ordinary day
 * when the offset does not change. The day's instants lie between 14 hours before and 36 hours
 * after `dayWall` read as UTC, so the change (at most one) is found between those two by bisection
 * to the second, about 18 lookups on the two days a year the clocks change, 2 on any other.
 */
export interface DayOffsets {
  readonly before: number;
  readonly after: number;
  readonly changesAt: number;
}

export function offsetsAroundDay(zone: string, dayWall: number): DayOffsets {
  let low = dayWall - 14 * HOUR_MS;
  let high = dayWall + 36 * HOUR_MS;
  const before = offsetAt(zone, low);
  const after = offsetAt(zone, high);
  if (before === after) return { before, after, changesAt: Number.POSITIVE_INFINITY };
  // Invariant: the offset at `low` is `before`, at `high` it is not; tz changes fall on whole seconds.
  while (high - low > 1000) {
    const middle = low + Math.floor((high - low) / 2000) * 1000;
    if (offsetAt(zone, middle) === before) low = middle;
    else high = middle;
  }
  return { before, after, changesAt: high };
}

/** `instantsOfWall` for a wall time of the day `offsets` describes, by arithmetic alone. */
export function instantsOfWallOn(offsets: DayOffsets, wall: number): number[] {
  const instants: number[] = [];
  const early = wall - offsets.before;
  const late = wall - offsets.after;
  if (early < offsets.changesAt) instants.push(early);
  if (late >= offsets.changesAt && late !== early) instants.push(late);
  return instants.sort((a, b) => a - b);
}
