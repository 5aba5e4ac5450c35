/**
 * The Edukoppeling transport against a tiny mutual-TLS server that answers
 * canned (DUO-signed) XML: pages, status reports, faults, business refusals,
 * forged answers and a Retry-After.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { EdukoppelingTransport } from '../../../src/feed/edukoppeling/client.js';
import { pkcs1SigningKey } from '../../../src/certs/signing-key.js';
import { OPERATIONS } from '../../../src/feed/edukoppeling/contract.js';
import { failure } from '../../support/rod-failure.js';
import { silentLogger } from '../../../src/observability/log.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCycle } from '../../../src/app/cycle.js';
import { Store } from '../../../src/store/store.js';
import { configFor, pkiTls } from '../../support/certs.js';
import { duoResponse, fetchPayload, MELDING, refusalPayload } from '../../support/edukoppeling-response.js';

const pki = inject('pkiG4');
const read = (f: string) => readFileSync(f, 'utf8');
const duo = { signerCert: new X509Certificate(read(pki.serverCert).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0]), signerKey: pkcs1SigningKey(createPrivateKey(read(pki.serverKey))) };

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  messageId: string;
}
type Answer = { status: number; headers?: Record<string, string>; text: string };

let server: Server;
let url: string;
let received: Received[] = [];
let answer: (request: Received, index: number) => Answer = () => ({ status: 500, text: '' });

beforeAll(async () => {
  server = createServer({ cert: read(pki.serverCert), key: read(pki.serverKey), ca: read(pki.trustAnchors), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const messageId = /<wsa:MessageID[^>]*>([^<]+)<\/wsa:MessageID>/.exec(body)?.[1] ?? '';
      const request = { headers: req.headers, body, messageId };
      received.push(request);
      const a = answer(request, received.length - 1);
      res.writeHead(a.status, { 'content-type': 'text/xml; charset=UTF-8', ...a.headers });
      res.end(a.text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://localhost:${(server.address() as AddressInfo).port}/ROD/services/verzuim1.0`;
});

afterEach(() => {
  received = [];
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function transport(): EdukoppelingTransport {
  return new EdukoppelingTransport({
    baseUrl: url,
    gemeentecode: '0344',
    municipalityOin: '00000001002220647000',
    timeoutSeconds: 10,
    log: silentLogger,
    tls: { certPem: read(pki.clientCert), keyPem: read(pki.clientKey), anchorsPem: read(pki.trustAnchors) },
    edukoppeling: { to: 'https://duo.nl/ROD/services/verzuim1.0', duoOin: '00000001800866472000', signerOin: '00000001800866472000', contract: 'DUO_ROD_Verzuim_Gemeente_V1', clockSkewSeconds: 300 },
    wait: () => Promise.resolve(),
  });
}

const signed = (request: Received, options: Partial<Parameters<typeof duoResponse>[0]> = {}): Answer => ({
  status: 200,
  text: duoResponse({ ...duo, relatesTo: request.messageId, ...options }),
});

const fault = (code: string, text: string): Answer => ({
  status: 500,
  text: `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:${code}</faultcode><faultstring>${text}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
});

describe('the Edukoppeling transport', () => {
  it('fetches a page: verified meldingen, the cursor, meer, and the MessageID as request id', async () => {
    answer = (r) => signed(r, { payload: fetchPayload([MELDING, { ...MELDING, meldingsnummer: '2026004712', volgnummer: 88121 }], 88121, true) });
    const rod = transport();
    try {
      const page = await rod.fetchPage(88100, 100);
      expect(page.items.map((i) => (i.value as { meldingsnummer: string }).meldingsnummer)).toEqual(['2026004711', '2026004712']);
      expect(page.items[0]!.raw).toMatch(/^<ns2:verzuimmelding xmlns:ns2="http:\/\/duo.nl\/schema\/DUO_ROD_Verzuim_Gemeente_V1">/);
      expect(page).toMatchObject({ volgnummerTot: 88121, meer: true, requestId: received[0]!.messageId });
      const [request] = received;
      expect(request!.headers['content-type']).toBe('text/xml; charset=UTF-8');
      expect(request!.headers.soapaction).toBe('"http://duo.nl/contract/DUO_ROD_Verzuim_Gemeente_V1/opvragen_verzuimmutaties"');
      expect(request!.body).toContain('<duo:vanafVolgnummer>88100</duo:vanafVolgnummer><duo:maximumAantal>100</duo:maximumAantal>');
    } finally {
      await rod.close();
    }
  });

  it('refuses volgnummerTot missing or below vanaf', async () => {
    const rod = transport();
    try {
      answer = (r) => signed(r, { payload: '<ns2:requestGoedgekeurd>true</ns2:requestGoedgekeurd>' });
      expect((await failure(rod.fetchPage(5, 10))).kind).toBe('invalid-response');
      answer = (r) => signed(r, { payload: fetchPayload([], 4) });
      expect((await failure(rod.fetchPage(5, 10))).message).toMatch(/below vanaf 5/);
    } finally {
      await rod.close();
    }
  });

  it('reports a status, and V409 is a conflict', async () => {
    const rod = transport();
    try {
      answer = (r) => signed(r, { operation: OPERATIONS.setStatus, payload: '<ns2:requestGoedgekeurd>true</ns2:requestGoedgekeurd>' });
      expect(await rod.setStatus('2026004711', 'IN_BEHANDELING')).toBe('ok');
      expect(received[0]!.headers.soapaction).toBe('"http://duo.nl/contract/DUO_ROD_Verzuim_Gemeente_V1/wijzigen_statusVerzuimmelding"');
      expect(received[0]!.body).not.toContain('toelichting');
      answer = (r) => signed(r, { operation: OPERATIONS.setStatus, payload: refusalPayload('V409', 'Statusovergang niet toegestaan') });
      expect(await rod.setStatus('2026004711', 'IN_BEHANDELING')).toBe('conflict');
    } finally {
      await rod.close();
    }
  });

  it('ends on Client.EK0030 with the code and what to do', async () => {
    answer = () => fault('Client.EK0030', 'Niet geautoriseerd voor dit OIN');
    const rod = transport();
    try {
      const err = await failure(rod.fetchPage(0, 10));
      expect(err.kind).toBe('refused');
      expect(err.details.code).toBe('Client.EK0030');
      expect(err.message).toMatch(/Client\.EK0030/);
      expect(err.message).toMatch(/cert bundle/);
      expect(err.message).toContain(received[0]!.messageId);
    } finally {
      await rod.close();
    }
  });

  it('names EK0031 as an invalid signature and a DK code as a message error', async () => {
    const rod = transport();
    try {
      answer = () => fault('Client.EK0031', 'De ondertekening van het bericht is ongeldig');
      expect((await failure(rod.fetchPage(0, 10))).message).toMatch(/signature invalid.*tls\.key/);
      answer = () => fault('Client.DK0004', 'Schemafout');
      const err = await failure(rod.fetchPage(0, 10));
      expect(err.kind).toBe('refused');
      expect(err.message).toMatch(/message error.*contract/);
    } finally {
      await rod.close();
    }
  });

  it('treats Server.DK0050 as temporary', async () => {
    answer = () => fault('Server.DK0050', 'Tijdelijk niet beschikbaar');
    const rod = transport();
    try {
      const err = await failure(rod.fetchPage(0, 10));
      expect(err.kind).toBe('server');
      expect(err.details.code).toBe('Server.DK0050');
    } finally {
      await rod.close();
    }
  });

  it('cleans a fault\'s text of control characters and cuts it to 300 characters', async () => {
    answer = () => fault('Client.EK0030', `bad&#x7;\u001b[31mred${'x'.repeat(1000)}`);
    const rod = transport();
    try {
      const err = await failure(rod.fetchPage(0, 10));
      expect(err.message).not.toMatch(/[\u0000-\u001f]/);
      expect(err.message).not.toContain('x'.repeat(301));
      expect(err.message).toContain('Client.EK0030');
    } finally {
      await rod.close();
    }
  });

  it('ends on a business refusal (requestGoedgekeurd false) by its foutcode', async () => {
    answer = (r) => signed(r, { payload: refusalPayload('V403', 'Geen autorisatie voor deze gemeente') });
    const rod = transport();
    try {
      const err = await failure(rod.fetchPage(0, 10));
      expect(err.kind).toBe('refused');
      expect(err.details.code).toBe('V403');
      expect(err.message).toMatch(/may not read gemeentecode 0344/);
    } finally {
      await rod.close();
    }
  });

  it('refuses a forged answer as unverified', async () => {
    answer = (r) => {
      const a = signed(r);
      return { ...a, text: a.text.replace('Oudegracht', 'Elders') };
    };
    const rod = transport();
    try {
      const err = await failure(rod.fetchPage(0, 10));
      expect(err.kind).toBe('unverified');
      expect(err.message).toContain(received[0]!.messageId);
    } finally {
      await rod.close();
    }
  });

  it('sends a freshly signed message after a 503 Retry-After, and matches the answer to it', async () => {
    answer = (r, i) => (i === 0 ? { status: 503, headers: { 'retry-after': '1' }, text: 'onderhoud' } : signed(r));
    const rod = transport();
    try {
      const page = await rod.fetchPage(0, 10);
      expect(received).toHaveLength(2);
      expect(received[1]!.messageId).not.toBe(received[0]!.messageId);
      expect(page.requestId).toBe(received[1]!.messageId);
    } finally {
      await rod.close();
    }
  });
});

describe('a cycle over Edukoppeling', () => {
  it('stores the verified page, then ends on a forged one with nothing of it stored and the cursor where it was', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-ek-cycle-'));
    const config = configFor(pkiTls(pki), dir);
    const store = Store.open(config.storage.path, '0344');
    const sent: unknown[] = [];
    const rod = transport();
    try {
      answer = (r, i) => {
        if (i === 0) return signed(r, { payload: fetchPayload([MELDING], 88120, true) });
        const forged = signed(r, { payload: fetchPayload([{ ...MELDING, meldingsnummer: '2026009999', volgnummer: 88121 }], 88121, false) });
        return { ...forged, text: forged.text.replace('2026009999', '2026000666') };
      };
      const result = await runCycle({ config, store, rod, sender: { send: async (m) => (sent.push(m), { response: '250 ok' }), close: () => undefined }, log: silentLogger });
      expect(result.outcome).toBe('failed');
      expect(result.error).toMatch(/did not verify/);
      expect(store.cursor.get().volgnummer).toBe(88120);
      const stored = store.db.prepare('SELECT COUNT(*) AS n FROM meldingen').get() as { n: number };
      expect(stored.n).toBe(1);
      expect(JSON.stringify(sent)).not.toContain('2026000666');
    } finally {
      await rod.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
