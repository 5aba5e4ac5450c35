/**
 * What the relay promises about personal data (SECURITY.md): a pupil's BSN,
 * onderwijsnummer, names, address and date of birth appear only in the body
 * of the mail to the instance that acts on the melding. Never in a log line,
 * an audit row, a subject, the output of status, outbox list or quarantine
 * list — also not when ROD's own error texts carry them. Full cycles, over
 * both transports, with distinctive values that cannot turn up by chance.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Verzuimmelding } from '../../src/domain/melding.js';
import { PROTOCOLS } from '../support/config.js';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');

/** Values no id, timestamp or hash contains by chance. */
function distinctive<M extends Omit<Verzuimmelding, 'volgnummer'>>(m: M, n: number): M {
  const l = m.leerling;
  return {
    ...m,
    toelichting: `Gesprek met moeder Privacytestmoeder${n}`,
    leerling: {
      ...l,
      voornamen: `Privacytestvoornaam${n}`,
      geslachtsnaam: `Privacytestachternaam${n}`,
      geboortedatum: '2011-02-03',
      adres: { straatnaam: `Privacyteststraat${n}`, huisnummer: 7, postcode: '9999ZZ', woonplaats: `Privacytestdorp${n}` },
    },
  };
}

function personal(m: Omit<Verzuimmelding, 'volgnummer'>): string[] {
  const l = m.leerling;
  return [l.bsn, l.onderwijsnummer, l.voornamen, l.geslachtsnaam, l.adres?.straatnaam, l.adres?.woonplaats, m.toelichting, '2011-02-03', '9999ZZ'].filter(
    (v): v is string => typeof v === 'string',
  );
}

describe.each(PROTOCOLS)('no personal data outside the mail body (%s)', (protocol) => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('after cycles with new, changed, withdrawn and malformed meldingen', { timeout: 240_000 }, async () => {
    world = await createWorld({ pki, protocol });
    const w = world;
    const meldingen = ['ZESTIEN_UUR', 'LUXE', 'DOORSTROOMPUNT_18PLUS'].map((verzuimsoort, i) => w.feed.append(distinctive(w.generator.nieuweMelding({ verzuimsoort }), i)));
    // A record that fails the contract (no instellingscode) but carries a whole pupil.
    const broken = distinctive(w.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }), 9);
    w.feed.appendRaw({ ...broken, instelling: { naam: 'Zonder BRIN' }, volgnummer: undefined });
    const outputs: string[] = [];
    const first = await w.once();
    expect(first.code, first.stderr).toBe(0);
    outputs.push(first.stdout, first.stderr);
    const { volgnummer: _served, ...moved } = meldingen[0]!;
    w.feed.append({ ...moved, verzuimsoort: 'LANGDURIG_RELATIEF' });
    w.feed.append(w.generator.intrekking(w.feed.current(meldingen[1]!.meldingsnummer)!));
    const second = await w.once();
    outputs.push(second.stdout, second.stderr);

    // ROD's own error texts, naming the pupil: a fault or refusal over Edukoppeling, a problem document over REST.
    const pupil = meldingen[2]!.leerling;
    const rodText = `Leerling ${pupil.voornamen} ${pupil.geslachtsnaam}, BSN ${pupil.bsn ?? pupil.onderwijsnummer}, ${pupil.adres?.straatnaam}`;
    if (protocol === 'edukoppeling') {
      w.simulator.edukoppeling!.faultNext('Server.DK0050', { faultstring: rodText });
      outputs.push((await w.once()).stdout);
      w.simulator.edukoppeling!.refuseNext('V400', { fouttekst: rodText });
      outputs.push((await w.once()).stdout);
    } else {
      w.feed.failNext(500, { problem: { title: rodText, detail: rodText } });
      outputs.push((await w.once()).stdout);
    }

    for (const args of [['status'], ['status', '--json'], ['outbox', 'list'], ['outbox', 'list', '--json'], ['quarantine', 'list'], ['quarantine', 'list', '--json'], ['audit', 'export']]) {
      const r = await w.cli(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      outputs.push(r.stdout, r.stderr);
    }
    const mails = await w.parsedMails();
    expect(mails.length).toBeGreaterThanOrEqual(4);
    outputs.push(...mails.map((m) => String(m.subject)));
    // The bodies do carry the pupil (that is their purpose): the test would be empty otherwise.
    expect(mails.some((m) => String(m.text).includes(meldingen[0]!.leerling.geslachtsnaam))).toBe(true);

    const everything = outputs.join('\n');
    for (const value of [...meldingen, broken].flatMap(personal)) expect(everything, `"${value}" leaked`).not.toContain(value);
  });
});
