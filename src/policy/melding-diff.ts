/**
 * What changed between two states of one melding, field by field, in words a
 * leerplichtambtenaar reads. The same comparison tells the policy whether the
 * content changed (a reason to mail) and tells the Gewijzigd mail what to say.
 */
import { statusLabel, verzuimsoortLabel, type Verzuimmelding } from '../domain/melding.js';
import { formatDate, formatHours, formatPostcode } from './display.js';

export interface FieldChange {
  /** Dotted path in the melding: 'verzuimperiode.einddatum', 'leerling.adres.straatnaam', 'status'. */
  field: string;
  /** Dutch label for people: 'Einddatum verzuimperiode', 'Straatnaam (leerling)'. */
  label: string;
  /** Display values; null when the field was (or became) absent. */
  from: string | null;
  to: string | null;
  /**
   * True when the values are personal data (of the pupil or of the reporter),
   * so a minimal mail, a log line or an audit entry can name the field without
   * the values.
   */
  personal: boolean;
}

interface FieldSpec {
  label: string;
  personal: boolean;
  show?: (value: string | number) => string;
}

const date = (value: string | number) => formatDate(String(value));

/**
 * Every field of the content DUO defines, in the order a reader expects them.
 * vermoedelijkeReden and toelichting count as personal: they describe the
 * pupil in the school's own words and may well mention health or family.
 */
const FIELDS: Record<string, FieldSpec> = {
  status: { label: 'Status', personal: false, show: (v) => statusLabel(String(v)) },
  verzuimsoort: { label: 'Verzuimsoort', personal: false, show: (v) => verzuimsoortLabel(String(v)) },
  'verzuimperiode.begindatum': { label: 'Begindatum verzuimperiode', personal: false, show: date },
  'verzuimperiode.einddatum': { label: 'Einddatum verzuimperiode', personal: false, show: date },
  aantalUrenVerzuim: { label: 'Aantal uren verzuim', personal: false, show: (v) => (typeof v === 'number' ? formatHours(v) : v) },
  vermoedelijkeReden: { label: 'Vermoedelijke reden', personal: true },
  toelichting: { label: 'Toelichting', personal: true },
  'leerling.bsn': { label: 'BSN (leerling)', personal: true },
  'leerling.onderwijsnummer': { label: 'Onderwijsnummer (leerling)', personal: true },
  'leerling.voornamen': { label: 'Voornamen (leerling)', personal: true },
  'leerling.voorvoegsel': { label: 'Voorvoegsel (leerling)', personal: true },
  'leerling.geslachtsnaam': { label: 'Geslachtsnaam (leerling)', personal: true },
  'leerling.geboortedatum': { label: 'Geboortedatum (leerling)', personal: true, show: date },
  'leerling.geslacht': { label: 'Geslacht (leerling)', personal: true },
  'leerling.adres.straatnaam': { label: 'Straatnaam (leerling)', personal: true },
  'leerling.adres.huisnummer': { label: 'Huisnummer (leerling)', personal: true },
  'leerling.adres.huisletter': { label: 'Huisletter (leerling)', personal: true },
  'leerling.adres.huisnummertoevoeging': { label: 'Huisnummertoevoeging (leerling)', personal: true },
  'leerling.adres.postcode': { label: 'Postcode (leerling)', personal: true, show: (v) => formatPostcode(String(v)) },
  'leerling.adres.woonplaats': { label: 'Woonplaats (leerling)', personal: true },
  'instelling.naam': { label: 'Naam (school)', personal: false },
  'instelling.instellingscode': { label: 'BRIN (school)', personal: false },
  'instelling.vestigingsnummer': { label: 'Vestigingsnummer (school)', personal: false },
  'instelling.onderwijslocatiecode': { label: 'Onderwijslocatiecode (school)', personal: false },
  'instelling.sector': { label: 'Sector (school)', personal: false },
  'melder.naam': { label: 'Naam (melder)', personal: true },
  'melder.functie': { label: 'Functie (melder)', personal: true },
  'melder.telefoonnummer': { label: 'Telefoonnummer (melder)', personal: true },
  'melder.emailadres': { label: 'E-mailadres (melder)', personal: true },
};

const FIELD_ORDER = Object.keys(FIELDS);

/** The parts of a melding that are its content, as the forwarding table lists them. */
export const CONTENT_FIELDS = [
  'verzuimsoort', 'verzuimperiode', 'aantalUrenVerzuim', 'vermoedelijkeReden', 'toelichting', 'leerling', 'instelling', 'melder',
] as const;

const SECTION_LABELS: Record<string, string> = {
  verzuimperiode: 'verzuimperiode',
  leerling: 'leerling',
  'leerling.adres': 'leerling',
  instelling: 'school',
  melder: 'melder',
};

type Plain = Record<string, unknown>;

function isPlainObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Absent, null and undefined all mean "not given": ROD may send einddatum: null one time and omit it the next. */
function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (isAbsent(a) && isAbsent(b)) return true;
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) if (!deepEqual(a[key], b[key])) return false;
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  return Object.is(a, b);
}

/** Known fields first in their reading order, then anything newer that ROD may add, alphabetically. */
function orderedKeys(path: string, a: Plain, b: Plain): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const rank = (key: string) => {
    const full = path ? `${path}.${key}` : key;
    const i = FIELD_ORDER.findIndex((f) => f === full || f.startsWith(`${full}.`));
    return i === -1 ? FIELD_ORDER.length : i;
  };
  return keys.sort((x, y) => rank(x) - rank(y) || (x < y ? -1 : x > y ? 1 : 0));
}

function display(field: string, value: unknown): string | null {
  if (isAbsent(value)) return null;
  const show = FIELDS[field]?.show;
  if ((typeof value === 'string' || typeof value === 'number') && show) return show(value);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function specFor(field: string): Omit<FieldSpec, 'show'> {
  const known = FIELDS[field];
  if (known) return known;
  // A field ROD added after this code was written: name it plainly and treat
  // its value as personal, since nobody here has checked that it is not.
  const dot = field.lastIndexOf('.');
  const name = field.slice(dot + 1);
  const section = SECTION_LABELS[field.slice(0, Math.max(dot, 0))];
  return { label: section ? `${name} (${section})` : name, personal: true };
}

function collect(path: string, a: unknown, b: unknown, out: FieldChange[]): void {
  if (deepEqual(a, b)) return;
  const bothObjectish = (isPlainObject(a) || isAbsent(a)) && (isPlainObject(b) || isAbsent(b));
  if (bothObjectish && !FIELDS[path]) {
    // A whole block (an adres, a melder) appearing or disappearing is reported
    // as its fields appearing or disappearing, so every line has a label.
    const left = isPlainObject(a) ? a : {};
    const right = isPlainObject(b) ? b : {};
    for (const key of orderedKeys(path, left, right)) collect(`${path}.${key}`, left[key], right[key], out);
    return;
  }
  const spec = specFor(path);
  out.push({ field: path, label: spec.label, from: display(path, a), to: display(path, b), personal: spec.personal });
}

/**
 * The fields that differ between two states of a melding: status first, then
 * the content fields. Bookkeeping (volgnummer, gewijzigdOp) is not content
 * and never listed.
 */
export function diffMelding(a: Verzuimmelding, b: Verzuimmelding): FieldChange[] {
  const out: FieldChange[] = [];
  collect('status', a.status, b.status, out);
  const left = a as unknown as Plain;
  const right = b as unknown as Plain;
  for (const field of CONTENT_FIELDS) collect(field, left[field], right[field], out);
  return out;
}

/** True when anything but the status differs. */
export function contentChanged(a: Verzuimmelding, b: Verzuimmelding): boolean {
  const left = a as unknown as Plain;
  const right = b as unknown as Plain;
  return CONTENT_FIELDS.some((field) => !deepEqual(left[field], right[field]));
}
