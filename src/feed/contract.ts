/**
 * The ROD contract as runtime validation. A page's envelope is checked first;
 * each item is checked on its own, so one malformed record goes to quarantine
 * while the rest of the page is processed.
 */
import { DOMParser } from '@xmldom/xmldom';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { passesElfproef, type Verzuimmelding } from '../domain/melding.js';
import { meldingFromXml } from './edukoppeling/contract.js';
import type { FeedItem } from './transport.js';

const isoDate = z.iso.date();
const isoDateTime = z.iso.datetime({ offset: true });
/** Extensible enumerations: any code, but it must look like a code. */
const code = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected an upper-case code');

const adres = z.object({
  straatnaam: z.string().min(1).max(80),
  huisnummer: z.number().int().min(1).max(99999),
  huisletter: z.string().regex(/^[A-Za-z]$/).optional(),
  huisnummertoevoeging: z.string().max(4).optional(),
  postcode: z.string().regex(/^[1-9][0-9]{3}[A-Z]{2}$/),
  woonplaats: z.string().min(1).max(80),
});

const leerling = z
  .object({
    bsn: z.string().regex(/^[0-9]{9}$/).refine(passesElfproef, 'BSN fails the 11-proef').optional(),
    onderwijsnummer: z.string().regex(/^1[0-9]{8}$/).optional(),
    voornamen: z.string().min(1).max(200),
    voorvoegsel: z.string().max(10).optional(),
    geslachtsnaam: z.string().min(1).max(200),
    geboortedatum: isoDate,
    geslacht: z.enum(['M', 'V', 'X', 'O']).optional(),
    adres: adres.optional(),
  })
  .refine((l) => l.bsn !== undefined || l.onderwijsnummer !== undefined, {
    message: 'expected a bsn or an onderwijsnummer',
  });

const instelling = z.object({
  instellingscode: z.string().regex(/^[0-9]{2}[A-Z]{2}$/),
  vestigingsnummer: z.string().regex(/^[0-9]{2}$/).optional(),
  onderwijslocatiecode: z.string().regex(/^[0-9]{3}[A-Z][0-9]{3}$/).optional(),
  naam: z.string().min(1).max(200),
  sector: z.enum(['PO', 'SO', 'VO', 'MBO']).optional(),
});

const melder = z.object({
  naam: z.string().min(1).max(100),
  functie: z.string().max(60).optional(),
  telefoonnummer: z.string().max(20).optional(),
  emailadres: z.email().max(254).optional(),
});

export const verzuimmeldingSchema = z.object({
  meldingsnummer: z.string().regex(/^[0-9]{1,12}$/),
  volgnummer: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  gemeentecode: z.string().regex(/^[0-9]{4}$/),
  verzuimsoort: code,
  status: code,
  melddatum: isoDateTime,
  gewijzigdOp: isoDateTime,
  verzuimperiode: z.object({
    begindatum: isoDate,
    einddatum: isoDate.nullable().optional(),
  }),
  // Bounded, like every number here: 1e300 hours is no melding, and is quarantined as such.
  aantalUrenVerzuim: z.number().min(0).max(10_000).optional(),
  vermoedelijkeReden: z.string().max(200).optional(),
  toelichting: z.string().max(2000).optional(),
  leerling,
  instelling,
  melder: melder.optional(),
}) satisfies z.ZodType<Verzuimmelding>;

/**
 * The same schema with zod's ahead-of-time compiled fast path (`z.compile`):
 * zod generates one function from the schema above that checks every field
 * with the same checks, so it cannot drift from it; an item it does not pass
 * goes through zod's own parser, so a quarantine reason reads exactly as
 * before. Every item of every page is validated: zod's parser walked a node
 * per field with an object or two each and ran cold for the first pages of a
 * fresh `once` (about 40 µs an item), the compiled function about 2.5 times
 * faster (docs/performance.md). A schema zod cannot compile comes back
 * unchanged and is parsed as before; the contract test checks that this one
 * compiles.
 */
const compiledMeldingSchema = z.compile(verzuimmeldingSchema);

export const mutatiePaginaSchema = z.object({
  verzuimmeldingen: z.array(z.unknown()),
  volgnummerTot: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  meer: z.boolean(),
});

export type MutatiePagina = z.infer<typeof mutatiePaginaSchema>;

export const problemSchema = z.object({
  type: z.string().optional(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  code: z.string().optional(),
});

export type Problem = z.infer<typeof problemSchema>;

export type ItemValidation =
  | { ok: true; melding: Verzuimmelding }
  | { ok: false; reason: string };

/**
 * Checks one feed item. The reason names the field paths and what was wrong,
 * never the values: a reason is logged and mailed to the alert address, and
 * values would be the pupil's personal data.
 */
export function validateItem(item: unknown): ItemValidation {
  const result = compiledMeldingSchema.safeParse(item);
  if (result.success) return { ok: true, melding: result.data as Verzuimmelding };
  const reason = result.error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(item)'}: ${issue.message}`)
    .join('; ');
  return { ok: false, reason };
}

/**
 * A stored item as the transport first read it: JSON text from the REST
 * stand-in, or the XML of a verified `verzuimmelding` element from
 * Edukoppeling. The store keeps what ROD sent byte for byte; reading it is
 * the feed's business.
 */
export function storedItem(payload: string): FeedItem {
  if (isXmlPayload(payload)) {
    const doc = new DOMParser().parseFromString(payload, 'text/xml');
    return { value: doc.documentElement ? meldingFromXml(doc.documentElement) : undefined, raw: payload };
  }
  return { value: JSON.parse(payload) as unknown, raw: payload };
}

const isXmlPayload = (payload: string): boolean => payload.trimStart().startsWith('<');

/**
 * Which contract a stored copy was read with: a digest of the melding schema
 * (its fields, types and bounds, as JSON Schema). A copy holds only the fields
 * the contract of its day knew; a relay whose contract learned a field must
 * not read that field's absence from an old copy, so it reads the raw payload
 * instead. Computed once, on first use (about 30 ms): an idle cycle never needs it.
 */
let copyContract: string | undefined;
function contractDigest(): string {
  copyContract ??= createHash('sha256')
    .update(JSON.stringify(z.toJSONSchema(verzuimmeldingSchema, { unrepresentable: 'any' })))
    .digest('hex')
    .slice(0, 16);
  return copyContract;
}

/**
 * The validated melding as JSON, stored beside an XML payload in the same
 * row (storedCopyFor). Reading an Edukoppeling payload back means parsing its XML with
 * xmldom (about 150 µs a mail, twenty times the validation); the copy is
 * read with JSON.parse. It is a cache of the payload's reading, never the
 * record: the payload stays what ROD sent, and retention removes both.
 */
export function storedCopy(melding: Verzuimmelding): string {
  return JSON.stringify({ contract: contractDigest(), melding });
}

/**
 * The copy to store beside a received item's text (`raw`): none when it is JSON (the
 * REST feed). Reading a JSON payload back is one JSON.parse and a validation,
 * all that reading a copy would be, and it reads only the fields this contract
 * knows whatever contract stored it; a copy beside it doubled the row (two
 * strings of about 1 KB: one mutation a 4 KB database page instead of three or
 * four), and so the bytes every page's commit writes to the WAL and its
 * checkpoint to the database (docs/performance.md).
 */
export function storedCopyFor(raw: string, melding: Verzuimmelding): string | undefined {
  return isXmlPayload(raw) ? storedCopy(melding) : undefined;
}

/** The melding in a stored copy, or undefined when the copy was made under another contract (or is not one). */
function fromCopy(copy: string): unknown {
  let parsed: { contract?: unknown; melding?: unknown } | null;
  try {
    parsed = JSON.parse(copy) as typeof parsed;
  } catch {
    return undefined; // a cache that cannot be read: the payload is the record
  }
  return parsed?.contract === contractDigest() ? parsed.melding : undefined;
}

/**
 * A stored mutation read back through the contract: the relay judges and
 * mails only the fields it knows, whatever else ROD sent along. The copy,
 * when there is one of this contract, is read instead of the payload (rows
 * from before the copy have none); either way the result is validated again,
 * so a copy is trusted no more than the payload.
 */
export function readStoredMutation(payload: string, copy?: string | null): Verzuimmelding {
  const value = copy ? fromCopy(copy) : undefined;
  const checked = validateItem(value !== undefined ? value : storedItem(payload).value);
  if (!checked.ok) throw new Error(`a stored mutation no longer passes validation: ${checked.reason}`);
  return checked.melding;
}
