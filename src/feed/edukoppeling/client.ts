/**
 * The Edukoppeling transport (`rod.protocol: edukoppeling`): DUO's SOAP 1.1
 * interface with WS-Addressing and a WS-Security signature, over the same
 * mutual-TLS HTTP layer as REST (retries and Retry-After live there).
 *
 * Each exchange: build and sign a fresh envelope (envelope.ts, sign.ts),
 * POST it, read a non-200 answer as a fault (faults.ts), verify a 200 answer
 * completely (verify.ts), and only then read the signed Body through the
 * contract module. A response that does not verify throws 'unverified': the
 * cycle ends with nothing stored and the cursor where it was.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type { Logger } from '../../observability/log.js';
import { collectGarbageAbove, LARGE_PAGE_ITEMS } from './heap.js';
import { RodError, tooManyItems } from '../errors.js';
import { RodHttp, type RodCredentials, type RodTls } from '../http.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FeedPage, FetchOptions, PageHint, RodTransport } from '../transport.js';
import {
  actionOf,
  childElements,
  contractNamed,
  meldingFromXml,
  OPERATIONS,
  readResponseBody,
  responseElement,
  type Contract,
  type FetchRequest,
  type Operation,
  type ResponseBody,
  type StatusRequest,
} from './contract.js';
import { buildRequestEnvelope, type RequestEnvelope } from './envelope.js';
import { businessRefusal, faultError, parseFault, type FaultContext } from './faults.js';
import { pkcs1SigningKey } from '../../certs/signing-key.js';
import { signEnvelope } from './sign.js';
import { verifyResponse } from './verify.js';
import { exclusiveCanonicalXml } from './xml-crypto-parts.js';

export interface EdukoppelingSettings {
  /** rod.edukoppeling.to: DUO's logical address; `?oin=<duoOin>` is added. */
  to: string;
  duoOin: string;
  /** The OIN DUO's signing certificate must carry (rod.edukoppeling.signerOin, default duoOin). */
  signerOin: string;
  contract: string;
  clockSkewSeconds: number;
}

export interface EdukoppelingClientOptions {
  baseUrl: string;
  gemeentecode: string;
  /** municipality.oin: wsa:From and verzendendeInstantie. */
  municipalityOin: string;
  timeoutSeconds: number;
  /** rod.maxResponseBytes: a larger answer is refused while it streams in. */
  maxResponseBytes?: number;
  /** The client certificate (leaf first) and key sign the messages too (request rule 7). */
  tls: RodTls;
  log: Logger;
  edukoppeling: EdukoppelingSettings;
  /** rod.edukoppeling.signerCertificates: DUO signing certificates accepted as they are. */
  pinnedSigners?: X509Certificate[];
  maxRetryAfterSeconds?: number;
  wait?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  signal?: AbortSignal;
  now?: () => Date;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const certificatesIn = (pem: string) => (pem.match(PEM_CERTIFICATE) ?? []).map((p) => new X509Certificate(p));

export class EdukoppelingTransport implements RodTransport {
  private readonly http: RodHttp;
  private readonly contract: Contract;
  private certificate: X509Certificate;
  private key: KeyObject;
  private readonly anchors: X509Certificate[];
  /** CA certificates that may complete DUO's chain: DUO sends its leaf only. */
  private intermediates: X509Certificate[];
  private readonly now: () => Date;

  constructor(private readonly options: EdukoppelingClientOptions) {
    this.http = new RodHttp(options);
    this.contract = contractNamed(options.edukoppeling.contract);
    this.anchors = certificatesIn(options.tls.anchorsPem);
    ({ certificate: this.certificate, key: this.key, intermediates: this.intermediates } = this.signingMaterial(options.tls));
    this.now = options.now ?? (() => new Date());
  }

  /** Request rule 7: the key of the TLS certificate signs, so a switch of certificate switches both together. */
  useCredentials(credentials: RodCredentials): void {
    const material = this.signingMaterial(credentials);
    this.http.useCredentials(credentials);
    ({ certificate: this.certificate, key: this.key, intermediates: this.intermediates } = material);
  }

  private signingMaterial(credentials: RodCredentials): { certificate: X509Certificate; key: KeyObject; intermediates: X509Certificate[] } {
    const chain = certificatesIn(credentials.certPem);
    if (!chain[0]) throw new RodError('tls', 'no client certificate to sign Edukoppeling messages with');
    // The anchors file and our own chains (tls and tls.next): a PKIoverheid TSP CA is often the same on both sides.
    const others = certificatesIn(this.options.tls.intermediatesPem ?? '').filter((c) => c.ca);
    return { certificate: chain[0], key: pkcs1SigningKey(createPrivateKey(credentials.keyPem)), intermediates: [...chain.slice(1), ...others, ...this.anchors] };
  }

  /** opvragen_verzuimmutaties after `vanaf` (exclusive): each verified verzuimmelding element is one item. */
  async fetchPage(vanaf: number, limit: number, options: FetchOptions = {}): Promise<FeedPage> {
    const page = await this.fetchVerifiedPage(vanaf, limit, options);
    // The page's DOM is garbage now that the items are text: collected before
    // the page is stored and the next one parsed when the heap has grown large (heap.ts).
    if (page.items.length >= LARGE_PAGE_ITEMS) collectGarbageAbove();
    return page;
  }

  private async fetchVerifiedPage(vanaf: number, limit: number, options: FetchOptions): Promise<FeedPage> {
    const fields: FetchRequest = { gemeentecode: this.options.gemeentecode, vanafVolgnummer: vanaf, maximumAantal: limit };
    const { body, messageId, ctx } = await this.call(OPERATIONS.fetch, fields, options.onAnswer);
    if (body.requestGoedgekeurd !== true) throw this.refusal('fetch', body, ctx);
    if (body.volgnummerTot === undefined) {
      throw new RodError('invalid-response', `ROD approved the request but sent no volgnummerTot; request ${messageId}`);
    }
    if (body.volgnummerTot < vanaf) {
      throw new RodError('invalid-response', `ROD sent volgnummerTot ${body.volgnummerTot} below vanaf ${vanaf}; request ${messageId}`);
    }
    if (body.meldingen.length > limit) throw tooManyItems(body.meldingen.length, limit, 'maximumAantal', messageId);
    return {
      // The element as it was signed: its exclusive canonical XML, the namespace it uses declared on it, for the store.
      items: body.meldingen.map((el) => ({ value: meldingFromXml(el), raw: exclusiveCanonicalXml(el) })),
      volgnummerTot: body.volgnummerTot,
      // meerMutaties is optional in the schema: absent means this page is the last.
      meer: body.meerMutaties === true,
      requestId: messageId,
    };
  }

  /** wijzigen_statusVerzuimmelding; V409 (a transition ROD refuses) is an answer. */
  async setStatus(meldingsnummer: string, status: 'IN_BEHANDELING'): Promise<'ok' | 'conflict'> {
    const fields: StatusRequest = { meldingsnummer, status };
    const { body, ctx } = await this.call(OPERATIONS.setStatus, fields);
    if (body.requestGoedgekeurd === true) return 'ok';
    const refusal = this.refusal('setStatus', body, ctx);
    if (refusal === 'conflict') return 'conflict';
    throw refusal;
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private refusal(operation: 'fetch' | 'setStatus', body: ResponseBody, ctx: FaultContext): RodError | 'conflict' {
    if (body.requestGoedgekeurd === undefined) {
      return new RodError('invalid-response', `ROD's response has no readable requestGoedgekeurd; request ${ctx.requestId}`);
    }
    return businessRefusal(operation, body.foutmelding, ctx);
  }

  /** One signed exchange; returns the verified response element, read through the contract. */
  private async call(operation: Operation, fields: FetchRequest | StatusRequest, onAnswer?: (hint: PageHint) => void): Promise<{ body: ResponseBody; messageId: string; ctx: FaultContext }> {
    const { edukoppeling } = this.options;
    const prepare = (): { envelope: RequestEnvelope; xml: string } => {
      const envelope = buildRequestEnvelope(
        { to: edukoppeling.to, duoOin: edukoppeling.duoOin, fromOin: this.options.municipalityOin, contract: this.contract },
        operation,
        fields,
        this.certificate,
        this.now(),
      );
      return { envelope, xml: signEnvelope(envelope, this.key) };
    };
    // The first message is signed here, so a signing problem is an error of its own and not a
    // "network failure" inside the HTTP layer's retry loop. A retry (network failure,
    // Retry-After) carries a freshly signed message: new MessageID, document id and timestamp.
    let next: { envelope: RequestEnvelope; xml: string } | undefined = prepare();
    let sent = next.envelope;
    const body = () => {
      const message = next ?? prepare();
      next = undefined;
      sent = message.envelope;
      return message.xml;
    };
    const action = actionOf(this.contract, operation);
    const answer = await this.http.exchange({
      method: 'POST',
      path: '',
      headers: { 'content-type': 'text/xml; charset=UTF-8', soapaction: `"${action}"` },
      body,
      describe: (status, text) => {
        const fault = parseFault(text);
        return fault ? { label: `${fault.code}: ${fault.text}`, code: fault.code } : { label: status === 503 ? 'maintenance or throttling' : `HTTP ${status}` };
      },
    });
    const request = sent;
    const ctx: FaultContext = { requestId: request.messageId, fromOin: this.options.municipalityOin, gemeentecode: this.options.gemeentecode };
    if (answer.status !== 200) throw faultError(answer.status, answer.text, ctx);

    // Verifying a page of 500 takes longer than ROD takes to sign the next one:
    // the caller may ask for it now, from what this answer says before it is
    // verified. The one turn of the event loop lets that request go out before
    // verification holds the thread. Nothing of this answer is used until it verifies.
    const hint = onAnswer && unverifiedHint(answer.text);
    if (hint) {
      // One turn for undici to take back the connection this answer came on, so that the request reuses it
      // (a new one would cost a TLS handshake), one for the request to be written.
      await nextTurn();
      onAnswer!(hint);
      await nextTurn();
    }
    const verified = this.verify(answer.text, request);
    const children = childElements(verified.body);
    const expected = responseElement(operation);
    const element = children[0];
    if (children.length !== 1 || !element || element.namespaceURI !== this.contract.schemaNs || element.localName !== expected) {
      throw new RodError('invalid-response', `ROD's signed Body does not hold exactly one ${expected} in ${this.contract.schemaNs}; request ${request.messageId}`);
    }
    this.options.log.debug('rod.verified', { requestId: request.messageId, operation });
    return { body: readResponseBody(element, this.contract), messageId: request.messageId, ctx };
  }

  private verify(text: string, request: RequestEnvelope): ReturnType<typeof verifyResponse> {
    const { edukoppeling } = this.options;
    try {
      return verifyResponse(text, {
        messageId: request.messageId,
        action: request.action,
        anchors: this.anchors,
        intermediates: this.intermediates,
        signerOin: edukoppeling.signerOin,
        pinned: this.options.pinnedSigners ?? [],
        clockSkewSeconds: edukoppeling.clockSkewSeconds,
        now: this.now(),
      });
    } catch (err) {
      // Name the request, so the refusal can be found next to DUO's own logs.
      if (err instanceof RodError) throw new RodError(err.kind, `${err.message}; request ${request.messageId}`, err.details);
      throw err;
    }
  }
}

/**
 * volgnummerTot and meerMutaties as the unverified text states them (any
 * prefix; meerMutaties absent is false), or undefined when it states no
 * volgnummerTot. Only ever used to ask for the next page early, never stored.
 */
export function unverifiedHint(text: string): PageHint | undefined {
  const tot = /<(?:[A-Za-z_][\w.-]*:)?volgnummerTot>\s*([0-9]{1,15})\s*</.exec(text)?.[1];
  if (tot === undefined) return undefined;
  const meer = /<(?:[A-Za-z_][\w.-]*:)?meerMutaties>\s*(true|1)\s*</.test(text);
  return { volgnummerTot: Number(tot), meer };
}
