/**
 * Liveness and readiness as an orchestrator sees them: `healthcheck` run
 * beside a real daemon, and the daemon's /metrics, /healthz and /readyz.
 */
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startDaemon, type Daemon } from '../support/relay-process.js';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');

/** A relay with the metrics listener on a free loopback port. */
const METRICS = { metrics: { listen: '127.0.0.1:0' } };

async function listening(daemon: Daemon): Promise<string> {
  const line = await daemon.waitForLog((l) => l.event === 'metrics.listening');
  expect(line.address).toBe('127.0.0.1');
  return `http://127.0.0.1:${String(line.port)}`;
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
}

/** The value of one sample in Prometheus' text format, e.g. sample(text, 'x_total{outcome="ok"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('healthcheck and the metrics listener', () => {
  let world: World | undefined;
  let daemon: Daemon | undefined;
  afterEach(async () => {
    if (daemon && daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    daemon = undefined;
    await world?.close();
    world = undefined;
  });

  it('a daemon whose cycle fails (ROD 503) is alive but not ready; once stopped and its heartbeat old, not alive', async () => {
    world = await createWorld({ pki, config: METRICS });
    world.feed.failNext(503, { retryAfter: '3600', times: 20 });
    daemon = startDaemon(['run', '--config', world.configFile]);
    const base = await listening(daemon);
    await daemon.waitForLog((l) => l.event === 'cycle.finished' && l.outcome === 'failed');

    const alive = await world.cli('healthcheck', '--liveness');
    expect(alive.stdout.trim()).toBe('healthy');
    expect(alive.code).toBe(0);
    const ready = await world.cli('healthcheck', '--json');
    expect(ready.code).toBe(1);
    expect(JSON.parse(ready.stdout)).toMatchObject({ check: 'readiness', healthy: false, problems: ['no successful cycle yet'], lastSuccessfulCycle: null });

    expect((await get(`${base}/healthz`)).status).toBe(200);
    const readyz = await get(`${base}/readyz`);
    expect(readyz.status).toBe(503);
    expect(JSON.parse(readyz.text)).toMatchObject({ check: 'readiness', problems: ['no successful cycle yet'] });
    const metrics = await get(`${base}/metrics`);
    expect(sample(metrics.text, 'verzuim_relay_cycles_total{outcome="failed"}')).toBe(1);
    expect(sample(metrics.text, 'verzuim_relay_rod_request_duration_seconds_count{gemeente="0344",operation="fetchPage",outcome="failed"}')).toBe(1);

    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow(); // the listener closed with the daemon

    // The heartbeat a hung or stopped daemon leaves behind ages past two minutes.
    writeFileSync(path.join(world.dir, 'relay.db.heartbeat'), JSON.stringify({ at: new Date(Date.now() - 5 * 60_000).toISOString(), pid: 1 }));
    const dead = await world.cli('healthcheck', '--liveness', '--json');
    expect(dead.code).toBe(1);
    expect(JSON.parse(dead.stdout)).toMatchObject({ check: 'liveness', healthy: false });
    expect(JSON.parse(dead.stdout).problems[0]).toMatch(/heartbeat is \d+ s old/);
  });

  it('counts a cycle, its mutations and its mail in /metrics, and is ready after it', async () => {
    world = await createWorld({ pki, config: METRICS });
    const m = world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'LUXE' }));
    daemon = startDaemon(['run', '--config', world.configFile]);
    const base = await listening(daemon);
    await daemon.waitForLog((l) => l.event === 'cycle.finished' && l.outcome === 'ok');

    const { status, text } = await get(`${base}/metrics`);
    expect(status).toBe(200);
    expect(sample(text, 'verzuim_relay_cycles_total{outcome="ok"}')).toBe(1);
    expect(sample(text, 'verzuim_relay_mutations_fetched_total{gemeente="0344"}')).toBe(1);
    const sent = text.split('\n').filter((l) => /^verzuim_relay_mails_total\{.*outcome="sent"\} [1-9]/.test(l));
    expect(sent.length).toBeGreaterThan(0);
    expect(sample(text, 'verzuim_relay_outbox_mails{state="sent"}')).toBeGreaterThan(0);
    expect(sample(text, 'verzuim_relay_quarantine_open')).toBe(0);
    expect(sample(text, 'verzuim_relay_certificate_days_left')).toBeGreaterThan(0);
    expect(sample(text, 'verzuim_relay_last_successful_cycle_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(sample(text, 'verzuim_relay_rod_request_duration_seconds_count{gemeente="0344",operation="fetchPage",outcome="ok"}')).toBeGreaterThan(0);
    // Ids, states and outcomes only: no meldingsnummer, let alone a pupil's data.
    expect(text).not.toContain(m.meldingsnummer);
    expect(text).not.toContain(m.leerling.bsn);

    expect((await get(`${base}/readyz`)).status).toBe(200);
    expect((await get(`${base}/healthz`)).status).toBe(200);
    expect((await get(`${base}/other`)).status).toBe(404);
    expect((await world.cli('healthcheck')).code).toBe(0);
    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
  });

  it('is not ready when the last successful cycle is older than the schedule allows', async () => {
    world = await createWorld({ pki, config: METRICS });
    expect((await world.once()).code).toBe(0);
    expect((await world.cli('healthcheck')).code).toBe(0);
    // The last success moved two days back, as if ROD had failed ever since.
    const db = new Database(path.join(world.dir, 'relay.db'));
    db.prepare(`UPDATE cycles SET finished_at = ?`).run(new Date(Date.now() - 2 * 86_400_000).toISOString());
    db.close();

    const old = await world.cli('healthcheck');
    expect(old.code).toBe(1);
    expect(old.stdout).toMatch(/^unhealthy: last successful cycle at .*, longer ago than \d+ minutes/);

    world.feed.failNext(503, { retryAfter: '3600', times: 20 });
    daemon = startDaemon(['run', '--config', world.configFile]);
    const base = await listening(daemon);
    await daemon.waitForLog((l) => l.event === 'cycle.finished');
    const readyz = await get(`${base}/readyz`);
    expect(readyz.status).toBe(503);
    expect(readyz.text).toMatch(/longer ago than/);
    expect((await get(`${base}/healthz`)).status).toBe(200);
    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
  });
});
