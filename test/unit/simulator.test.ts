/**
 * The ROD simulator, spoken to the way the relay speaks to ROD: undici over
 * mutual TLS with certificates from the test PKI (G4, RSASSA-PSS).
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { passesElfproef, type Verzuimmelding } from '../../src/domain/melding.js';
import { problemSchema, validateItem } from '../../src/feed/contract.js';
import type { Logger, LogFields } from '../../src/observability/log.js';
import { simulatorCommand } from '../../src/app/commands/simulator.js';
import { SimulatedFeed } from '../../src/simulator/feed.js';
import { MeldingGenerator, advanceFeed } from '../../src/simulator/generate.js';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/server.js';
import { addDays, ageOn, amsterdamDate, amsterdamHour, amsterdamInstant, formatDateTime, weekday } from '../../src/simulator/time.js';
import { findRoute, type Route } from '../../src/simulator/router.js';
import { ROUTES } from '../../src/simulator/routes.js';

const pki = inject('pkiG4');
const foreign = inject('pkiForeign');
/** The OIN in the G4 test client certificate. */
const CLIENT_OIN = '00000001002220647000';
const OTHER_OIN = '00000001009999999000';
const NOW = new Date('2026-11-24T10:00:00+01:00');
const now = () => NOW;

let tmp: string;
let agent: Agent;
const running: RunningSimulator[] = [];

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-simulator-'));
  agent = new Agent({
    connect: { ca: readFileSync(pki.trustAnchors), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) },
  });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await agent.close();
  rmSync(tmp, { recursive: true, force: true });
});

interface Logged {
  event: string;
  fields: Record<string, unknown>;
}

async function start(feed: SimulatedFeed, extra: Partial<SimulatorOptions> = {}): Promise<RunningSimulator & { logged: Logged[] }> {
  const logged: Logged[] = [];
  const simulator = await startSimulator({
    cert: readFileSync(pki.serverCert),
    key: readFileSync(pki.serverKey),
    clientCa: readFileSync(pki.trustAnchors),
    gemeenten: { '0344': { oin: CLIENT_OIN }, '0599': { oin: OTHER_OIN }, '0363': {} },
    feed,
    log: (event, fields) => logged.push({ event, fields }),
    ...extra,
  });
  running.push(simulator);
  return Object.assign(simulator, { logged });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

async function call(
  simulator: RunningSimulator,
  pathAndQuery: string,
  options: { method?: 'GET' | 'PUT' | 'POST'; body?: string; headers?: Record<string, string>; dispatcher?: Agent } = {},
): Promise<Answer> {
  const response = await request(simulator.url + pathAndQuery, {
    method: options.method ?? 'GET',
    dispatcher: options.dispatcher ?? agent,
    headers: options.headers,
    body: options.body,
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

const putStatus = (simulator: RunningSimulator, meldingsnummer: string, body: unknown) =>
  call(simulator, `/verzuimmeldingen/${meldingsnummer}/status`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

function expectProblem(answer: Answer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe('application/problem+json');
  expect(problemSchema.safeParse(answer.json).success).toBe(true);
  expect(answer.json).toMatchObject({ status, code });
  // Dutch, human titles.
  expect(answer.json.title).toMatch(/^[A-Z]/);
}

/** A feed for 0344 with some history, and a few meldingen of another gemeente in between. */
function populatedFeed(seed = 3): { feed: SimulatedFeed; gen: MeldingGenerator } {
  const feed = new SimulatedFeed({ seed });
  const gen = new MeldingGenerator({ seed, gemeentecode: '0344', now });
  const other = new MeldingGenerator({ seed: seed + 100, gemeentecode: '0599', now });
  advanceFeed(feed, gen, { nieuw: 20, wijzigingen: 0, intrekkingen: 0 });
  advanceFeed(feed, other, { nieuw: 5, wijzigingen: 0, intrekkingen: 0 });
  advanceFeed(feed, gen, { nieuw: 10, wijzigingen: 8, intrekkingen: 3 });
  return { feed, gen };
}

function volgnummers(items: unknown[]): number[] {
  return items.map((item) => (item as Verzuimmelding).volgnummer);
}

describe('the feed over mutual TLS', () => {
  it('pages with an exclusive vanaf, ascending, across gaps, only for the asked gemeente', async () => {
    const { feed } = populatedFeed();
    const simulator = await start(feed);
    const expected = volgnummers(feed.page('0344', 0, 10_000).verzuimmeldingen);
    expect(expected.length).toBe(41);

    const seen: number[] = [];
    let vanaf = 0;
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(20);
      const answer = await call(simulator, `/gemeenten/0344/verzuimmeldingen?vanaf=${vanaf}&limit=7`);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('application/json');
      const page = answer.json as { verzuimmeldingen: Verzuimmelding[]; volgnummerTot: number; meer: boolean };
      const numbers = volgnummers(page.verzuimmeldingen);
      expect(numbers.length).toBeLessThanOrEqual(7);
      expect(numbers.every((n) => n > vanaf)).toBe(true);
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
      expect(page.verzuimmeldingen.every((m) => m.gemeentecode === '0344')).toBe(true);
      if (numbers.length) expect(page.volgnummerTot).toBe(numbers[numbers.length - 1]);
      seen.push(...numbers);
      vanaf = page.volgnummerTot;
      if (!page.meer) break;
      expect(numbers.length).toBe(7);
    }
    expect(seen).toEqual(expected);

    // Past the end: an empty page that keeps the cursor where it is.
    const end = await call(simulator, `/gemeenten/0344/verzuimmeldingen?vanaf=${vanaf}`);
    expect(end.json).toEqual({ verzuimmeldingen: [], volgnummerTot: vanaf, meer: false });

    // Volgnummers have gaps; a vanaf inside a gap starts at the next existing one.
    const gapAt = expected.findIndex((n, i) => i > 0 && n - expected[i - 1]! > 1);
    expect(gapAt).toBeGreaterThan(0);
    const [before, after] = [expected[gapAt - 1]!, expected[gapAt]!];
    for (const from of [before, before + 1, after - 1]) {
      const page = await call(simulator, `/gemeenten/0344/verzuimmeldingen?vanaf=${from}&limit=1`);
      expect(volgnummers(page.json.verzuimmeldingen)).toEqual([after]);
    }
    const exact = await call(simulator, `/gemeenten/0344/verzuimmeldingen?vanaf=${after}&limit=1`);
    expect(volgnummers(exact.json.verzuimmeldingen)).toEqual([expected[gapAt + 1]]);

    // The other gemeente sees only its own meldingen (with its own certificate; here the OIN check is off for 0363).
    const own = await call(simulator, '/gemeenten/0363/verzuimmeldingen');
    expect(own.json).toEqual({ verzuimmeldingen: [], volgnummerTot: 0, meer: false });
  });

  it('refuses a limit outside 1..500 and a malformed vanaf with a 400 problem', async () => {
    const simulator = await start(populatedFeed().feed);
    for (const query of ['limit=0', 'limit=501', 'limit=abc', 'limit=-1', 'limit=1.5', 'limit=', 'vanaf=-1', 'vanaf=x', 'limit=5&limit=6']) {
      const answer = await call(simulator, `/gemeenten/0344/verzuimmeldingen?${query}`);
      expectProblem(answer, 400, 'ROD-400-PARAMETER');
      expect(answer.json.detail).toMatch(/limit|vanaf/);
    }
    expect((await call(simulator, '/gemeenten/0344/verzuimmeldingen?limit=500')).status).toBe(200);
    expect((await call(simulator, '/gemeenten/0344/verzuimmeldingen?limit=1')).json.verzuimmeldingen).toHaveLength(1);
    // The default limit is 100.
    expect((await call(simulator, '/gemeenten/0344/verzuimmeldingen')).json.verzuimmeldingen).toHaveLength(41);
    expectProblem(await call(simulator, '/gemeenten/344/verzuimmeldingen'), 400, 'ROD-400-PARAMETER');
  });

  it('re-serves earlier mutations out of order after replayNext, without moving volgnummerTot', async () => {
    const { feed } = populatedFeed();
    const simulator = await start(feed);
    const first = await call(simulator, '/gemeenten/0344/verzuimmeldingen?limit=20');
    const served = new Map((first.json.verzuimmeldingen as Verzuimmelding[]).map((m) => [m.volgnummer, m]));
    const cursor: number = first.json.volgnummerTot;

    feed.replayNext(3);
    const page = await call(simulator, `/gemeenten/0344/verzuimmeldingen?vanaf=${cursor}&limit=5`);
    const items = page.json.verzuimmeldingen as Verzuimmelding[];
    const replayed = items.filter((m) => m.volgnummer <= cursor);
    const fresh = items.filter((m) => m.volgnummer > cursor);
    // Re-served items count towards the limit: the relay refuses a page larger than it asked for.
    expect(items).toHaveLength(5);
    expect(replayed).toHaveLength(3);
    expect(fresh).toHaveLength(2);
    expect(volgnummers(items)).not.toEqual([...volgnummers(items)].sort((a, b) => a - b));
    for (const m of replayed) expect(m).toEqual(served.get(m.volgnummer));
    expect(page.json.volgnummerTot).toBe(fresh[fresh.length - 1]!.volgnummer);

    // Only once.
    const again = await call(simulator, `/gemeenten/0344/verzuimmeldingen?vanaf=${cursor}&limit=5`);
    expect(volgnummers(again.json.verzuimmeldingen).slice(0, 2)).toEqual(volgnummers(fresh));
    expect(volgnummers(again.json.verzuimmeldingen).every((n) => n > cursor)).toBe(true);

    // A page of nothing but re-served mutations leaves the cursor at vanaf.
    const last: number = feed.lastVolgnummer;
    feed.replayNext(2);
    const onlyOld = await call(simulator, `/gemeenten/0344/verzuimmeldingen?vanaf=${last}`);
    expect(onlyOld.json.verzuimmeldingen).toHaveLength(2);
    expect(volgnummers(onlyOld.json.verzuimmeldingen).every((n) => n <= last)).toBe(true);
    expect(onlyOld.json.volgnummerTot).toBe(last);
    expect(onlyOld.json.meer).toBe(false);
  });

  it('answers injected 503 and 429 with problem+json and Retry-After, then recovers', async () => {
    const simulator = await start(populatedFeed().feed);
    simulator.feed.failNext(503, { retryAfter: '120', times: 2 });
    for (let i = 0; i < 2; i++) {
      const answer = await call(simulator, '/gemeenten/0344/verzuimmeldingen', { headers: { 'x-request-id': `r-${i}` } });
      expectProblem(answer, 503, 'ROD-503-ONDERHOUD');
      expect(answer.headers['retry-after']).toBe('120');
      expect(answer.headers['x-request-id']).toBe(`r-${i}`);
    }
    expect((await call(simulator, '/gemeenten/0344/verzuimmeldingen')).status).toBe(200);

    simulator.feed.failNext(429);
    const throttled = await call(simulator, '/verzuimmeldingen/1');
    expectProblem(throttled, 429, 'ROD-429-LIMIET');
    expect(throttled.headers['retry-after']).toBe('1');

    simulator.feed.failNext(500);
    const broken = await call(simulator, '/gemeenten/0344/verzuimmeldingen');
    expectProblem(broken, 500, 'ROD-500-INTERN');
    expect(broken.headers['retry-after']).toBeUndefined();
    expect(simulator.feed.requests.map((r) => r.status)).toEqual([503, 503, 200, 429, 500]);
  });

  it('refuses a certificate whose OIN is not registered for the gemeente with 403 ROD-403-OIN', async () => {
    const { feed } = populatedFeed();
    const simulator = await start(feed);
    const forbidden = await call(simulator, '/gemeenten/0599/verzuimmeldingen');
    expectProblem(forbidden, 403, 'ROD-403-OIN');
    expect(forbidden.json.detail).toContain('0599');

    // A melding of that gemeente cannot be read or changed either.
    const otherMelding = feed.meldingen('0599')[0]!;
    expectProblem(await call(simulator, `/verzuimmeldingen/${otherMelding.meldingsnummer}`), 403, 'ROD-403-OIN');
    expectProblem(await putStatus(simulator, otherMelding.meldingsnummer, { status: 'IN_BEHANDELING' }), 403, 'ROD-403-OIN');
    expect(feed.current(otherMelding.meldingsnummer)!.status).toBe('GEREGISTREERD');

    // A gemeente ROD does not know.
    expectProblem(await call(simulator, '/gemeenten/9999/verzuimmeldingen'), 404, 'ROD-404-GEMEENTE');
    // The OIN the server read from the certificate is on record.
    expect(feed.requests[0]).toMatchObject({ oin: CLIENT_OIN, status: 403 });
  });

  it('serves without an OIN check when no gemeenten are configured', async () => {
    const { feed } = populatedFeed();
    const simulator = await start(feed, { gemeenten: undefined });
    const page = await call(simulator, '/gemeenten/0599/verzuimmeldingen');
    expect(page.status).toBe(200);
    expect(page.json.verzuimmeldingen).toHaveLength(5);
  });
});

describe('meldingen and their status', () => {
  it('returns the current state of one melding', async () => {
    const { feed } = populatedFeed();
    const simulator = await start(feed);
    const melding = feed.meldingen('0344')[4]!;
    const answer = await call(simulator, `/verzuimmeldingen/${melding.meldingsnummer}`);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual(melding);
    expectProblem(await call(simulator, '/verzuimmeldingen/123456789012'), 404, 'ROD-404-MELDING');
    expectProblem(await call(simulator, '/verzuimmeldingen/12a'), 400, 'ROD-400-PARAMETER');
  });

  it('accepts the allowed transitions with 204, is idempotent, and refuses the others with 409', async () => {
    const feed = new SimulatedFeed({ seed: 9, now });
    const gen = new MeldingGenerator({ seed: 9, gemeentecode: '0344', now });
    const a = feed.append(gen.nieuweMelding());
    const b = feed.append(gen.nieuweMelding());
    const c = feed.append(gen.nieuweMelding());
    const withdrawn = feed.append(gen.intrekking(feed.append(gen.nieuweMelding())));
    const simulator = await start(feed);

    const before = feed.lastVolgnummer;
    const accepted = await putStatus(simulator, a.meldingsnummer, { status: 'IN_BEHANDELING', toelichting: 'Leerplichtambtenaar neemt contact op.' });
    expect(accepted.status).toBe(204);
    expect(accepted.text).toBe('');
    const changed = feed.current(a.meldingsnummer)!;
    expect(changed.status).toBe('IN_BEHANDELING');
    expect(changed.volgnummer).toBeGreaterThan(before);
    expect(Date.parse(changed.gewijzigdOp)).toBeGreaterThan(Date.parse(a.gewijzigdOp));
    expect(validateItem(changed).ok).toBe(true);
    // The school's own toelichting is untouched; the municipality's is kept on the side.
    expect(changed.toelichting).toBe(a.toelichting);
    expect(feed.statusWijzigingen).toEqual([
      { meldingsnummer: a.meldingsnummer, status: 'IN_BEHANDELING', toelichting: 'Leerplichtambtenaar neemt contact op.', volgnummer: changed.volgnummer },
    ]);
    // The change is in the feed as a new mutation.
    const page = await call(simulator, `/gemeenten/0344/verzuimmeldingen?vanaf=${before}`);
    expect(page.json.verzuimmeldingen).toEqual([changed]);

    // Same status again: accepted, nothing appended.
    expect((await putStatus(simulator, a.meldingsnummer, { status: 'IN_BEHANDELING' })).status).toBe(204);
    expect(feed.lastVolgnummer).toBe(changed.volgnummer);

    expect((await putStatus(simulator, a.meldingsnummer, { status: 'AFGESLOTEN' })).status).toBe(204);
    expectProblem(await putStatus(simulator, a.meldingsnummer, { status: 'IN_BEHANDELING' }), 409, 'ROD-409-STATUS');
    expectProblem(await putStatus(simulator, a.meldingsnummer, { status: 'TER_KENNISGEVING_AANGENOMEN' }), 409, 'ROD-409-STATUS');

    expectProblem(await putStatus(simulator, b.meldingsnummer, { status: 'AFGESLOTEN' }), 409, 'ROD-409-STATUS');
    expect((await putStatus(simulator, b.meldingsnummer, { status: 'TER_KENNISGEVING_AANGENOMEN' })).status).toBe(204);
    expect((await putStatus(simulator, c.meldingsnummer, { status: 'IN_BEHANDELING' })).status).toBe(204);
    expect((await putStatus(simulator, c.meldingsnummer, { status: 'TER_KENNISGEVING_AANGENOMEN' })).status).toBe(204);

    const refused = await putStatus(simulator, withdrawn.meldingsnummer, { status: 'IN_BEHANDELING' });
    expectProblem(refused, 409, 'ROD-409-STATUS');
    expect(refused.json.detail).toMatch(/ingetrokken/);
    expect(feed.current(withdrawn.meldingsnummer)!.status).toBe('INGETROKKEN');

    expectProblem(await putStatus(simulator, '999999', { status: 'IN_BEHANDELING' }), 404, 'ROD-404-MELDING');
  });

  it('refuses a malformed StatusWijziging with 400 and changes nothing', async () => {
    const feed = new SimulatedFeed({ seed: 9, now });
    const gen = new MeldingGenerator({ seed: 9, gemeentecode: '0344', now });
    const m = feed.append(gen.nieuweMelding());
    const simulator = await start(feed);
    for (const body of ['{"status":', '[]', '{}', { status: 'GEREGISTREERD' }, { status: 'INGETROKKEN' }, { status: 'in_behandeling' }, { status: 'IN_BEHANDELING', toelichting: 'x'.repeat(501) }, { status: 'IN_BEHANDELING', toelichting: 5 }]) {
      expectProblem(await putStatus(simulator, m.meldingsnummer, body), 400, 'ROD-400-BERICHT');
    }
    const wrongType = await call(simulator, `/verzuimmeldingen/${m.meldingsnummer}/status`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: '{"status":"IN_BEHANDELING"}',
    });
    expectProblem(wrongType, 400, 'ROD-400-BERICHT');
    expect(feed.size).toBe(1);
    expect(feed.current(m.meldingsnummer)!.status).toBe('GEREGISTREERD');
  });
});

describe('the HTTP surface', () => {
  it('echoes X-Request-ID, sends API-Version, and records each request without personal data in the log', async () => {
    const { feed } = populatedFeed();
    const simulator = await start(feed);
    const id = '0b7e4f2a-8c1d-4e5f-9a6b-1c2d3e4f5a6b';
    const answer = await call(simulator, '/gemeenten/0344/verzuimmeldingen?limit=2', { headers: { 'X-Request-ID': id } });
    expect(answer.headers['x-request-id']).toBe(id);
    expect(answer.headers['api-version']).toBe('1.2.0');
    const without = await call(simulator, '/gemeenten/0344/verzuimmeldingen?limit=2');
    expect(without.headers['x-request-id']).toBeUndefined();
    expect(without.headers['api-version']).toBe('1.2.0');

    expect(feed.requests).toEqual([
      { method: 'GET', path: '/verzuim/v1/gemeenten/0344/verzuimmeldingen', query: 'limit=2', requestId: id, oin: CLIENT_OIN, status: 200 },
      { method: 'GET', path: '/verzuim/v1/gemeenten/0344/verzuimmeldingen', query: 'limit=2', oin: CLIENT_OIN, status: 200 },
    ]);
    const requests = simulator.logged.filter((l) => l.event === 'simulator.request');
    expect(requests).toHaveLength(2);
    const logText = JSON.stringify(simulator.logged);
    for (const m of answer.json.verzuimmeldingen as Verzuimmelding[]) {
      expect(logText).not.toContain(m.leerling.geslachtsnaam);
      if (m.leerling.bsn) expect(logText).not.toContain(m.leerling.bsn);
    }
  });

  it('answers an unknown path with a 404 problem and a wrong method with 405', async () => {
    const simulator = await start(new SimulatedFeed());
    expectProblem(await call(simulator, '/onbekend'), 404, 'ROD-404-PAD');
    const outside = await request(simulator.url.replace('/verzuim/v1', '/elders'), { dispatcher: agent });
    expect(outside.statusCode).toBe(404);
    expect(outside.headers['content-type']).toBe('application/problem+json');
    await outside.body.text();
    expectProblem(await call(simulator, '/gemeenten/0344/verzuimmeldingen/extra'), 404, 'ROD-404-PAD');
    const wrong = await call(simulator, '/gemeenten/0344/verzuimmeldingen', { method: 'POST', body: '{}' });
    expectProblem(wrong, 405, 'ROD-405-METHODE');
    expect(wrong.headers.allow).toBe('GET');
  });

  it('honours another basePath and reports the URL a client configures', async () => {
    const simulator = await start(new SimulatedFeed(), { basePath: '/rod/api/' });
    expect(simulator.url).toBe(`https://localhost:${simulator.port}/rod/api`);
    expect((await call(simulator, '/gemeenten/0344/verzuimmeldingen')).status).toBe(200);
  });

  it('refuses a client without a certificate, or with one from another hierarchy, during the TLS handshake', async () => {
    const simulator = await start(populatedFeed().feed);
    const ca = readFileSync(pki.trustAnchors);
    const anonymous = new Agent({ connect: { ca } });
    const stranger = new Agent({
      connect: { ca, cert: readFileSync(foreign.clientCert), key: readFileSync(foreign.clientKey) },
    });
    try {
      await expect(request(`${simulator.url}/gemeenten/0344/verzuimmeldingen`, { dispatcher: anonymous })).rejects.toThrow();
      await expect(request(`${simulator.url}/gemeenten/0344/verzuimmeldingen`, { dispatcher: stranger })).rejects.toThrow();
    } finally {
      await anonymous.destroy();
      await stranger.destroy();
    }
    // No HTTP request got through; the refusals are logged.
    expect(simulator.feed.requests).toEqual([]);
    await vi.waitFor(() => expect(simulator.logged.filter((l) => l.event === 'simulator.tls-refused')).toHaveLength(2));
    // The legitimate client still gets in.
    expect((await call(simulator, '/gemeenten/0344/verzuimmeldingen?limit=1')).status).toBe(200);
  });
});

describe('the route table', () => {
  const reply = () => ({ status: 204 });
  const table: Route<unknown>[] = [
    { method: 'GET', pattern: '/dingen/:id', handle: reply },
    { method: 'PUT', pattern: '/dingen/:id', handle: reply },
    { method: 'GET', pattern: '/dingen/:id/delen/:deel', handle: reply },
  ];

  it('finds the route for a method and path, with its params as sent', () => {
    expect(findRoute(table, 'PUT', '/dingen/7')).toMatchObject({ kind: 'found', route: table[1], params: { id: '7' } });
    expect(findRoute(table, 'GET', '/dingen/a%20b/delen/2')).toMatchObject({ kind: 'found', route: table[2], params: { id: 'a%20b', deel: '2' } });
  });

  it('names every method a known path allows, and knows no path with an empty or extra segment', () => {
    expect(findRoute(table, 'DELETE', '/dingen/7')).toEqual({ kind: 'wrong-method', allowed: ['GET', 'PUT'] });
    for (const path of ['/dingen/', '/dingen/7/', '/dingen//delen/2', '/dingen/7/extra', '/dingen', '/']) {
      expect(findRoute(table, 'GET', path)).toEqual({ kind: 'none' });
    }
  });

  it('allows only PUT on a melding\'s status and only GET on the melding itself', () => {
    expect(findRoute(ROUTES, 'GET', '/verzuimmeldingen/1/status')).toEqual({ kind: 'wrong-method', allowed: ['PUT'] });
    expect(findRoute(ROUTES, 'PUT', '/verzuimmeldingen/1')).toEqual({ kind: 'wrong-method', allowed: ['GET'] });
  });
});

describe('fixtures', () => {
  it('loads an array of items in order, keeping their volgnummers and serving malformed ones as they are', async () => {
    const gen = new MeldingGenerator({ seed: 21, gemeentecode: '0344', now });
    const withNumber = { ...gen.nieuweMelding(), volgnummer: 500 };
    const withoutNumber = gen.nieuweMelding();
    const malformed = { meldingsnummer: 'geen-nummer', gemeentecode: '0344', verzuimsoort: 'LUXE' };
    const file = path.join(tmp, 'fixtures.json');
    writeFileSync(file, JSON.stringify([withNumber, withoutNumber, malformed, 'kapot']));

    const feed = new SimulatedFeed({ seed: 1 });
    expect(feed.loadFixtures(file)).toBe(4);
    const simulator = await start(feed);
    const items = (await call(simulator, '/gemeenten/0344/verzuimmeldingen')).json.verzuimmeldingen as unknown[];
    expect(items).toHaveLength(4);
    expect(items[0]).toEqual(withNumber);
    expect(items[1]).toMatchObject({ ...withoutNumber, volgnummer: 501 });
    expect(items[2]).toMatchObject(malformed);
    expect((items[2] as { volgnummer: number }).volgnummer).toBeGreaterThan(501);
    expect(items[3]).toBe('kapot');
    expect(items.map((item) => validateItem(item).ok)).toEqual([true, true, false, false]);
    expect(feed.current(withNumber.meldingsnummer)).toEqual(withNumber);
    expect(feed.current('geen-nummer')).toBeUndefined();
  });

  it('loads a page object too, keeping fields the contract does not know', () => {
    const gen = new MeldingGenerator({ seed: 22, gemeentecode: '0344', now });
    const item = { ...gen.nieuweMelding({ verzuimsoort: 'NIEUWE_SOORT' }), nieuwVeld: { iets: true } };
    const file = path.join(tmp, 'page.json');
    writeFileSync(file, JSON.stringify({ verzuimmeldingen: [item], volgnummerTot: 1, meer: false }));
    const feed = new SimulatedFeed();
    expect(feed.loadFixtures(file)).toBe(1);
    expect(feed.page('0344', 0, 10).verzuimmeldingen).toEqual([{ ...item, volgnummer: 1 }]);
    expect(feed.current(item.meldingsnummer)?.verzuimsoort).toBe('NIEUWE_SOORT');
  });

  it('names the file when it cannot load it', () => {
    const feed = new SimulatedFeed();
    const notJson = path.join(tmp, 'kapot.json');
    writeFileSync(notJson, '{ niet: json');
    expect(() => feed.loadFixtures(notJson)).toThrow(/kapot\.json/);
    const wrongShape = path.join(tmp, 'vorm.json');
    writeFileSync(wrongShape, '{"items": []}');
    expect(() => feed.loadFixtures(wrongShape)).toThrow(/vorm\.json.*verzuimmeldingen/);
    expect(() => feed.loadFixtures(path.join(tmp, 'bestaat-niet.json'))).toThrow(/bestaat-niet\.json/);
  });
});

describe('generated data', () => {
  const gen = new MeldingGenerator({ seed: 11, gemeentecode: '0344', now });
  const feed = new SimulatedFeed({ seed: 11 });
  advanceFeed(feed, gen, { nieuw: 300, wijzigingen: 80, intrekkingen: 30 });
  const items = feed.page('0344', 0, 10_000).verzuimmeldingen as Verzuimmelding[];
  const leerlingen = items.map((m) => m.leerling);

  it('passes the ROD contract, every one of several hundred items', () => {
    expect(items.length).toBeGreaterThan(380);
    const failures = items.map((m) => validateItem(m)).filter((v) => !v.ok);
    expect(failures).toEqual([]);
  });

  it('uses test BSNs that pass the 11-proef, and onderwijsnummers for some pupils', () => {
    const bsns = leerlingen.flatMap((l) => (l.bsn ? [l.bsn] : []));
    expect(bsns.length).toBeGreaterThan(300);
    for (const bsn of bsns) {
      expect(Number(bsn)).toBeGreaterThanOrEqual(999_990_000);
      expect(passesElfproef(bsn)).toBe(true);
    }
    const onlyOnderwijsnummer = leerlingen.filter((l) => !l.bsn);
    expect(onlyOnderwijsnummer.length).toBeGreaterThan(5);
    for (const l of onlyOnderwijsnummer) expect(l.onderwijsnummer).toMatch(/^1[0-9]{8}$/);
  });

  it('has names with diacritics and tussenvoegsels, and addresses with huisletters and toevoegingen', () => {
    const names = leerlingen.map((l) => `${l.voornamen} ${l.geslachtsnaam}`);
    expect(names.filter((n) => /[^\x00-\x7f]/.test(n)).length).toBeGreaterThan(20);
    const voorvoegsels = new Set(leerlingen.map((l) => l.voorvoegsel).filter(Boolean));
    for (const v of ['van', 'van der', 'de', "'t", "in 't"]) expect(voorvoegsels).toContain(v);
    const adressen = leerlingen.flatMap((l) => (l.adres ? [l.adres] : []));
    for (const a of adressen) expect(a.postcode).toMatch(/^[1-9][0-9]{3}[A-Z]{2}$/);
    expect(adressen.some((a) => a.huisletter)).toBe(true);
    expect(adressen.some((a) => a.huisnummertoevoeging)).toBe(true);
    expect(new Set(adressen.map((a) => a.woonplaats))).toContain('Utrecht');
  });

  it('covers all verzuimsoorten and sectors with ages that fit', () => {
    expect(new Set(items.map((m) => m.verzuimsoort))).toEqual(new Set(['ZESTIEN_UUR', 'LANGDURIG_RELATIEF', 'LUXE', 'DOORSTROOMPUNT_18PLUS', 'OVERIG']));
    expect(new Set(items.map((m) => m.instelling.sector))).toEqual(new Set(['PO', 'SO', 'VO', 'MBO']));
    for (const m of items) {
      const begin = m.verzuimperiode.begindatum;
      const age = ageOn(m.leerling.geboortedatum, begin);
      if (m.verzuimsoort === 'DOORSTROOMPUNT_18PLUS') {
        expect(m.instelling.sector).toBe('MBO');
        expect(age).toBeGreaterThanOrEqual(18);
        expect(ageOn(m.leerling.geboortedatum, m.melddatum.slice(0, 10))).toBeLessThanOrEqual(23);
      } else {
        expect(age).toBeGreaterThanOrEqual(5);
        expect(age).toBeLessThan(18);
        if (m.instelling.sector === 'PO') expect(age).toBeLessThanOrEqual(12);
        if (m.instelling.sector === 'MBO') expect(age).toBeGreaterThanOrEqual(16);
      }
      expect(m.instelling.instellingscode).toMatch(/^[0-9]{2}[A-Z]{2}$/);
    }
    expect(items.some((m) => m.melder?.functie && m.melder.telefoonnummer && m.melder.emailadres)).toBe(true);
    expect(items.some((m) => m.instelling.onderwijslocatiecode && m.instelling.vestigingsnummer)).toBe(true);
  });

  it('keeps dates plausible: periods before the melding, gewijzigdOp advancing per melding', () => {
    const lastChange = new Map<string, Verzuimmelding>();
    let changed = 0;
    for (const m of items) {
      const { begindatum, einddatum } = m.verzuimperiode;
      if (einddatum) expect(einddatum >= begindatum).toBe(true);
      expect(begindatum <= m.melddatum.slice(0, 10)).toBe(true);
      expect(Date.parse(m.gewijzigdOp)).toBeGreaterThanOrEqual(Date.parse(m.melddatum));
      const previous = lastChange.get(m.meldingsnummer);
      if (previous) {
        expect(Date.parse(m.gewijzigdOp)).toBeGreaterThan(Date.parse(previous.gewijzigdOp));
        expect(m.melddatum).toBe(previous.melddatum);
        expect(m.leerling).toEqual(previous.leerling);
        const { gewijzigdOp: _a, volgnummer: _b, ...now } = m;
        const { gewijzigdOp: _c, volgnummer: _d, ...before } = previous;
        expect(now).not.toEqual(before);
        changed++;
      }
      lastChange.set(m.meldingsnummer, m);
    }
    expect(changed).toBeGreaterThan(80);
    expect(items.filter((m) => m.status === 'INGETROKKEN').length).toBeGreaterThan(20);
    // Nothing lies in the future of the generator's clock beyond a second per mutation.
    const latest = Math.max(...items.map((m) => Date.parse(m.gewijzigdOp)));
    expect(latest).toBeLessThanOrEqual(NOW.getTime() + items.length * 1000);
  });

  it('shares a pupil and a school between meldingen only frozen, so no melding can change another', () => {
    const g = new MeldingGenerator({ seed: 3, gemeentecode: '0344', now });
    const m = g.nieuweMelding();
    expect(Object.isFrozen(m.leerling)).toBe(true);
    expect(Object.isFrozen(m.instelling)).toBe(true);
    if (m.leerling.adres) expect(Object.isFrozen(m.leerling.adres)).toBe(true);
    expect(() => {
      (m.leerling as { voornamen: string }).voornamen = 'Iemand Anders';
    }).toThrow(TypeError);
    // A change replaces the fields it changes and leaves the melding it started from as it was.
    const before = { ...m, volgnummer: 1 } as Verzuimmelding;
    const snapshot = JSON.stringify(before);
    for (let i = 0; i < 20; i++) g.wijziging(before);
    g.intrekking(before);
    expect(JSON.stringify(before)).toBe(snapshot);
  });

  it('counts its meldingen as meldingen() lists them', () => {
    expect(feed.meldingCount).toBe(feed.meldingen().length);
    expect(feed.meldingCount).toBe(new Set(items.map((m) => m.meldingsnummer)).size);
  });

  it('is reproducible by seed', () => {
    const run = (seed: number) => {
      const g = new MeldingGenerator({ seed, gemeentecode: '0344', now });
      const f = new SimulatedFeed({ seed });
      advanceFeed(f, g, { nieuw: 15, wijzigingen: 5, intrekkingen: 2 });
      return JSON.stringify(f.page('0344', 0, 500));
    };
    expect(run(5)).toBe(run(5));
    expect(run(5)).not.toBe(run(6));
  });
});

describe('Amsterdam time', () => {
  // Intl as the reference: the simulator remembers its answers per hour and per day, and must agree with it.
  const reference = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Amsterdam',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'longOffset',
  });
  const expected = (t: number) => {
    const p = Object.fromEntries(reference.formatToParts(new Date(t)).map((part) => [part.type, part.value]));
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${(p.timeZoneName ?? '').replace('GMT', '') || '+00:00'}`;
  };
  // Every 7 minutes and 13 seconds around both DST changes of 2026, and a spread over 30 years.
  const instants: number[] = [];
  for (const around of ['2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z']) {
    for (let t = Date.parse(around) - 2 * 86_400_000; t < Date.parse(around) + 2 * 86_400_000; t += 433_000) instants.push(t);
  }
  for (let t = Date.parse('2000-01-01T00:00:00Z'); t < Date.parse('2030-01-01T00:00:00Z'); t += 86_400_000 * 7 + 3_721_000) instants.push(t);

  it('writes date-times, dates and hours as Intl does, on both sides of a DST change', () => {
    for (const t of instants) {
      const text = expected(t);
      expect(formatDateTime(new Date(t))).toBe(text);
      expect(amsterdamDate(new Date(t))).toBe(text.slice(0, 10));
      expect(amsterdamHour(new Date(t))).toBe(Number(text.slice(11, 13)));
    }
    expect(formatDateTime(new Date('2026-03-29T00:59:59Z'))).toBe('2026-03-29T01:59:59+01:00');
    expect(formatDateTime(new Date('2026-03-29T01:00:00Z'))).toBe('2026-03-29T03:00:00+02:00');
    expect(formatDateTime(new Date('2026-10-25T00:59:59Z'))).toBe('2026-10-25T02:59:59+02:00');
    expect(formatDateTime(new Date('2026-10-25T01:00:00Z'))).toBe('2026-10-25T02:00:00+01:00');
  });

  it('finds the instant of a wall-clock time, and counts days and weekdays by the calendar', () => {
    expect(amsterdamInstant('2026-03-27', 8, 30).toISOString()).toBe('2026-03-27T07:30:00.000Z');
    expect(amsterdamInstant('2026-03-30', 8, 30).toISOString()).toBe('2026-03-30T06:30:00.000Z');
    expect(amsterdamInstant('2026-10-26', 8, 5).toISOString()).toBe('2026-10-26T07:05:00.000Z');
    for (const t of instants) {
      const date = amsterdamDate(new Date(t));
      expect(formatDateTime(amsterdamInstant(date, 8, 17))).toBe(`${date}T08:17:00${expected(Date.parse(`${date}T12:00:00Z`)).slice(19)}`);
      expect(weekday(date)).toBe(new Date(`${date}T00:00:00Z`).getUTCDay());
    }
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2026-03-28', 2)).toBe('2026-03-30');
    expect(addDays('2026-01-01', -1)).toBe('2025-12-31');
    expect(ageOn('2010-02-28', '2026-02-27')).toBe(15);
    expect(ageOn('2010-02-28', '2026-02-28')).toBe(16);
    expect(ageOn('2008-02-29', '2026-02-28')).toBe(17);
    expect(ageOn('2008-02-29', '2026-03-01')).toBe(18);
  });
});

describe('certificates DUO has registered', () => {
  const fingerprint = () => new X509Certificate(readFileSync(pki.clientCert)).fingerprint256;

  it('refuses an unregistered certificate with 403 ROD-403-OIN, and serves it once registered', async () => {
    const simulator = await start(new SimulatedFeed(), { certificates: { registered: ['ab'.repeat(32)] } });
    const refused = await call(simulator, '/gemeenten/0344/verzuimmeldingen');
    expectProblem(refused, 403, 'ROD-403-OIN');
    expect(refused.json.detail).toMatch(/niet \(meer\) geregistreerd/);
    simulator.certificates!.register(fingerprint());
    expect((await call(simulator, '/gemeenten/0344/verzuimmeldingen')).status).toBe(200);
  });

  it('registers later (--register-later, --register-after) and drops the old ones (--drop-on-register)', async () => {
    const simulator = await start(new SimulatedFeed(), {
      certificates: { registered: ['ab'.repeat(32)], later: { fingerprints: [fingerprint()], afterSeconds: 0.2, dropOthers: true } },
    });
    expectProblem(await call(simulator, '/gemeenten/0344/verzuimmeldingen'), 403, 'ROD-403-OIN');
    await vi.waitFor(() => expect(simulator.logged.some((l) => l.event === 'simulator.certificate-registered')).toBe(true), { timeout: 5000 });
    expect(simulator.logged.find((l) => l.event === 'simulator.certificate-unregistered')?.fields).toEqual({ sha256: 'ab'.repeat(32) });
    expect((await call(simulator, '/gemeenten/0344/verzuimmeldingen')).status).toBe(200);
  });
});

describe('the simulator command', () => {
  function capture(): { logger: Logger; lines: LogFields[] } {
    const lines: LogFields[] = [];
    const at = (level: string) => (event: string, fields: LogFields = {}) => void lines.push({ level, event, ...fields });
    const logger: Logger = {
      error: at('error'),
      warn: at('warn'),
      info: at('info'),
      debug: at('debug'),
      child: () => logger,
      flush() {},
    };
    return { logger, lines };
  }

  it('serves a generated feed over mutual TLS until stopped', async () => {
    const { logger, lines } = capture();
    const errors: string[] = [];
    const run = simulatorCommand(
      ['--cert', pki.serverCert, '--key', pki.serverKey, '--client-ca', pki.trustAnchors, '--port', '0', '--seed', '4', '--meldingen', '12', '--oin', CLIENT_OIN],
      { logger, err: (t) => errors.push(t) },
    );
    const listening = await vi.waitFor(() => {
      const line = lines.find((l) => l.event === 'simulator.listening');
      if (!line) throw new Error('not listening yet');
      return line;
    });
    expect(errors).toEqual([]);
    expect(listening).toMatchObject({ gemeentecode: '0344', oinCheck: true, meldingen: 12 });
    const url = String(listening.url);
    expect(url).toMatch(/^https:\/\/localhost:[0-9]+\/verzuim\/v1$/);

    const response = await request(`${url}/gemeenten/0344/verzuimmeldingen?limit=500`, { dispatcher: agent });
    const page = (await response.body.json()) as { verzuimmeldingen: Verzuimmelding[]; meer: boolean };
    expect(response.statusCode).toBe(200);
    expect(new Set(page.verzuimmeldingen.map((m) => m.meldingsnummer)).size).toBe(12);
    expect(page.verzuimmeldingen.length).toBeGreaterThan(12);
    expect(page.verzuimmeldingen.every((m) => validateItem(m).ok)).toBe(true);

    // Only the simulator listens, so emitting the signal event reaches nothing else in this worker.
    expect(process.listenerCount('SIGTERM')).toBe(1);
    process.emit('SIGTERM');
    expect(await run).toBe(0);
    expect(lines.map((l) => l.event)).toEqual(['simulator.listening', 'simulator.request', 'simulator.stopping', 'simulator.stopped']);
    expect(lines.find((l) => l.event === 'simulator.stopping')).toMatchObject({ reason: 'SIGTERM' });
    // Stopped means stopped.
    await expect(request(`${url}/gemeenten/0344/verzuimmeldingen`, { dispatcher: agent })).rejects.toThrow();
  });

  it('adds activity every tick and loads fixtures', async () => {
    const gen = new MeldingGenerator({ seed: 31, gemeentecode: '0344', now });
    const file = path.join(tmp, 'command-fixtures.json');
    writeFileSync(file, JSON.stringify([gen.nieuweMelding(), gen.nieuweMelding()]));
    const { logger, lines } = capture();
    const stop = new AbortController();
    const run = simulatorCommand(
      ['--cert', pki.serverCert, '--key', pki.serverKey, '--client-ca', pki.trustAnchors, '--port', '0', '--fixtures', file, '--tick', '0.2'],
      { logger, signal: stop.signal },
    );
    await vi.waitFor(() => expect(lines.filter((l) => l.event === 'simulator.tick').length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    expect(lines[0]).toMatchObject({ event: 'simulator.listening', fixtures: 2, meldingen: 2, oinCheck: false, certificateCheck: false });
    stop.abort();
    expect(await run).toBe(0);
    const ticks = lines.filter((l) => l.event === 'simulator.tick');
    expect(Number(ticks[1]!.laatsteVolgnummer)).toBeGreaterThan(Number(ticks[0]!.laatsteVolgnummer));
  });

  it("serves several gemeenten, each to the certificates authorised for it (a regional bureau's)", async () => {
    const { logger, lines } = capture();
    const stop = new AbortController();
    const run = simulatorCommand(
      [
        ...['--cert', pki.serverCert, '--key', pki.serverKey, '--client-ca', pki.trustAnchors, '--port', '0', '--meldingen', '3'],
        ...['--gemeente', '0344=00000001001111111000', '--gemeente', '0356=00000001002222222000', '--authorise', `${CLIENT_OIN}=0344`],
      ],
      { logger, signal: stop.signal },
    );
    const listening = await vi.waitFor(() => {
      const line = lines.find((l) => l.event === 'simulator.listening');
      if (!line) throw new Error('not listening yet');
      return line;
    });
    expect(listening).toMatchObject({ gemeentecode: '0344', gemeenten: ['0344', '0356'], oinCheck: true });
    const url = String(listening.url);
    const own = await request(`${url}/gemeenten/0344/verzuimmeldingen?limit=500`, { dispatcher: agent });
    const page = (await own.body.json()) as { verzuimmeldingen: Verzuimmelding[] };
    expect(own.statusCode).toBe(200);
    expect(page.verzuimmeldingen.length).toBeGreaterThan(0);
    expect(page.verzuimmeldingen.every((m) => m.gemeentecode === '0344')).toBe(true);
    const other = await request(`${url}/gemeenten/0356/verzuimmeldingen`, { dispatcher: agent });
    expect(other.statusCode).toBe(403);
    await other.body.dump();
    stop.abort();
    expect(await run).toBe(0);
  });

  it('explains wrong flags and unreadable files on standard error', async () => {
    const base = ['--cert', pki.serverCert, '--key', pki.serverKey, '--client-ca', pki.trustAnchors];
    const cases: [string[], number, RegExp][] = [
      [['--help'], 0, /^$/],
      [[...base, '--gemeente', '344'], 64, /--gemeente.*four digits/],
      [[...base, '--oin', '123'], 64, /--oin.*20 digits/],
      [[...base, '--port', '70000'], 64, /--port/],
      [[...base, '--tick', 'vaak'], 64, /--tick/],
      [[...base, '--bogus'], 64, /unknown option --bogus/],
      [[...base, '--registered', 'abc'], 64, /--registered expects a SHA-256 fingerprint/],
      [[...base, '--register-after', '5'], 64, /--register-after and --drop-on-register need --register-later/],
      [['--key', pki.serverKey, '--client-ca', pki.trustAnchors], 64, /--cert FILE is required/],
      [['--cert', path.join(tmp, 'geen.pem'), '--key', pki.serverKey, '--client-ca', pki.trustAnchors], 1, /geen\.pem/],
      [[...base, '--port', '0', '--fixtures', path.join(tmp, 'geen.json')], 1, /geen\.json/],
    ];
    for (const [argv, code, message] of cases) {
      const out: string[] = [];
      const err: string[] = [];
      expect(await simulatorCommand(argv, { out: (t) => out.push(t), err: (t) => err.push(t), logger: capture().logger })).toBe(code);
      expect(err.join('\n')).toMatch(message);
      if (code === 0) expect(out.join('\n')).toMatch(/--client-ca FILE/);
    }
  });
});
