/**
 * Dates as ROD writes them: date-times in Dutch local time with their offset
 * (2026-11-24T08:41:12+01:00), dates as plain civil dates. Civil dates are
 * computed as day numbers, so that adding days never trips over a DST change.
 */

const amsterdam = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Amsterdam',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'longOffset',
});

/** Offset of Europe/Amsterdam ('+01:00') by UTC hour: it only changes on a whole hour. */
const offsets = new Map<number, string>();
const HOUR_MS = 3_600_000;

function offsetAt(hour: number): string {
  let offset = offsets.get(hour);
  if (offset === undefined) {
    let name = 'GMT';
    for (const part of amsterdam.formatToParts(new Date(hour * HOUR_MS))) if (part.type === 'timeZoneName') name = part.value;
    // 'GMT+01:00', or plain 'GMT' at offset zero.
    offset = name.replace('GMT', '') || '+00:00';
    offsets.set(hour, offset);
  }
  return offset;
}

const two = (n: number) => String(n).padStart(2, '0');

/**
 * The wall-clock fields of an instant in Europe/Amsterdam. Intl is asked for
 * the offset once per hour and the fields are computed from it: formatting
 * every instant through Intl made generating a large feed slow (the simulator
 * generates 150,000 meldingen at start for the benchmark).
 */
function amsterdamParts(instant: Date): Record<string, string> {
  const t = instant.getTime();
  const timeZoneName = offsetAt(Math.floor(t / HOUR_MS));
  const sign = timeZoneName.startsWith('-') ? -1 : 1;
  const [h, m] = timeZoneName.slice(1).split(':').map(Number) as [number, number];
  const local = new Date(t + sign * (h * 60 + m) * 60_000);
  return {
    year: String(local.getUTCFullYear()).padStart(4, '0'),
    month: two(local.getUTCMonth() + 1),
    day: two(local.getUTCDate()),
    hour: two(local.getUTCHours()),
    minute: two(local.getUTCMinutes()),
    second: two(local.getUTCSeconds()),
    timeZoneName: `GMT${timeZoneName === '+00:00' ? '' : timeZoneName}`,
  };
}

/** An instant as an ISO date-time in Europe/Amsterdam with its UTC offset. */
export function formatDateTime(instant: Date): string {
  const p = amsterdamParts(instant);
  // 'GMT+01:00', or plain 'GMT' at offset zero.
  const offset = (p.timeZoneName ?? 'GMT').replace('GMT', '') || '+00:00';
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${offset}`;
}

/** The civil date (YYYY-MM-DD) of an instant in Europe/Amsterdam. */
export function amsterdamDate(instant: Date): string {
  const p = amsterdamParts(instant);
  return `${p.year}-${p.month}-${p.day}`;
}

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a civil date. */
export function dayNumber(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

/** The civil date of a day number. */
export function fromDayNumber(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return fromDayNumber(dayNumber(date) + days);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekday(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

/** Whole years between a birth date and a later date. */
export function ageOn(geboortedatum: string, on: string): number {
  const [by, bm, bd] = geboortedatum.split('-').map(Number) as [number, number, number];
  const [y, m, d] = on.split('-').map(Number) as [number, number, number];
  let age = y - by;
  if (m < bm || (m === bm && d < bd)) age -= 1;
  return age;
}

/** The hour (0–23) of an instant in Europe/Amsterdam. */
export function amsterdamHour(instant: Date): number {
  return Number(amsterdamParts(instant).hour);
}

/** The instant of a wall-clock time on a civil date in Europe/Amsterdam. */
export function amsterdamInstant(date: string, hour: number, minute: number): Date {
  const wall = Date.parse(`${date}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00Z`);
  // The offset at that moment (first guess: the offset at the same UTC time, right outside the one DST hour).
  const offset = formatDateTime(new Date(wall)).slice(19);
  const sign = offset.startsWith('-') ? -1 : 1;
  const [h, m] = offset.slice(1).split(':').map(Number) as [number, number];
  return new Date(wall - sign * (h * 60 + m) * 60_000);
}
