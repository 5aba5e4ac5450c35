/**
 * The two operations of the stand-in contract, served from the same
 * SimulatedFeed as the REST routes. What a handler returns is the content of
 * the response element (under `ns2:`); business refusals are answers too
 * (requestGoedgekeurd false with a foutmelding), signed like any other.
 */
import { MUNICIPALITY_STATUSES } from '../../domain/melding.js';
import {
  OPERATIONS,
  escapeXml,
  meldingToXml,
  responseElement,
  type FetchRequest,
  type StatusRequest,
} from '../../feed/edukoppeling/contract.js';
import { authorize, type GemeenteRegistry } from '../access.js';
import type { SimulatedFeed } from '../feed.js';
import type { CheckedRequest } from './check-request.js';

export const PAYLOAD_PREFIX = 'ns2';

export interface OperationContext {
  feed: SimulatedFeed;
  gemeenten: GemeenteRegistry | undefined;
  duoOin: string;
  now: Date;
}

export interface Foutmelding {
  foutcode: string;
  fouttekst: string;
}

/** What goes in the response Body: the element's local name and its content. */
export interface ResponseContent {
  responseElement: string;
  content: string;
  /** Set for a business refusal, for the log. */
  foutcode?: string;
}

const el = (name: string, value: string | number | boolean) => `<${PAYLOAD_PREFIX}:${name}>${escapeXml(String(value))}</${PAYLOAD_PREFIX}:${name}>`;

/** The business-document header of a response: DUO echoes the request's id and swaps the instanties. */
function bedrijfsdocumentXml(request: CheckedRequest, x: OperationContext): string {
  return (
    el('identificatiecodeBedrijfsdocument', request.bedrijfsdocument.identificatiecodeBedrijfsdocument) +
    el('verzendendeInstantie', x.duoOin) +
    el('ontvangendeInstantie', request.fromOin) +
    el('datumTijdBedrijfsdocument', x.now.toISOString())
  );
}

function foutmeldingXml(fout: Foutmelding): string {
  return `<${PAYLOAD_PREFIX}:foutmelding>${el('foutcode', fout.foutcode)}${el('fouttekst', fout.fouttekst)}</${PAYLOAD_PREFIX}:foutmelding>`;
}

/** requestGoedgekeurd false with a foutmelding: a business refusal (HTTP 200, signed). */
export function refusal(request: CheckedRequest, x: OperationContext, fout: Foutmelding): ResponseContent {
  return {
    responseElement: responseElement(request.operation),
    content: bedrijfsdocumentXml(request, x) + el('requestGoedgekeurd', false) + foutmeldingXml(fout),
    foutcode: fout.foutcode,
  };
}

export function handleOperation(request: CheckedRequest, x: OperationContext): ResponseContent {
  return request.operation === OPERATIONS.fetch
    ? opvragenVerzuimmutaties(request, request.fields as FetchRequest, x)
    : wijzigenStatusVerzuimmelding(request, request.fields as StatusRequest, x);
}

/** One page of the feed after vanafVolgnummer (exclusive), for the gemeente the OIN in wsa:From may read. */
export function opvragenVerzuimmutaties(request: CheckedRequest, fields: FetchRequest, x: OperationContext): ResponseContent {
  const { gemeentecode, vanafVolgnummer, maximumAantal } = fields;
  const authorization = authorize(x.gemeenten, gemeentecode, request.fromOin);
  if (authorization === 'unknown-gemeente') return refusal(request, x, { foutcode: 'V404', fouttekst: `Gemeentecode ${gemeentecode} is bij ROD niet bekend.` });
  if (authorization === 'oin-mismatch') {
    return refusal(request, x, { foutcode: 'V403', fouttekst: `OIN ${request.fromOin} is niet geautoriseerd voor gemeentecode ${gemeentecode}.` });
  }
  const page = x.feed.page(gemeentecode, vanafVolgnummer, maximumAantal);
  const meldingen = page.verzuimmeldingen
    .map((item) => meldingToXml(typeof item === 'object' && item !== null && !Array.isArray(item) ? (item as Record<string, unknown>) : {}, PAYLOAD_PREFIX))
    .join('');
  return {
    responseElement: responseElement(request.operation),
    content: bedrijfsdocumentXml(request, x) + el('requestGoedgekeurd', true) + el('volgnummerTot', page.volgnummerTot) + el('meerMutaties', page.meer) + meldingen,
  };
}

/** The gemeente reports how it handles a melding; a transition the feed refuses is V409. */
export function wijzigenStatusVerzuimmelding(request: CheckedRequest, fields: StatusRequest, x: OperationContext): ResponseContent {
  const { meldingsnummer, status, toelichting } = fields;
  const melding = x.feed.current(meldingsnummer);
  const authorization = melding ? authorize(x.gemeenten, melding.gemeentecode, request.fromOin) : 'unknown-gemeente';
  // As the REST stand-in: a melding of a gemeente ROD does not serve is unknown; of a known gemeente, not authorised.
  if (!melding || authorization === 'unknown-gemeente') return refusal(request, x, { foutcode: 'V404', fouttekst: `Er is geen melding met meldingsnummer ${meldingsnummer}.` });
  if (authorization === 'oin-mismatch') {
    return refusal(request, x, { foutcode: 'V403', fouttekst: `OIN ${request.fromOin} is niet geautoriseerd voor gemeentecode ${melding.gemeentecode}.` });
  }
  if (!MUNICIPALITY_STATUSES.includes(status)) {
    return refusal(request, x, { foutcode: 'V400', fouttekst: `De status moet een van ${MUNICIPALITY_STATUSES.join(', ')} zijn.` });
  }
  if (toelichting !== undefined && toelichting.length > 500) return refusal(request, x, { foutcode: 'V400', fouttekst: 'De toelichting mag hoogstens 500 tekens hebben.' });
  const result = x.feed.setStatus(meldingsnummer, status, toelichting);
  if (result === 'not-found') return refusal(request, x, { foutcode: 'V404', fouttekst: `Er is geen melding met meldingsnummer ${meldingsnummer}.` });
  if (result === 'conflict') {
    return refusal(request, x, {
      foutcode: 'V409',
      fouttekst:
        melding.status === 'INGETROKKEN'
          ? 'De melding is ingetrokken door de school en kan niet meer worden gewijzigd.'
          : `De status kan niet van ${melding.status} naar ${status} worden gewijzigd.`,
    });
  }
  return { responseElement: responseElement(request.operation), content: bedrijfsdocumentXml(request, x) + el('requestGoedgekeurd', true) };
}
