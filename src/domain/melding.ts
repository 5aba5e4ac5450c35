/**
 * The melding as ROD serves it, in DUO's own words. Every feed item is the
 * full state of one melding as of one mutation (volgnummer).
 */

export interface Adres {
  straatnaam: string;
  huisnummer: number;
  huisletter?: string;
  huisnummertoevoeging?: string;
  postcode: string;
  woonplaats: string;
}

export interface Leerling {
  bsn?: string;
  onderwijsnummer?: string;
  voornamen: string;
  voorvoegsel?: string;
  geslachtsnaam: string;
  geboortedatum: string;
  geslacht?: 'M' | 'V' | 'X' | 'O';
  adres?: Adres;
}

export interface Instelling {
  instellingscode: string;
  vestigingsnummer?: string;
  onderwijslocatiecode?: string;
  naam: string;
  sector?: 'PO' | 'SO' | 'VO' | 'MBO';
}

export interface Melder {
  naam: string;
  functie?: string;
  telefoonnummer?: string;
  emailadres?: string;
}

export interface Verzuimperiode {
  begindatum: string;
  einddatum?: string | null;
}

export interface Verzuimmelding {
  meldingsnummer: string;
  volgnummer: number;
  gemeentecode: string;
  /** Extensible: codes beyond KNOWN_VERZUIMSOORTEN can appear at any time. */
  verzuimsoort: string;
  /** Extensible: statuses beyond KNOWN_STATUSES can appear at any time. */
  status: string;
  melddatum: string;
  gewijzigdOp: string;
  verzuimperiode: Verzuimperiode;
  aantalUrenVerzuim?: number;
  vermoedelijkeReden?: string;
  toelichting?: string;
  leerling: Leerling;
  instelling: Instelling;
  melder?: Melder;
}

/** Known verzuimsoort codes and the labels people see. */
export const VERZUIMSOORT_LABELS = {
  ZESTIEN_UUR: '16 uur in 4 weken',
  LANGDURIG_RELATIEF: 'Langdurig relatief verzuim',
  LUXE: 'Luxe verzuim',
  DOORSTROOMPUNT_18PLUS: 'Doorstroompunt 18-plus verzuim',
  OVERIG: 'Overig verzuim',
} as const;

export type KnownVerzuimsoort = keyof typeof VERZUIMSOORT_LABELS;
export const KNOWN_VERZUIMSOORTEN = Object.keys(VERZUIMSOORT_LABELS) as KnownVerzuimsoort[];

export function isKnownVerzuimsoort(code: string): code is KnownVerzuimsoort {
  return Object.hasOwn(VERZUIMSOORT_LABELS, code);
}

/** The label for a code; an unknown code is shown as itself. */
export function verzuimsoortLabel(code: string): string {
  return isKnownVerzuimsoort(code) ? VERZUIMSOORT_LABELS[code] : code;
}

export const STATUS_LABELS = {
  GEREGISTREERD: 'Geregistreerd',
  IN_BEHANDELING: 'In behandeling',
  AFGESLOTEN: 'Afgesloten',
  INGETROKKEN: 'Ingetrokken',
  TER_KENNISGEVING_AANGENOMEN: 'Ter kennisgeving aangenomen',
  OVERGEDRAGEN_AAN_DERDEN: 'Overgedragen aan derden',
} as const;

export type KnownStatus = keyof typeof STATUS_LABELS;

export function isKnownStatus(code: string): code is KnownStatus {
  return Object.hasOwn(STATUS_LABELS, code);
}

export function statusLabel(code: string): string {
  return isKnownStatus(code) ? STATUS_LABELS[code] : code;
}

/**
 * Open means someone still has to act. An unknown status counts as open:
 * one mail too many beats a melding nobody sees.
 */
export function isOpenStatus(status: string): boolean {
  if (status === 'GEREGISTREERD' || status === 'IN_BEHANDELING') return true;
  return !isKnownStatus(status);
}

/** Statuses only the municipality sets; a change to one of them is never news to the municipality. */
export const MUNICIPALITY_STATUSES: readonly string[] = ['IN_BEHANDELING', 'AFGESLOTEN', 'TER_KENNISGEVING_AANGENOMEN'];

/** 11-proef for a BSN: weights 9..2 and -1 over the nine digits, sum divisible by 11. */
export function passesElfproef(bsn: string): boolean {
  if (!/^[0-9]{9}$/.test(bsn)) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += Number(bsn[i]) * (9 - i);
  sum -= Number(bsn[8]);
  return sum % 11 === 0 && bsn !== '000000000';
}
