/**
 * The REST stand-in of ROD (`rod.protocol: rest`, ../openapi.yaml): JSON
 * pages over the shared mutual-TLS HTTP layer, RFC 7807 problems for errors.
 */
import type { Logger } from '../../observability/log.js';
import { cleanOutsideText, withheldText } from '../../observability/outside-text.js';
import { mutatiePaginaSchema, problemSchema, type Problem } from '../contract.js';
import { RodError, tooManyItems, type RodErrorKind } from '../errors.js';
import { RodHttp, type RodCredentials, type RodTls } from '../http.js';
import type { FeedItem, FeedPage, RodTransport } from '../transport.js';

export interface RodClientOptions {
  baseUrl: string;
  gemeentecode: string;
  timeoutSeconds: number;
  /** rod.maxResponseBytes: a larger answer is refused while it streams in. */
  maxResponseBytes?: number;
  tls: RodTls;
  log: Logger;
  /** How long one request may wait on a Retry-After (429/503) before the cycle gives up. */
  maxRetryAfterSeconds?: number;
  wait?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  /** Aborted when the relay stops: a request or a Retry-After wait in progress ends at once. */
  signal?: AbortSignal;
}

export class RestTransport implements RodTransport {
  private readonly http: RodHttp;

  constructor(private readonly options: RodClientOptions) {
    this.http = new RodHttp(options);
  }

  /** One page of the feed after `vanaf` (exclusive). Items are validated one by one by the caller. */
  async fetchPage(vanaf: number, limit: number): Promise<FeedPage> {
    const path = `/gemeenten/${encodeURIComponent(this.options.gemeentecode)}/verzuimmeldingen?vanaf=${vanaf}&limit=${limit}`;
    const { body, requestId } = await this.call('GET', path);
    const parsed = mutatiePaginaSchema.safeParse(body);
    if (!parsed.success) {
      const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(page)'}: ${i.message}`).join('; ');
      throw new RodError('invalid-response', `ROD sent a page that does not match the contract (${where}); request ${requestId}`);
    }
    if (parsed.data.volgnummerTot < vanaf) {
      throw new RodError('invalid-response', `ROD sent volgnummerTot ${parsed.data.volgnummerTot} below vanaf ${vanaf}; request ${requestId}`);
    }
    const { verzuimmeldingen, volgnummerTot, meer } = parsed.data;
    if (verzuimmeldingen.length > limit) throw tooManyItems(verzuimmeldingen.length, limit, 'limit', requestId);
    return { items: verzuimmeldingen.map(jsonItem), volgnummerTot, meer, requestId };
  }

  /** Reports the municipality's handling of a melding. 409 (a transition ROD refuses) is an answer, not an error. */
  async setStatus(meldingsnummer: string, status: 'IN_BEHANDELING'): Promise<'ok' | 'conflict'> {
    try {
      await this.call('PUT', `/verzuimmeldingen/${encodeURIComponent(meldingsnummer)}/status`, { status });
      return 'ok';
    } catch (err) {
      if (err instanceof RodError && err.details.status === 409) return 'conflict';
      throw err;
    }
  }

  useCredentials(credentials: RodCredentials): void {
    this.http.useCredentials(credentials);
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private async call(method: 'GET' | 'PUT', path: string, payload?: unknown): Promise<{ body: unknown; requestId: string }> {
    const answer = await this.http.exchange({
      method,
      path,
      headers: {
        accept: 'application/json, application/problem+json',
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: payload === undefined ? undefined : JSON.stringify(payload),
      describe: (_status, text) => {
        const problem = parseProblem(text);
        return { label: problem ? problemLabel(problem) : `HTTP ${_status}`, code: problem?.code };
      },
    });
    const { status, text, requestId } = answer;
    if (status >= 200 && status < 300) {
      if (status === 204 || text.length === 0) return { body: undefined, requestId };
      try {
        return { body: JSON.parse(text), requestId };
      } catch {
        throw new RodError('invalid-response', `ROD answered ${status} with a body that is not JSON; request ${requestId}`, { status });
      }
    }
    const problem = parseProblem(text);
    const label = problem ? problemLabel(problem) : `HTTP ${status}`;
    if (status === 401 || status === 403) {
      throw new RodError(
        'refused',
        `ROD refused the request (${status}: ${label}). Check that DUO registered this certificate's OIN for gemeentecode ${this.options.gemeentecode} (verzuim-relay cert bundle makes the files to send). Request ${requestId}`,
        { status, problem, code: problem?.code },
      );
    }
    const kind: RodErrorKind = status >= 500 ? 'server' : 'refused';
    throw new RodError(kind, `ROD answered ${status} (${label}) to ${method} ${path.split('?')[0]}; request ${requestId}`, { status, problem, code: problem?.code });
  }
}

/**
 * An item of a page, its text (what the store keeps) written from the parsed
 * item when the store reads it rather than when the page arrives. Written at
 * once, a page's 500 texts waited while the page was stored, each as the rope
 * of pieces JSON.stringify returns, and every young-generation collection
 * meanwhile copied them; written when its row is, a text is garbage once the
 * row is stored: a seventh less CPU for storing a page (docs/performance.md).
 * The text is the same either way: nothing changes the parsed item (validation
 * reads it and builds its own result), and JSON.stringify of the same value
 * gives the same text. The store reads it once per item.
 */
function jsonItem(value: unknown): FeedItem {
  return {
    value,
    get raw() {
      return JSON.stringify(value);
    },
  };
}

/** The problem by its code and type; its title and detail are withheld (see withheldText). */
function problemLabel(problem: Problem): string {
  const withheld = withheldText(`${problem.title} ${problem.detail ?? ''}`);
  return [problem.code ?? `HTTP ${problem.status}`, problem.type, withheld].filter(Boolean).join('; ');
}

/**
 * ROD's problem document, every text in it cleaned (cleanOutsideText): ROD may echo a pupil's BSN
 * or send escape codes. The code and type stay, cleaned and short, to be looked up; the label that
 * goes into a logged error withholds the title and detail (problemLabel).
 */
function parseProblem(text: string): Problem | undefined {
  let parsed;
  try {
    parsed = problemSchema.safeParse(JSON.parse(text));
  } catch {
    return undefined;
  }
  if (!parsed.success) return undefined;
  const { type, title, status, detail, code } = parsed.data;
  const short = (value: string | undefined) => (value === undefined ? undefined : cleanOutsideText(value, { max: 64 }) || undefined);
  return {
    title: cleanOutsideText(title) || `HTTP ${status}`,
    status,
    ...(detail !== undefined && cleanOutsideText(detail) ? { detail: cleanOutsideText(detail) } : {}),
    ...(short(code) ? { code: short(code) } : {}),
    ...(type !== undefined ? { type: cleanOutsideText(type, { max: 120 }) } : {}),
  };
}
