/**
 * Wall-clock times in IANA time zones, with `Intl.DateTimeFormat` (no time-zone database of our
 * own): what a local time is at an instant, and which instants a local time has across DST
 * changes (none in a spring-forward gap, two in a fall-back overlap).
 */

/** A local date and time without a zone. `month` is 1-12. */
export interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is an IANA time zone this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time at instant `ms` in `timeZone`. */
export function toWallTime(ms: number, timeZone: string): WallTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  const year = parts.era === 'BC' ? 1 - Number(parts.year) : Number(parts.year);
  return {
    year,
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

/** The instant a wall time would be in UTC. */
export const wallAsUtc = (w: WallTime) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);

/** Offset of `timeZone` from UTC at instant `ms`, in ms (local = UTC + offset). */
export function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallAsUtc(toWallTime(whole, timeZone)) - whole;
}

/**
 * Every instant whose wall-clock time in `timeZone` is `wall`, earliest first: none in a
 * spring-forward gap, two in a fall-back overlap, one otherwise.
 */
export function instantsOf(wall: WallTime, timeZone: string): number[] {
  const local = wallAsUtc(wall);
  const offsets = new Set([
    offsetAt(local - 14 * 3_600_000, timeZone),
    offsetAt(local, timeZone),
    offsetAt(local + 14 * 3_600_000, timeZone),
  ]);
  const found = new Set<number>();
  for (const offset of offsets) {
    const candidate = local - offset;
    if (wallAsUtc(toWallTime(candidate, timeZone)) === local) found.add(candidate);
  }
  return [...found].sort((a, b) => a - b);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
