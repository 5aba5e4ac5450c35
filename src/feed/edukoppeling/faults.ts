/**
 * What an unsuccessful Edukoppeling answer means (response rules 1, 5, 6).
 *
 * A SOAP Fault (HTTP 500) is unsigned: it is read only to name the code in
 * the error that ends the cycle, never to decide anything that stores data.
 * Its text, like a refusal's fouttekst, comes from the other side of the
 * wire and may name a pupil: the message that reaches the log, the audit log
 * and `status` names the code (cleaned by cleanOutsideText) and the relay's
 * own advice, and says that ROD's text was withheld (withheldText).
 */
import { DOMParser, type Element } from '@xmldom/xmldom';
import { cleanOutsideText, withheldText } from '../../observability/outside-text.js';
import { RodError } from '../errors.js';
import { childElements, textOf } from './contract.js';
import { NS } from './wire.js';

export interface FaultContext {
  requestId: string;
  /** The OIN in wsa:From (municipality.oin), which DUO authorises the certificate for. */
  fromOin: string;
  gemeentecode: string;
}

export interface SoapFault {
  /** Without its prefix: `Client.EK0030`, `Server.DK0050`. */
  code: string;
  text: string;
}

/** The Fault in a SOAP 1.1 envelope, selected by namespace; undefined when the text is not one. */
export function parseFault(text: string): SoapFault | undefined {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return undefined;
  let root: Element | null;
  try {
    root = new DOMParser({ onError: () => undefined }).parseFromString(text, 'text/xml').documentElement;
  } catch {
    return undefined;
  }
  const is = (el: Element | undefined, ns: string, name: string) => el?.namespaceURI === ns && el.localName === name;
  if (!root || !is(root, NS.soap, 'Envelope')) return undefined;
  const body = childElements(root).find((c) => is(c, NS.soap, 'Body'));
  const fault = body && childElements(body).find((c) => is(c, NS.soap, 'Fault'));
  if (!fault) return undefined;
  // SOAP 1.1 puts faultcode and faultstring in no namespace.
  const field = (name: string) => {
    const el = childElements(fault).find((c) => !c.namespaceURI && c.localName === name);
    return el ? textOf(el).trim() : '';
  };
  const qname = field('faultcode');
  const code = cleanOutsideText(qname.includes(':') ? qname.slice(qname.indexOf(':') + 1) : qname, { max: 64 });
  return { code, text: cleanOutsideText(field('faultstring')) };
}

/** What to check for a fault code DUO documents; empty for one it does not. */
function adviceFor(code: string, ctx: FaultContext): string {
  const number = /^Client\.(DK|EK)(\d{4})$/.exec(code);
  if (code === 'Client.EK0030') {
    return `DUO has not registered or not authorised this certificate for OIN ${ctx.fromOin} (municipality.oin, sent in wsa:From): send the certificate to DUO with the files from \`verzuim-relay cert bundle\``;
  }
  if (code === 'Client.EK0031') {
    return 'DUO found the request\'s signature invalid: check that tls.key belongs to tls.cert; if it does, this is a bug in the relay';
  }
  if (number?.[1] === 'EK') {
    return 'an identity or security error: check tls.cert, municipality.oin and rod.edukoppeling (to, duoOin)';
  }
  if (number?.[1] === 'DK') {
    return 'a message error (envelope, content type, SOAPAction, schema or addressing): a bug in the relay or a contract mismatch — check rod.edukoppeling.contract and rod.edukoppeling.to';
  }
  return '';
}

/** The error for a non-200 answer: a SOAP Fault by its code, anything else by its status. */
export function faultError(status: number, text: string, ctx: FaultContext): RodError {
  const fault = parseFault(text);
  if (!fault) {
    const kind = status >= 500 ? 'server' : 'refused';
    return new RodError(kind, `ROD answered HTTP ${status} without a SOAP Fault; request ${ctx.requestId}`, { status });
  }
  const label = [fault.code, withheldText(fault.text)].filter(Boolean).join('; ');
  if (fault.code.startsWith('Server.')) {
    return new RodError('server', `ROD is temporarily unavailable (${label}); the next cycle tries again. Request ${ctx.requestId}`, { status, code: fault.code });
  }
  const advice = adviceFor(fault.code, ctx);
  return new RodError(
    'refused',
    `ROD refused the request (${label})${advice ? `: ${advice}` : ''}. Request ${ctx.requestId}`,
    { status, code: fault.code },
  );
}

/**
 * A business refusal (`requestGoedgekeurd` false) in a verified response.
 * V409 on a status change is an answer ('conflict'), not an error.
 */
export function businessRefusal(
  operation: 'fetch' | 'setStatus',
  foutmelding: { foutcode: string; fouttekst: string } | undefined,
  ctx: FaultContext,
): RodError | 'conflict' {
  const code = cleanOutsideText(foutmelding?.foutcode, { max: 32 }) || '(no foutcode)';
  const text = cleanOutsideText(foutmelding?.fouttekst);
  if (operation === 'setStatus' && code === 'V409') return 'conflict';
  const label = [code, withheldText(text)].filter(Boolean).join('; ');
  const advice: Record<string, string> = {
    V403: `OIN ${ctx.fromOin} may not read gemeentecode ${ctx.gemeentecode}: check municipality.code and municipality.oin, and ask DUO to authorise this OIN for the gemeente`,
    V400: 'DUO found the request invalid: a bug in the relay or a contract mismatch (rod.edukoppeling.contract)',
    V404: 'the melding is unknown at DUO',
  };
  return new RodError('refused', `ROD refused the request (${label})${advice[code] ? `: ${advice[code]}` : ''}. Request ${ctx.requestId}`, { code });
}
