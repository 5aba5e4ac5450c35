/**
 * The ceilings the relay is measured against: what the simulator and the
 * SMTP sink can do with no relay in between. Same TLS settings as the relay
 * (its client certificate, its trust anchors, its undici agent for ROD; its
 * STARTTLS settings and smtp.maxConnections for SMTP), and no processing:
 * pages are fetched and only volgnummerTot and meer are read from them; the
 * same mail is sent again and again from a plain nodemailer pool.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { Config } from '../../src/config/schema.js';
import { certificateOin, edukoppelingSettings } from '../../src/config/schema.js';
import { loadClientCredentials } from '../../src/certs/credentials.js';
import { pkcs1SigningKey } from '../../src/certs/signing-key.js';
import { actionOf, contractNamed, OPERATIONS } from '../../src/feed/edukoppeling/contract.js';
import { buildRequestEnvelope } from '../../src/feed/edukoppeling/envelope.js';
import { signEnvelope } from '../../src/feed/edukoppeling/sign.js';
import { RodHttp } from '../../src/feed/http.js';
import type { OutgoingMail } from '../../src/mail/smtp.js';
import { silentLogger } from '../../src/observability/log.js';

export interface Rate {
  count: number;
  seconds: number;
  perSecond: number;
}

const rate = (count: number, started: bigint): Rate => {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { count, seconds, perSecond: count / seconds };
};

/**
 * The feed's pages from the start, fetched as the relay fetches them, read for
 * nothing but where the next one starts: all of them, or the first `maxPages`
 * (a rate needs no more; over Edukoppeling the simulator signs each page, which
 * for 150,000 meldingen alone takes minutes).
 */
export async function rawPageRate(config: Config, maxPages = Number.POSITIVE_INFINITY): Promise<Rate & { pages: number }> {
  const credentials = loadClientCredentials(config.tls, certificateOin(config));
  const http = new RodHttp({
    baseUrl: config.rod.url,
    timeoutSeconds: config.rod.timeoutSeconds,
    maxResponseBytes: config.rod.maxResponseBytes,
    log: silentLogger,
    tls: { certPem: credentials.certPem, keyPem: credentials.keyPem, anchorsPem: credentials.anchorsPem },
  });
  const gemeente = config.gemeenten[0]!.municipality;
  const gemeentecode = gemeente.code;
  const limit = config.rod.pageSize;
  const edukoppeling = config.rod.protocol === 'edukoppeling' ? edukoppelingSettings(config.rod) : undefined;
  const contract = contractNamed(edukoppeling?.contract);
  const certificate = new X509Certificate(credentials.certPem);
  const key = pkcs1SigningKey(createPrivateKey(credentials.keyPem));
  let vanaf = 0;
  let pages = 0;
  let items = 0;
  const started = process.hrtime.bigint();
  try {
    for (;;) {
      let text: string;
      if (edukoppeling) {
        // A request must be signed for the simulator to answer it; the answer is not verified.
        const fields = { gemeentecode, vanafVolgnummer: vanaf, maximumAantal: limit };
        // Signed afresh for each attempt, as the relay does: a retry must carry a new MessageID.
        const signed = () =>
          signEnvelope(
            buildRequestEnvelope({ to: edukoppeling.to, duoOin: edukoppeling.duoOin, fromOin: gemeente.oin, contract }, OPERATIONS.fetch, fields, certificate, new Date()),
            key,
          );
        const answer = await http.exchange({
          method: 'POST',
          path: '',
          headers: { 'content-type': 'text/xml; charset=UTF-8', soapaction: `"${actionOf(contract, OPERATIONS.fetch)}"` },
          body: signed,
        });
        text = answer.text;
        if (answer.status !== 200) throw new Error(`raw fetch: HTTP ${answer.status}: ${text.slice(0, 600)}`);
        items += text.split(':verzuimmelding>').length >> 1;
      } else {
        const answer = await http.exchange({
          method: 'GET',
          path: `/gemeenten/${gemeentecode}/verzuimmeldingen?vanaf=${vanaf}&limit=${limit}`,
          headers: { accept: 'application/json' },
        });
        text = answer.text;
        if (answer.status !== 200) throw new Error(`raw fetch: HTTP ${answer.status}: ${text.slice(0, 600)}`);
        items += text.split('"meldingsnummer"').length - 1;
      }
      pages++;
      const tot = /volgnummerTot"?[:>]\s*([0-9]+)/.exec(text)?.[1];
      const meer = /"meer"\s*:\s*true|meerMutaties>true</.test(text);
      if (tot === undefined) throw new Error('raw fetch: no volgnummerTot in the answer');
      if (!meer || pages >= maxPages) break;
      vanaf = Number(tot);
    }
  } finally {
    await http.close();
  }
  return { ...rate(items, started), pages };
}

/** `count` copies of `mail` through a plain nodemailer pool with the relay's SMTP settings, smtp.maxConnections at a time. */
export async function rawSmtpRate(config: Config, mail: OutgoingMail, count: number): Promise<Rate> {
  const smtp = config.smtp;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: !smtp.secure && smtp.requireTLS,
    tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2', servername: smtp.host, ...(smtp.ca ? { ca: readFileSync(smtp.ca) } : {}) },
    pool: true,
    maxConnections: smtp.maxConnections,
    maxMessages: 100,
  });
  let next = 0;
  const started = process.hrtime.bigint();
  const lane = async () => {
    while (next < count) {
      next++;
      await transport.sendMail({ from: smtp.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, headers: mail.headers, messageId: mail.messageId, date: new Date() });
    }
  };
  try {
    await Promise.all(Array.from({ length: smtp.maxConnections }, lane));
  } finally {
    transport.close();
  }
  return rate(count, started);
}
