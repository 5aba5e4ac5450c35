/**
 * Every answer from ROD is bounded: its size (refused while it streams in),
 * its duration (headers and body within twice rod.timeoutSeconds), the number
 * of items on a page (no more than asked for) and the numbers in an item (an
 * absurd one quarantines the item, not the page). Against a tiny mutual-TLS
 * server with the test PKI that misbehaves on purpose.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pkcs1SigningKey } from '../../../src/certs/signing-key.js';
import { EdukoppelingTransport } from '../../../src/feed/edukoppeling/client.js';
import { failure } from '../../support/rod-failure.js';
import { ingestPage } from '../../../src/feed/ingest.js';
import { RestTransport } from '../../../src/feed/rest/client.js';
import { silentLogger } from '../../../src/observability/log.js';
import { MeldingGenerator } from '../../../src/simulator/generate.js';
import { Store } from '../../../src/store/store.js';
import { testConfig } from '../../support/config.js';
import { duoResponse, fetchPayload, MELDING } from '../../support/edukoppeling-response.js';

const pki = inject('pkiG4');
const read = (f: string) => readFileSync(f, 'utf8');
const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-rod-limits-'));
const tls = { certPem: read(pki.clientCert), keyPem: read(pki.clientKey), anchorsPem: read(pki.trustAnchors) };

let server: Server;
let base: string;
let handle: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_req, res) => res.end();

beforeAll(async () => {
  server = createServer({ cert: read(pki.serverCert), key: read(pki.serverKey), ca: read(pki.trustAnchors), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => handle(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://localhost:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function rest(options: { maxResponseBytes?: number; timeoutSeconds?: number } = {}): RestTransport {
  return new RestTransport({ baseUrl: `${base}/verzuim/v1`, gemeentecode: '0344', timeoutSeconds: options.timeoutSeconds ?? 10, maxResponseBytes: options.maxResponseBytes, tls, log: silentLogger, wait: () => Promise.resolve() });
}

/** Streams `total` bytes of a JSON-looking body in chunks, minding back-pressure; resolves with what was written when the connection ends. */
function streamBody(total: number, headers: Record<string, string> = {}): Promise<{ written: number; finished: boolean }> {
  return new Promise((resolve) => {
    handle = (_req, res) => {
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      let written = 0;
      let finished = false;
      res.writeHead(200, { 'content-type': 'application/json', ...headers });
      const pump = () => {
        while (written < total && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end(() => (finished = true));
      };
      res.on('close', () => resolve({ written, finished }));
      pump();
    };
  });
}

describe('limits on what ROD sends', () => {
  it('refuses a body over rod.maxResponseBytes while it streams, and closes the connection early', async () => {
    const total = 32 * 1024 * 1024;
    const served = streamBody(total);
    const rod = rest({ maxResponseBytes: 64 * 1024 });
    try {
      const err = await failure(rod.fetchPage(0, 10));
      expect(err.kind).toBe('invalid-response');
      expect(err.message).toContain('rod.maxResponseBytes (65536 bytes)');
      const { written, finished } = await served;
      expect(finished).toBe(false);
      // The client stopped reading long before the server could write it all.
      expect(written).toBeLessThan(total / 4);
    } finally {
      await rod.close();
    }
  });

  it('refuses a declared Content-Length over the limit before reading the body', async () => {
    const served = streamBody(4 * 1024 * 1024, { 'content-length': String(4 * 1024 * 1024) });
    const rod = rest({ maxResponseBytes: 1024 });
    try {
      expect((await failure(rod.fetchPage(0, 10))).message).toContain('rod.maxResponseBytes (1024 bytes)');
      expect((await served).finished).toBe(false);
    } finally {
      await rod.close();
    }
  });

  it('gives up on a body that drips in past twice rod.timeoutSeconds, though each gap is short', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"verzuimmeldingen": [');
      const drip = setInterval(() => res.write(' '), 100);
      res.on('close', () => clearInterval(drip));
    };
    const rod = rest({ timeoutSeconds: 0.5 });
    const started = Date.now();
    try {
      const err = await failure(rod.fetchPage(0, 10));
      expect(err.kind).toBe('timeout');
      expect(err.message).toContain('twice rod.timeoutSeconds');
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await rod.close();
    }
  });

  it('refuses a REST page with more items than its limit', async () => {
    const item = { ...MELDING };
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ verzuimmeldingen: [item, item, item], volgnummerTot: 88120, meer: false }));
    };
    const rod = rest();
    try {
      const err = await failure(rod.fetchPage(0, 2));
      expect(err.kind).toBe('invalid-response');
      expect(err.message).toContain('3 items for a page of at most 2 (limit)');
    } finally {
      await rod.close();
    }
  });

  it('refuses an Edukoppeling page with more meldingen than maximumAantal', async () => {
    const duo = { signerCert: new X509Certificate(read(pki.serverCert).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0]), signerKey: pkcs1SigningKey(createPrivateKey(read(pki.serverKey))) };
    handle = (_req, res, body) => {
      const relatesTo = /<wsa:MessageID[^>]*>([^<]+)<\/wsa:MessageID>/.exec(body)?.[1] ?? '';
      res.writeHead(200, { 'content-type': 'text/xml; charset=UTF-8' });
      res.end(duoResponse({ ...duo, relatesTo, payload: fetchPayload([MELDING, { ...MELDING, meldingsnummer: '2026004712', volgnummer: 88121 }], 88121, false) }));
    };
    const rod = new EdukoppelingTransport({
      baseUrl: `${base}/ROD/services/verzuim1.0`,
      gemeentecode: '0344',
      municipalityOin: '00000001002220647000',
      timeoutSeconds: 10,
      log: silentLogger,
      tls,
      edukoppeling: { to: 'https://duo.nl/ROD/services/verzuim1.0', duoOin: '00000001800866472000', signerOin: '00000001800866472000', contract: 'DUO_ROD_Verzuim_Gemeente_V1', clockSkewSeconds: 300 },
      wait: () => Promise.resolve(),
    });
    try {
      const err = await failure(rod.fetchPage(88100, 1));
      expect(err.kind).toBe('invalid-response');
      expect(err.message).toContain('2 items for a page of at most 1 (maximumAantal)');
    } finally {
      await rod.close();
    }
  });

  it('quarantines an item with an absurd number, and stores the rest of the page', () => {
    const config = testConfig({ pki, dir });
    const generator = new MeldingGenerator({ seed: 11, gemeentecode: config.gemeenten[0]!.municipality.code });
    const good = { ...generator.nieuweMelding(), volgnummer: 1 };
    const hours = { ...generator.nieuweMelding(), volgnummer: 2, aantalUrenVerzuim: 1e300 };
    const huisnummer = { ...generator.nieuweMelding(), volgnummer: 3 };
    huisnummer.leerling = { ...huisnummer.leerling, adres: { straatnaam: 'Lange Nieuwstraat', huisnummer: 1e12, postcode: '3512PA', woonplaats: 'Utrecht' } };
    const volgnummer = { ...generator.nieuweMelding(), volgnummer: Number.MAX_SAFE_INTEGER + 2 };
    const store = Store.open(config.storage.path, config.gemeenten[0]!.municipality.code);
    try {
      const items = [good, hours, huisnummer, volgnummer].map((value) => ({ value, raw: JSON.stringify(value) }));
      const counts = ingestPage({ store, config, gemeente: config.gemeenten[0]!, log: silentLogger, now: () => new Date(), cycleId: null, forwardMail: true }, { items, volgnummerTot: 3 }, 0);
      expect(counts).toMatchObject({ processed: 1, quarantined: 3 });
      expect(store.quarantine.list('open').map((r) => r.reason)).toEqual([
        expect.stringContaining('aantalUrenVerzuim'),
        expect.stringContaining('leerling.adres.huisnummer'),
        expect.stringContaining('volgnummer'),
      ]);
      expect(store.meldingen.get('0344', good.meldingsnummer)).toBeDefined();
    } finally {
      store.close();
    }
  });
});

describe('what a REST page stores', () => {
  it('keeps each item as the text of what arrived, whenever and however often that text is read, quarantined items included', async () => {
    const config = testConfig({ pki, dir: mkdtempSync(path.join(dir, 'rest-page-')) });
    const generator = new MeldingGenerator({ seed: 12, gemeentecode: config.gemeenten[0]!.municipality.code });
    const good = { ...generator.nieuweMelding(), volgnummer: 1, schooljaar: '2026-2027', toelichting: 'Çakır, Zeeën, 日本 – "niet" \\ gezien' };
    const bad = { ...generator.nieuweMelding(), volgnummer: 2, aantalUrenVerzuim: 1e300 };
    const text = JSON.stringify({ verzuimmeldingen: [good, bad], volgnummerTot: 2, meer: false });
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text);
    };
    const served = (JSON.parse(text) as { verzuimmeldingen: unknown[] }).verzuimmeldingen.map((item) => JSON.stringify(item));
    const transport = rest();
    const store = Store.open(config.storage.path, config.gemeenten[0]!.municipality.code);
    try {
      const page = await transport.fetchPage(0, 500);
      expect(page.items.map((item) => item.raw)).toEqual(served);
      const counts = ingestPage({ store, config, gemeente: config.gemeenten[0]!, log: silentLogger, now: () => new Date(), cycleId: null, forwardMail: true }, page, 0);
      expect(counts).toMatchObject({ processed: 1, quarantined: 1 });
      // Validated and stored in between: the text read after is still what arrived.
      expect(page.items.map((item) => item.raw)).toEqual(served);
      expect(store.db.prepare('SELECT payload FROM mutations').pluck().all()).toEqual([served[0]]);
      expect(store.quarantine.list('open').map((r) => r.payload)).toEqual([served[1]]);
    } finally {
      store.close();
      await transport.close();
    }
  });
});

describe('rod.maxResponseBytes', () => {
  it('defaults to 20 MB and must be a positive integer', () => {
    expect(testConfig({ pki, dir }).rod.maxResponseBytes).toBe(20_971_520);
    expect(testConfig({ pki, dir, overrides: { rod: { maxResponseBytes: 1024 } } }).rod.maxResponseBytes).toBe(1024);
    for (const bad of [0, -1, 1.5]) expect(() => testConfig({ pki, dir, overrides: { rod: { maxResponseBytes: bad } } })).toThrow(/rod\.maxResponseBytes/);
  });
});
