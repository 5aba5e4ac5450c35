/**
 * The relay end to end: the built CLI as a child process, against the ROD
 * simulator over real mutual TLS and a real SMTP server with STARTTLS.
 */
import type { ParsedMail } from 'mailparser';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { KNOWN_VERZUIMSOORTEN, VERZUIMSOORT_LABELS, type Verzuimmelding } from '../../src/domain/melding.js';
import { startDaemon, type RunResult } from '../support/relay-process.js';
import { ALERT_EMAIL, GEMEENTECODE, INSTANCES, ROUTING } from '../support/fixtures.js';
import { PROTOCOLS } from '../support/config.js';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');

function header(mail: ParsedMail, name: string): string | undefined {
  const value = mail.headers.get(name);
  return value === undefined ? undefined : String(value);
}

function recipients(mail: ParsedMail): string[] {
  const to = Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : [];
  return to.flatMap((a) => a.value.map((v) => v.address ?? ''));
}

/** Every personal value of a melding that must never leave in a subject, a header or a log line. */
function personalValues(m: Verzuimmelding): string[] {
  const l = m.leerling;
  return [l.bsn, l.onderwijsnummer, l.geslachtsnaam, l.voornamen, l.geboortedatum, l.adres?.straatnaam, l.adres?.postcode].filter(
    (v): v is string => typeof v === 'string' && v.length > 3,
  );
}

// Each test has a world of its own (simulator, mail catcher, database), so that each runs alone too.
describe.each(PROTOCOLS)('the relay end to end over %s (G4 PKI, mutual TLS, STARTTLS)', (protocol) => {
  let world: World;

  beforeEach(async () => {
    world = await createWorld({ pki, protocol });
  });
  afterEach(async () => {
    await world?.close();
  });

  /** A new melding of each verzuimsoort in the feed, forwarded by one successful cycle. */
  async function forwarded(soorten: readonly string[]): Promise<{ bySoort: Map<string, Verzuimmelding>; result: RunResult }> {
    const bySoort = new Map<string, Verzuimmelding>();
    for (const verzuimsoort of soorten) bySoort.set(verzuimsoort, world.feed.append(world.generator.nieuweMelding({ verzuimsoort })));
    const result = await world.once();
    expect(result.code, result.stderr).toBe(0);
    expect(world.catcher.mails).toHaveLength(soorten.length);
    return { bySoort, result };
  }

  it('forwards new meldingen to the instance of their verzuimsoort, with the facts, headers and no personal data in subject or logs', async () => {
    const { bySoort, result } = await forwarded(KNOWN_VERZUIMSOORTEN);

    const mails = await world.parsedMails();
    expect(mails).toHaveLength(5);
    for (const [soort, m] of bySoort) {
      const mail = mails.find((x) => header(x, 'x-verzuim-meldingsnummer') === m.meldingsnummer);
      expect(mail, `mail for ${soort}`).toBeDefined();
      const instance = ROUTING[soort as keyof typeof ROUTING];
      expect(recipients(mail!)).toEqual([INSTANCES[instance].email]);
      expect(header(mail!, 'x-verzuim-instantie')).toBe(instance);
      expect(header(mail!, 'x-verzuim-soort')).toBe(soort);
      expect(header(mail!, 'x-verzuim-bericht')).toBe('Nieuw');
      expect(header(mail!, 'x-verzuim-volgnummer')).toBe(String(m.volgnummer));
      expect(mail!.messageId).toMatch(new RegExp(`${m.meldingsnummer}.*${m.volgnummer}.*${instance}.*nieuw`, 'i'));
      expect(mail!.subject).toContain('[Verzuim] Nieuw');
      expect(mail!.subject).toContain(VERZUIMSOORT_LABELS[soort as keyof typeof VERZUIMSOORT_LABELS]);
      expect(mail!.subject).toContain(`(${m.instelling.instellingscode})`);
      expect(mail!.subject).toContain(m.meldingsnummer);
      for (const value of personalValues(m)) expect(mail!.subject).not.toContain(value);
      // The body carries the full melding for the leerplichtambtenaar, in text and in HTML.
      const id = m.leerling.bsn ?? m.leerling.onderwijsnummer!;
      expect(mail!.text).toContain(id);
      expect(mail!.text).toContain(m.leerling.geslachtsnaam);
      expect(mail!.text).toContain(m.instelling.naam);
      expect(mail!.html || '').toContain(id);
    }

    expect(result.logs.length).toBeGreaterThan(0);
    for (const line of result.logs) expect(line.event, JSON.stringify(line)).toEqual(expect.any(String));
    for (const m of bySoort.values()) for (const value of personalValues(m)) expect(result.stdout).not.toContain(value);
    expect(result.logs.filter((l) => l.event === 'mail.sent')).toHaveLength(5);
  });

  it('sends nothing new in a second cycle', async () => {
    await forwarded(KNOWN_VERZUIMSOORTEN);
    const before = world.catcher.mails.length;
    const result = await world.once();
    expect(result.code, result.stderr).toBe(0);
    expect(world.catcher.mails.length).toBe(before);
    expect(result.logs.find((l) => l.event === 'cycle.finished')).toMatchObject({ queued: 0, sent: 0 });
  });

  it('sends an Ingetrokken to the instance that had the melding when the school withdraws it', async () => {
    const { bySoort } = await forwarded(['LUXE']);
    const before = world.catcher.mails.length;
    const luxe = bySoort.get('LUXE')!;
    world.feed.append(world.generator.intrekking(world.feed.current(luxe.meldingsnummer)!));
    const result = await world.once();
    expect(result.code, result.stderr).toBe(0);
    const mails = await world.parsedMails(before);
    expect(mails).toHaveLength(1);
    expect(header(mails[0]!, 'x-verzuim-bericht')).toBe('Ingetrokken');
    expect(header(mails[0]!, 'x-verzuim-instantie')).toBe('handhaving');
    expect(recipients(mails[0]!)).toEqual([INSTANCES.handhaving.email]);
    expect(mails[0]!.subject).toContain('Ingetrokken');
  });

  it('tells both the new and the old instance when the verzuimsoort changes', async () => {
    const { bySoort } = await forwarded(['ZESTIEN_UUR']);
    const before = world.catcher.mails.length;
    const m = world.feed.current(bySoort.get('ZESTIEN_UUR')!.meldingsnummer)!;
    world.feed.append({ ...m, volgnummer: undefined, verzuimsoort: 'LANGDURIG_RELATIEF', gewijzigdOp: new Date().toISOString() } as unknown as Omit<Verzuimmelding, 'volgnummer'>);
    const result = await world.once();
    expect(result.code, result.stderr).toBe(0);
    const mails = await world.parsedMails(before);
    expect(mails).toHaveLength(2);
    const nieuw = mails.find((x) => header(x, 'x-verzuim-bericht') === 'Nieuw');
    const gewijzigd = mails.find((x) => header(x, 'x-verzuim-bericht') === 'Gewijzigd');
    expect(header(nieuw!, 'x-verzuim-instantie')).toBe('zorg');
    expect(recipients(nieuw!)).toEqual([INSTANCES.zorg.email]);
    expect(header(gewijzigd!, 'x-verzuim-instantie')).toBe('leerplicht');
    expect(header(gewijzigd!, 'x-verzuim-soort')).toBe('LANGDURIG_RELATIEF');
    expect(gewijzigd!.text).toContain(VERZUIMSOORT_LABELS.ZESTIEN_UUR);
    expect(gewijzigd!.text).toContain(VERZUIMSOORT_LABELS.LANGDURIG_RELATIEF);
  });

  it('quarantines a malformed record without blocking the feed, and alerts without the pupil’s data', async () => {
    const before = world.catcher.mails.length;
    world.feed.appendRaw({ meldingsnummer: '123456789', gemeentecode: GEMEENTECODE, verzuimsoort: 'LUXE', status: 'GEREGISTREERD', leerling: { voornamen: 'Geheim', bsn: '123456789' } });
    const valid = world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }));
    const result = await world.once();
    expect(result.code, result.stderr).toBe(0);
    expect(result.logs.some((l) => l.event === 'mutation.quarantined' && l.level === 'error')).toBe(true);
    expect(result.stdout).not.toContain('Geheim');

    const mails = await world.parsedMails(before);
    const alert = mails.find((x) => recipients(x).includes(ALERT_EMAIL));
    const forwarded = mails.find((x) => header(x, 'x-verzuim-meldingsnummer') === valid.meldingsnummer);
    expect(forwarded).toBeDefined();
    expect(alert).toBeDefined();
    expect(`${alert!.subject}\n${alert!.text}`).not.toContain('Geheim');
    expect(alert!.text).toContain('123456789');

    const list = await world.cli('quarantine', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('123456789');
    expect(list.stdout).toMatch(/bsn|11-proef|geslachtsnaam/i);
    expect(list.stdout).not.toContain('Geheim');
  });

  it('answers "did melding X go out?" with status, outbox list and an intact audit log', async () => {
    // A melding forwarded, then withdrawn.
    const { bySoort } = await forwarded(['LUXE']);
    world.feed.append(world.generator.intrekking(world.feed.current(bySoort.get('LUXE')!.meldingsnummer)!));
    const withdrawn = await world.once();
    expect(withdrawn.code, withdrawn.stderr).toBe(0);

    const status = await world.cli('status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/dead 0/);
    const nr = bySoort.get('LUXE')!.meldingsnummer;
    const outbox = await world.cli('outbox', 'list', '--melding', nr);
    expect(outbox.code).toBe(0);
    expect(outbox.stdout).toMatch(/sent\s+Nieuw/);
    expect(outbox.stdout).toMatch(/sent\s+Ingetrokken/);
    const audit = await world.cli('audit', 'verify');
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/intact/);
  });

  it('runs as a daemon and stops cleanly on SIGTERM', async () => {
    const daemon = startDaemon(['run', '--config', world.configFile]);
    await daemon.waitForLog((l) => l.event === 'cycle.finished');
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    expect(exit.code).toBe(0);
    expect(daemon.logs().some((l) => l.event === 'relay.stopped')).toBe(true);
  });
});
