/**
 * What the simulated ROD serves, as a route table: the mutation feed per
 * gemeente, one melding's current state, and the status a gemeente reports
 * back. Handlers check the caller's OIN themselves because what it may see
 * depends on the gemeente the request names or the melding belongs to.
 */
import { MUNICIPALITY_STATUSES, type Verzuimmelding } from '../domain/melding.js';
import { authorize, oinRefusalDetail, type GemeenteRegistry } from './access.js';
import type { SimulatedFeed } from './feed.js';
import { problem, type ProblemName } from './problems.js';
import { MAX_BODY_BYTES, integerParameter } from './request.js';
import { problemReply, type Params, type Reply, type Route } from './router.js';

export interface RequestContext {
  /** The full path, which problems name as their instance. */
  path: string;
  params: Params;
  query: URLSearchParams;
  /** The OIN in the client certificate's subject serialNumber, if it has one. */
  oin: string | undefined;
  /** Undefined when every gemeente is open to every caller. */
  gemeenten: GemeenteRegistry | undefined;
  feed: SimulatedFeed;
  contentType: string | undefined;
  /** The body, or undefined when it is over MAX_BODY_BYTES. Read at most once. */
  readBody(): Promise<string | undefined>;
}

export const ROUTES: readonly Route<RequestContext>[] = [
  { method: 'GET', pattern: '/gemeenten/:gemeentecode/verzuimmeldingen', handle: getFeed },
  { method: 'GET', pattern: '/verzuimmeldingen/:meldingsnummer', handle: getMelding },
  { method: 'PUT', pattern: '/verzuimmeldingen/:meldingsnummer/status', handle: putStatus },
];

function refuse(x: RequestContext, name: ProblemName, detail: string): Reply {
  return problemReply(problem(name, detail, x.path));
}

function getFeed(x: RequestContext): Reply {
  const gemeentecode = x.params.gemeentecode!;
  if (!/^[0-9]{4}$/.test(gemeentecode)) return refuse(x, 'parameter', 'De gemeentecode moet uit precies vier cijfers bestaan.');
  const vanaf = integerParameter(x.query, 'vanaf', 0, 0, Number.MAX_SAFE_INTEGER);
  if (typeof vanaf === 'string') return refuse(x, 'parameter', vanaf);
  const limit = integerParameter(x.query, 'limit', 100, 1, 500);
  if (typeof limit === 'string') return refuse(x, 'parameter', limit);
  const authorization = authorize(x.gemeenten, gemeentecode, x.oin);
  if (authorization === 'unknown-gemeente') return refuse(x, 'gemeente', `Gemeentecode ${gemeentecode} is bij ROD niet bekend.`);
  if (authorization === 'oin-mismatch') return refuse(x, 'oin', oinRefusalDetail(gemeentecode, x.oin));
  return { status: 200, body: x.feed.page(gemeentecode, vanaf, limit) };
}

type Lookup = { melding: Verzuimmelding; refusal?: undefined } | { melding?: undefined; refusal: Reply };

/**
 * The melding, if the caller may see it. A melding of a gemeente ROD does not
 * serve this caller is answered as not found, so its existence does not leak.
 */
function visibleMelding(x: RequestContext): Lookup {
  const meldingsnummer = x.params.meldingsnummer!;
  if (!/^[0-9]{1,12}$/.test(meldingsnummer)) return { refusal: refuse(x, 'parameter', 'Het meldingsnummer moet uit 1 tot 12 cijfers bestaan.') };
  const melding = x.feed.current(meldingsnummer);
  const authorization = melding ? authorize(x.gemeenten, melding.gemeentecode, x.oin) : 'unknown-gemeente';
  if (!melding || authorization === 'unknown-gemeente') {
    return { refusal: refuse(x, 'melding', `Er is geen melding met meldingsnummer ${meldingsnummer}.`) };
  }
  if (authorization === 'oin-mismatch') return { refusal: refuse(x, 'oin', oinRefusalDetail(melding.gemeentecode, x.oin)) };
  return { melding };
}

function getMelding(x: RequestContext): Reply {
  const found = visibleMelding(x);
  return found.refusal ?? { status: 200, body: found.melding };
}

async function putStatus(x: RequestContext): Promise<Reply> {
  // Read before any refusal, so a keep-alive connection is in step for the next request.
  const body = await x.readBody();
  const found = visibleMelding(x);
  if (found.refusal) return found.refusal;
  const wijziging = parseStatusWijziging(x.contentType, body);
  if (typeof wijziging === 'string') return refuse(x, 'body', wijziging);
  const meldingsnummer = x.params.meldingsnummer!;
  const result = x.feed.setStatus(meldingsnummer, wijziging.status, wijziging.toelichting);
  if (result === 'not-found') return refuse(x, 'melding', `Er is geen melding met meldingsnummer ${meldingsnummer}.`);
  if (result === 'conflict') {
    return refuse(
      x,
      'transition',
      found.melding.status === 'INGETROKKEN'
        ? 'De melding is ingetrokken door de school en kan niet meer worden gewijzigd.'
        : `De status kan niet van ${found.melding.status} naar ${wijziging.status} worden gewijzigd.`,
    );
  }
  return { status: 204 };
}

interface StatusWijziging {
  status: string;
  toelichting: string | undefined;
}

/** A StatusWijziging from a request body; a string saying what is wrong otherwise. */
export function parseStatusWijziging(contentType: string | undefined, body: string | undefined): StatusWijziging | string {
  if (!/^application\/json\s*(;|$)/i.test(contentType ?? '')) return 'Het bericht moet JSON zijn (Content-Type: application/json).';
  if (body === undefined) return `Het bericht is groter dan ${MAX_BODY_BYTES} bytes.`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'Het bericht is geen geldige JSON.';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'Het bericht moet een JSON-object met een status zijn.';
  const { status, toelichting } = parsed as { status?: unknown; toelichting?: unknown };
  if (typeof status !== 'string' || !MUNICIPALITY_STATUSES.includes(status)) {
    return `Het veld status moet een van ${MUNICIPALITY_STATUSES.join(', ')} zijn.`;
  }
  if (toelichting !== undefined && (typeof toelichting !== 'string' || toelichting.length > 500)) {
    return 'Het veld toelichting moet tekst van hoogstens 500 tekens zijn.';
  }
  return { status, toelichting };
}
