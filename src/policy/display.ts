/**
 * How values from a melding are written for people: Dutch dates, hours with a
 * decimal comma, names and addresses the way a Dutch reader expects them.
 * Shared by the change list the policy produces and by the mail itself, so a
 * value reads the same in "Wat is er gewijzigd" as in the melding below it.
 */
import type { Adres, Leerling, Verzuimperiode } from '../domain/melding.js';

const MONTHS = [
  'januari', 'februari', 'maart', 'april', 'mei', 'juni',
  'juli', 'augustus', 'september', 'oktober', 'november', 'december',
] as const;

/** The zone the people reading the mail live in; ROD's timestamps carry any offset. */
export const DISPLAY_TIME_ZONE = 'Europe/Amsterdam';

function dutchDate(year: number, month: number, day: number): string | undefined {
  const name = MONTHS[month - 1];
  if (name === undefined || day < 1 || day > 31) return undefined;
  return `${day} ${name} ${year}`;
}

/** '2026-11-24' → '24 november 2026'. Anything that is not such a date is shown as it came. */
export function formatDate(isoDate: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!match) return isoDate;
  return dutchDate(Number(match[1]), Number(match[2]), Number(match[3])) ?? isoDate;
}

const zoneParts = new Intl.DateTimeFormat('en-GB', {
  timeZone: DISPLAY_TIME_ZONE,
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/**
 * '2026-11-24T08:15:00Z' → '24 november 2026 om 09:15' (Amsterdam time, so
 * summer and winter time come out right). Unparseable input is shown as it came.
 */
export function formatDateTime(isoDateTime: string): string {
  const instant = new Date(isoDateTime);
  if (Number.isNaN(instant.getTime())) return isoDateTime;
  const parts: Record<string, string> = {};
  for (const part of zoneParts.formatToParts(instant)) parts[part.type] = part.value;
  const date = dutchDate(Number(parts.year), Number(parts.month), Number(parts.day));
  if (date === undefined) return isoDateTime;
  return `${date} om ${parts.hour}:${parts.minute}`;
}

/** 12.5 → '12,5'; 16 → '16'. No rounding: the number is what the school reported. */
export function formatHours(hours: number): string {
  return String(hours).replace('.', ',');
}

/** '3511AX' → '3511 AX', the way a postcode is written on an envelope. */
export function formatPostcode(postcode: string): string {
  const match = /^([1-9][0-9]{3}) ?([A-Za-z]{2})$/.exec(postcode);
  return match ? `${match[1]} ${match[2]!.toUpperCase()}` : postcode;
}

/** Voornamen, voorvoegsel and geslachtsnaam: 'Sanne Maria van den Berg'. */
export function fullName(leerling: Pick<Leerling, 'voornamen' | 'voorvoegsel' | 'geslachtsnaam'>): string {
  return [leerling.voornamen, leerling.voorvoegsel, leerling.geslachtsnaam]
    .map((part) => part?.trim())
    .filter((part): part is string => !!part)
    .join(' ');
}

/** Huisnummer, huisletter and toevoeging: '112a', '7-2', '30b-bis'. */
export function formatHouseNumber(adres: Pick<Adres, 'huisnummer' | 'huisletter' | 'huisnummertoevoeging'>): string {
  const toevoeging = adres.huisnummertoevoeging?.trim();
  return `${adres.huisnummer}${adres.huisletter ?? ''}${toevoeging ? `-${toevoeging}` : ''}`;
}

/** ['Oudegracht 112a', '3511 AX Utrecht']: street line, then postcode and place. */
export function addressLines(adres: Adres): [string, string] {
  return [
    `${adres.straatnaam} ${formatHouseNumber(adres)}`,
    `${formatPostcode(adres.postcode)} ${adres.woonplaats}`,
  ];
}

/** '2 november 2026 t/m 20 november 2026', or 'vanaf 2 november 2026 (nog geen einddatum)'. */
export function formatPeriode(periode: Verzuimperiode): string {
  const begin = formatDate(periode.begindatum);
  return periode.einddatum ? `${begin} t/m ${formatDate(periode.einddatum)}` : `vanaf ${begin} (nog geen einddatum)`;
}
