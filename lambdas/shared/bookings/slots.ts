/**
 * Slots (DESIGN.md section 6): the service's weekly availability, in its own time zone, cut into
 * slots of its duration, answered as UTC instants with the seats left.
 *
 * The grid is wall-clock: each window is cut from its start every `durationMinutes` of local time,
 * and a slot is kept when its local end (start + duration) is within the window. So a 09:00 slot is
 * at 09:00 local on both sides of a DST change (08:00Z in winter, 07:00Z in summer for London).
 * A slot's `end` is its start plus the duration in real time. Around a change of the clocks:
 * - **Forward** (a local hour is skipped): a grid time that does not exist that day gives no slot
 *   (never a time shifted out of the gap), and a slot that would start before the previous slot
 *   ends in real time (its wall-clock gap is shorter than the duration) is dropped too.
 * - **Back** (a local hour is repeated): a grid time that happens twice is taken at its first
 *   occurrence, once; the repeated hour gives no second slot.
 * So the slots of a service are always in order and never overlap, and which slots exist depends
 * only on the service, never on the range asked for: `slotAt` and `slotsBetween` agree.
 *
 * A range is `[from, to)` on the slot's start, at most 31 days, and only slots starting after
 * `now` (strictly) are offered. Time zone rules come from the runtime's ICU (`zoned-time.ts`).
 */
import { z } from 'zod';
import { BadRequestError } from '../errors';
import { minuteOfDay, type Service, WEEKDAY_BY_UTC_DAY } from './services';
import { DAY_MS, instantsOfWallOn, MINUTE_MS, offsetsAroundDay, wallAt } from './zoned-time';

export const MAX_SLOT_RANGE_DAYS = 31;
export const MAX_SLOT_RANGE_MS = MAX_SLOT_RANGE_DAYS * DAY_MS;

/** A slot as `GET /services/{id}/slots` answers it. */
export interface Slot {
  /** UTC ISO 8601; also the key of the slot's taken-seats counter. */
  readonly start: string;
  readonly end: string;
  /** Seats left: capacity minus seats taken, never below 0. */
  readonly remaining: number;
}

/** A slot's place in time, without its seats. */
export interface SlotTime {
  readonly start: string;
  readonly end: string;
}

type SlotSource = Pick<Service, 'durationMinutes' | 'timeZone' | 'availability'>;

/**
 * The query of `GET /services/{id}/slots?from&to`: ISO 8601 instants (an offset is allowed, `Z`
 * preferred), `to` after `from` and at most 31 days later.
 */
export const slotsQuerySchema = z
  .strictObject({
    from: z.iso.datetime({ offset: true, error: 'from must be an ISO 8601 date-time such as 2026-03-30T00:00:00Z' }),
    to: z.iso.datetime({ offset: true, error: 'to must be an ISO 8601 date-time such as 2026-04-30T00:00:00Z' }),
  })
  .transform(({ from, to }) => ({ from: new Date(from), to: new Date(to) }))
  .superRefine(({ from, to }, ctx) => {
    const problem = rangeProblem(from, to);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['to'] });
  });

function rangeProblem(from: Date, to: Date): string | undefined {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return 'from and to must be valid instants';
  if (to.getTime() <= from.getTime()) return 'to must be after from';
  if (to.getTime() - from.getTime() > MAX_SLOT_RANGE_MS) return `The range may span at most ${MAX_SLOT_RANGE_DAYS} days`;
  return undefined;
}

export interface SlotsRange {
  readonly from: Date;
  readonly to: Date;
  /** Only slots starting strictly after `now` are offered. */
  readonly now: Date;
}

/**
 * The service's future slots with their start in `[from, to)`, in order, each with the seats left
 * given `taken` (seats taken per slot start, as UTC ISO strings; absent means none). Throws a 400
 * for a range that is empty, reversed or longer than 31 days, whoever forgot to validate it.
 */
export function slotsBetween(
  service: SlotSource & Pick<Service, 'capacity'>,
  range: SlotsRange,
  taken: ReadonlyMap<string, number> = new Map(),
): Slot[] {
  const problem = rangeProblem(range.from, range.to);
  if (problem) throw new BadRequestError(problem, [{ field: 'to', message: problem }]);
  const from = Math.max(range.from.getTime(), range.now.getTime() + 1);
  return slotTimes(service, from, range.to.getTime()).map(({ start, end }) => ({
    start,
    end,
    remaining: Math.max(0, service.capacity - (taken.get(start) ?? 0)),
  }));
}

/**
 * The slot that starts exactly at `start`, if the service has one there and it is still in the
 * future; `undefined` for an off-grid, closed, nonexistent-local-time or past start (a 400 to the
 * client). Any spelling of the instant matches; the answer carries the canonical ISO strings.
 */
export function slotAt(service: SlotSource, start: Date, now: Date): SlotTime | undefined {
  const at = start.getTime();
  if (Number.isNaN(at) || at <= now.getTime()) return undefined;
  return slotTimes(service, at, at + 1)[0];
}

/** Slots with their start in `[fromMs, toMs)`, computed with their context so the range never changes them. */
function slotTimes(service: SlotSource, fromMs: number, toMs: number): SlotTime[] {
  if (toMs <= fromMs) return [];
  const zone = service.timeZone;
  const durationMs = service.durationMinutes * MINUTE_MS;
  // Local days to walk: from two days before `from`'s (whose slots decide which ones overlap at the
  // start of the range; no slot is longer than 8 hours) to the day of `to`.
  const firstDay = startOfDay(wallAt(zone, fromMs)) - 2 * DAY_MS;
  const lastDay = startOfDay(wallAt(zone, toMs));
  const slots: SlotTime[] = [];
  let previousEnd = Number.NEGATIVE_INFINITY;
  for (let day = firstDay; day <= lastDay; day += DAY_MS) {
    const windows = service.availability[WEEKDAY_BY_UTC_DAY[new Date(day).getUTCDay()]!] ?? [];
    if (windows.length === 0) continue;
    const offsets = offsetsAroundDay(zone, day);
    const ordered = [...windows].sort((a, b) => minuteOfDay(a.start) - minuteOfDay(b.start));
    for (const window of ordered) {
      const windowEnd = minuteOfDay(window.end);
      for (let minute = minuteOfDay(window.start); minute + service.durationMinutes <= windowEnd; minute += service.durationMinutes) {
        const wall = day + minute * MINUTE_MS;
        // The earliest instant showing this wall time; none in a skipped hour.
        const start = instantsOfWallOn(offsets, wall)[0];
        if (start === undefined || start < previousEnd) continue;
        previousEnd = start + durationMs;
        if (start >= fromMs && start < toMs) {
          slots.push({ start: new Date(start).toISOString(), end: new Date(previousEnd).toISOString() });
        }
      }
    }
  }
  return slots;
}

function startOfDay(wall: number): number {
  return Math.floor(wall / DAY_MS) * DAY_MS;
}
