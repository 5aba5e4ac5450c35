/**
 * The verzuim contract as spoken over Edukoppeling: operation and element
 * names, namespaces, and the mapping between a `verzuimmelding` element and
 * the melding object the rest of the relay knows. DUO hands its real XSD only
 * to registered suppliers; this is the stand-in (DUO_ROD_Verzuim_Gemeente_V1).
 * When DUO's real contract arrives, this file changes and nothing else: the
 * envelope, the signature and the feed semantics do not depend on it.
 *
 * Both directions live here, so the simulator serves exactly the contract the
 * relay reads.
 */

import type { XmlElement } from './dom.js';

export const DEFAULT_CONTRACT = 'DUO_ROD_Verzuim_Gemeente_V1';

export const OPERATIONS = {
  fetch: 'opvragen_verzuimmutaties',
  setStatus: 'wijzigen_statusVerzuimmelding',
} as const;
export type Operation = (typeof OPERATIONS)[keyof typeof OPERATIONS];

export interface Contract {
  name: string;
  /** The WSDL's namespace: SOAPAction and wsa:Action are `<contractNs>/<operation>`. */
  contractNs: string;
  /** The XSD's namespace: every body element is in it. */
  schemaNs: string;
}

export function contractNamed(name: string = DEFAULT_CONTRACT): Contract {
  return { name, contractNs: `http://duo.nl/contract/${name}`, schemaNs: `http://duo.nl/schema/${name}` };
}

export function actionOf(contract: Contract, operation: Operation): string {
  return `${contract.contractNs}/${operation}`;
}

export const requestElement = (operation: Operation): string => `${operation}_request`;
export const responseElement = (operation: Operation): string => `${operation}_response`;

/** The business-document header that starts every request and response body (rule 4). */
export interface Bedrijfsdocument {
  identificatiecodeBedrijfsdocument: string;
  verzendendeInstantie: string;
  ontvangendeInstantie: string;
  datumTijdBedrijfsdocument: string;
}

export interface FetchRequest {
  gemeentecode: string;
  vanafVolgnummer: number;
  maximumAantal: number;
}

export interface StatusRequest {
  meldingsnummer: string;
  status: string;
  toelichting?: string;
}

/**
 * The fields of a verzuimmelding in schema order, with how a text value
 * becomes a JSON value. Elements not listed (a newer contract, another
 * namespace) are ignored, as the contract says they may appear anywhere.
 */
type Field = 'text' | 'integer' | 'decimal' | { [element: string]: Field };

const ADRES: Record<string, Field> = {
  straatnaam: 'text',
  huisnummer: 'integer',
  huisletter: 'text',
  huisnummertoevoeging: 'text',
  postcode: 'text',
  woonplaats: 'text',
};

const VERZUIMMELDING: Record<string, Field> = {
  meldingsnummer: 'text',
  volgnummer: 'integer',
  gemeentecode: 'text',
  verzuimsoort: 'text',
  status: 'text',
  melddatum: 'text',
  gewijzigdOp: 'text',
  verzuimperiode: { begindatum: 'text', einddatum: 'text' },
  aantalUrenVerzuim: 'decimal',
  vermoedelijkeReden: 'text',
  toelichting: 'text',
  leerling: {
    bsn: 'text',
    onderwijsnummer: 'text',
    voornamen: 'text',
    voorvoegsel: 'text',
    geslachtsnaam: 'text',
    geboortedatum: 'text',
    geslacht: 'text',
    adres: ADRES,
  },
  instelling: { instellingscode: 'text', vestigingsnummer: 'text', onderwijslocatiecode: 'text', naam: 'text', sector: 'text' },
  melder: { naam: 'text', functie: 'text', telefoonnummer: 'text', emailadres: 'text' },
};

/** The element that holds one mutation in a fetch response. */
export const MELDING_ELEMENT = 'verzuimmelding';

/**
 * A `verzuimmelding` element as a plain object with the REST contract's field
 * names and types, for the feed contract to validate. A number that does not
 * parse stays text, so validation refuses it (and the item is quarantined)
 * instead of this mapping guessing.
 */
export function meldingFromXml(element: XmlElement): Record<string, unknown> {
  // The element's own namespace is the schema namespace: a stored element is read back without configuration.
  return objectFrom(element, VERZUIMMELDING, element.namespaceURI ?? '');
}

function objectFrom(element: XmlElement, fields: Record<string, Field>, ns: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const child of childElements(element)) {
    if (child.namespaceURI !== ns) continue;
    const name = child.localName ?? '';
    const field = fields[name];
    if (field === undefined || name in out) continue;
    out[name] = typeof field === 'object' ? objectFrom(child, field, ns) : scalar(textOf(child), field);
  }
  return out;
}

function scalar(text: string, field: 'text' | 'integer' | 'decimal'): unknown {
  if (field === 'text') return text;
  const trimmed = text.trim();
  const pattern = field === 'integer' ? /^[+-]?\d+$/ : /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
  return pattern.test(trimmed) ? Number(trimmed) : text;
}

/** A melding object as a `verzuimmelding` element (for the simulator); absent and null fields are left out, never sent empty. */
export function meldingToXml(melding: Record<string, unknown>, prefix: string): string {
  return elementXml(MELDING_ELEMENT, melding, VERZUIMMELDING, prefix);
}

function elementXml(name: string, value: Record<string, unknown>, fields: Record<string, Field>, prefix: string): string {
  const parts: string[] = [];
  for (const [field, kind] of Object.entries(fields)) {
    const v = value[field];
    if (v === undefined || v === null || v === '') continue;
    if (typeof kind === 'object') {
      if (typeof v === 'object') parts.push(elementXml(field, v as Record<string, unknown>, kind, prefix));
    } else {
      parts.push(`<${prefix}:${field}>${escapeXml(String(v))}</${prefix}:${field}>`);
    }
  }
  return `<${prefix}:${name}>${parts.join('')}</${prefix}:${name}>`;
}

/** Text content for an element or attribute value. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Element children only, in document order. */
export function childElements<E extends XmlElement>(element: E): E[] {
  const out: E[] = [];
  // An element's children are of its own DOM (xmldom's, or the light one of a parsed response).
  for (let n = element.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n as E);
  return out;
}

/** The concatenated text of an element's text and CDATA children. */
export function textOf(element: XmlElement): string {
  let text = '';
  for (let n = element.firstChild; n; n = n.nextSibling) if (n.nodeType === 3 || n.nodeType === 4) text += n.nodeValue ?? '';
  return text;
}

/** The body of a request: the business-document header, then the operation's fields in schema order. */
export function requestBodyXml(contract: Contract, operation: Operation, header: Bedrijfsdocument, fields: FetchRequest | StatusRequest, prefix = 'duo'): string {
  const order: string[] =
    operation === OPERATIONS.fetch ? ['gemeentecode', 'vanafVolgnummer', 'maximumAantal'] : ['meldingsnummer', 'status', 'toelichting'];
  const all: Record<string, unknown> = { ...header, ...fields };
  const names = ['identificatiecodeBedrijfsdocument', 'verzendendeInstantie', 'ontvangendeInstantie', 'datumTijdBedrijfsdocument', ...order];
  const parts = names
    .filter((n) => all[n] !== undefined && all[n] !== null && all[n] !== '')
    .map((n) => `<${prefix}:${n}>${escapeXml(String(all[n]))}</${prefix}:${n}>`);
  const el = requestElement(operation);
  return `<${prefix}:${el} xmlns:${prefix}="${contract.schemaNs}">${parts.join('')}</${prefix}:${el}>`;
}

/** What a response body says, read from the signed response element only. */
export interface ResponseBody<E extends XmlElement = XmlElement> {
  requestGoedgekeurd: boolean | undefined;
  foutmelding?: { foutcode: string; fouttekst: string };
  volgnummerTot?: number;
  meerMutaties?: boolean;
  /** The verzuimmelding elements, in order (fetch only). */
  meldingen: E[];
}

export function readResponseBody<E extends XmlElement>(element: E, contract: Contract): ResponseBody<E> {
  const ns = contract.schemaNs;
  const children = childElements(element).filter((c) => c.namespaceURI === ns);
  const first = (name: string) => children.find((c) => c.localName === name);
  const bool = (name: string) => {
    const el = first(name);
    if (!el) return undefined;
    const t = textOf(el).trim();
    return t === 'true' || t === '1' ? true : t === 'false' || t === '0' ? false : undefined;
  };
  const fout = first('foutmelding');
  const foutChildren = fout ? childElements(fout).filter((c) => c.namespaceURI === ns) : [];
  const foutText = (name: string) => {
    const el = foutChildren.find((c) => c.localName === name);
    return el ? textOf(el) : '';
  };
  const tot = first('volgnummerTot');
  const totText = tot ? textOf(tot).trim() : '';
  return {
    requestGoedgekeurd: bool('requestGoedgekeurd'),
    foutmelding: fout ? { foutcode: foutText('foutcode').trim(), fouttekst: foutText('fouttekst') } : undefined,
    volgnummerTot: /^\d+$/.test(totText) ? Number(totText) : undefined,
    meerMutaties: bool('meerMutaties'),
    meldingen: children.filter((c) => c.localName === MELDING_ELEMENT),
  };
}
