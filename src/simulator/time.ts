/**
 * Dates as ROD writes them: date-times in Dutch local time with their offset
 * (2026-11-24T08:41:12+01:00), dates as plain civil dates. Civil dates are
 * computed as day numbers, so that adding days never trips over a DST change.
 *
 * The simulator generates up to 250,000 meldingen at start, each with a few
 * instants and a dozen civil dates, so these are on the hot path: Intl is
 * asked for Amsterdam's offset once per UTC hour (it only changes on a whole
 * hour) and civil dates are converted to and from day numbers once per day
 * (a feed spans a few thousand days: birth dates and the weeks around now).
 * Intl stays the source of the DST rules; only its answers are remembered.
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

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

interface Offset {
  /** Minutes east of UTC. */
  minutes: number;
  /** As ROD writes it: '+01:00'. */
  text: string;
}

/** Offset of Europe/Amsterdam by UTC hour number. */
const offsets = new Map<number, Offset>();

function offsetAt(hour: number): Offset {
  let offset = offsets.get(hour);
  if (offset === undefined) {
    let name = 'GMT';
    for (const part of amsterdam.formatToParts(new Date(hour * HOUR_MS))) if (part.type === 'timeZoneName') name = part.value;
    // 'GMT+01:00', or plain 'GMT' at offset zero.
    const text = name.replace('GMT', '') || '+00:00';
    const sign = text.startsWith('-') ? -1 : 1;
    const [h, m] = text.slice(1).split(':').map(Number) as [number, number];
    offset = { minutes: sign * (h * 60 + m), text };
    offsets.set(hour, offset);
  }
  return offset;
}

/** '00' … '59': the two-digit fields of a time. */
const TWO = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));

/** The local time of an instant in Amsterdam, in milliseconds since 1970-01-01T00:00 local, and its offset. */
function local(instant: Date): { ms: number; offset: Offset } {
  const t = instant.getTime();
  const offset = offsetAt(Math.floor(t / HOUR_MS));
  return { ms: t + offset.minutes * MINUTE_MS, offset };
}

/** An instant as an ISO date-time in Europe/Amsterdam with its UTC offset. */
export function formatDateTime(instant: Date): string {
  const { ms, offset } = local(instant);
  const day = Math.floor(ms / DAY_MS);
  const seconds = Math.floor((ms - day * DAY_MS) / 1000);
  const hour = Math.floor(seconds / 3600);
  const minute = Math.floor((seconds % 3600) / 60);
  // join, not a template: that gives a flat string, where a template gives a
  // tree of five concatenations that every stored melddatum kept alive.
  return [fromDayNumber(day), 'T', TWO[hour], ':', TWO[minute], ':', TWO[seconds % 60], offset.text].join('');
}

/** The civil date (YYYY-MM-DD) of an instant in Europe/Amsterdam. */
export function amsterdamDate(instant: Date): string {
  return fromDayNumber(Math.floor(local(instant).ms / DAY_MS));
}

/** The hour (0–23) of an instant in Europe/Amsterdam. */
export function amsterdamHour(instant: Date): number {
  const { ms } = local(instant);
  return Math.floor((ms - Math.floor(ms / DAY_MS) * DAY_MS) / HOUR_MS);
}

/** Day numbers of the civil dates seen so far, and the other way round. */
const dayNumbers = new Map<string, number>();
const dates = new Map<number, string>();

/** Days since 1970-01-01 of a civil date. */
export function dayNumber(date: string): number {
  let day = dayNumbers.get(date);
  if (day === undefined) {
    day = Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
    // Only real dates are remembered: a malformed one (NaN) must not fill the cache.
    if (Number.isFinite(day)) dayNumbers.set(date, day);
  }
  return day;
}

/** The civil date of a day number. */
export function fromDayNumber(day: number): string {
  let date = dates.get(day);
  if (date === undefined) {
    date = new Date(day * DAY_MS).toISOString().slice(0, 10);
    dates.set(day, date);
  }
  return date;
}

export function addDays(date: string, days: number): string {
  return fromDayNumber(dayNumber(date) + days);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekday(date: string): number {
  // 1970-01-01 was a Thursday.
  return (((dayNumber(date) + 4) % 7) + 7) % 7;
}

/** Whole years between a birth date and a later date. */
export function ageOn(geboortedatum: string, on: string): number {
  if (geboortedatum.length === 10 && on.length === 10) {
    // YYYY-MM-DD: the years differ by one less when the birthday (MM-DD, zero-padded, so compared as text) is still to come.
    const age = Number(on.slice(0, 4)) - Number(geboortedatum.slice(0, 4));
    return on.slice(5) < geboortedatum.slice(5) ? age - 1 : age;
  }
  const [by, bm, bd] = geboortedatum.split('-').map(Number) as [number, number, number];
  const [y, m, d] = on.split('-').map(Number) as [number, number, number];
  let age = y - by;
  if (m < bm || (m === bm && d < bd)) age -= 1;
  return age;
}

/** The instant of a wall-clock time on a civil date in Europe/Amsterdam. */
export function amsterdamInstant(date: string, hour: number, minute: number): Date {
  const wall = dayNumber(date) * DAY_MS + hour * HOUR_MS + minute * MINUTE_MS;
  // The offset at that moment (first guess: the offset at the same UTC time, right outside the one DST hour).
  return new Date(wall - offsetAt(Math.floor(wall / HOUR_MS)).minutes * MINUTE_MS);
}
