import { describe, expect, it } from 'vitest';
import { routingSchema, type RoutingConfig } from '../../src/config/schema.js';
import { passesElfproef, type Verzuimmelding } from '../../src/domain/melding.js';
import {
  decide,
  diffMelding,
  instanceFor,
  type Decision,
  type PreviousState,
} from '../../src/policy/notification-policy.js';
import type { MailKind } from '../../src/domain/mail.js';
import { INSTANCES, LEERLING, melding, routingSection } from '../support/fixtures.js';

const BSN = LEERLING.bsn!;

/** Routing as an administrator writes it, checked by the real schema. zorg shares leerplicht's address. */
const routing: RoutingConfig = routingSchema.parse(routingSection({ instances: { zorg: { email: INSTANCES.leerplicht.email } } }));

const base = melding();
const prev = (overrides: Partial<Verzuimmelding>, knownBy: string[]): PreviousState => ({ melding: melding(overrides), knownBy });
const next = (overrides: Partial<Verzuimmelding> = {}) => melding({ volgnummer: 20, ...overrides });

interface Case {
  name: string;
  previous: PreviousState | undefined;
  mutation: Verzuimmelding;
  expect: 'stale' | { row: 2 | 3 | 4; mails: [string, MailKind][]; warnings?: string[]; changedFields?: string[] };
}

const cases: Case[] = [
  // Row 1
  { name: 'replay of the same volgnummer is stale', previous: prev({}, ['leerplicht']), mutation: melding({ aantalUrenVerzuim: 30 }), expect: 'stale' },
  {
    name: 'an older mutation served out of order is stale, even a withdrawal',
    previous: prev({}, ['leerplicht']),
    mutation: melding({ volgnummer: 7, status: 'INGETROKKEN' }),
    expect: 'stale',
  },

  // Row 2
  {
    name: 'withdrawal of a melding one instance knows',
    previous: prev({}, ['leerplicht']),
    mutation: next({ status: 'INGETROKKEN' }),
    expect: { row: 2, mails: [['leerplicht', 'Ingetrokken']] },
  },
  {
    name: 'withdrawal goes to every instance that knows the melding',
    previous: prev({ verzuimsoort: 'LANGDURIG_RELATIEF' }, ['leerplicht', 'zorg']),
    mutation: next({ verzuimsoort: 'LANGDURIG_RELATIEF', status: 'INGETROKKEN' }),
    expect: { row: 2, mails: [['leerplicht', 'Ingetrokken'], ['zorg', 'Ingetrokken']] },
  },
  {
    name: 'withdrawal of a melding nobody knows (stored while closed, or store-only backlog): no mail',
    previous: prev({ status: 'AFGESLOTEN' }, []),
    mutation: next({ status: 'INGETROKKEN' }),
    expect: { row: 2, mails: [] },
  },
  {
    name: 'withdrawal while the municipality handles it',
    previous: prev({ status: 'IN_BEHANDELING' }, ['leerplicht']),
    mutation: next({ status: 'INGETROKKEN' }),
    expect: { row: 2, mails: [['leerplicht', 'Ingetrokken']] },
  },

  // Row 3
  { name: 'new open melding', previous: undefined, mutation: base, expect: { row: 3, mails: [['leerplicht', 'Nieuw']] } },
  {
    name: 'new melding routed by its verzuimsoort',
    previous: undefined,
    mutation: melding({ verzuimsoort: 'LUXE' }),
    expect: { row: 3, mails: [['handhaving', 'Nieuw']] },
  },
  {
    name: 'new DOORSTROOMPUNT_18PLUS melding goes to rmc',
    previous: undefined,
    mutation: melding({ verzuimsoort: 'DOORSTROOMPUNT_18PLUS' }),
    expect: { row: 3, mails: [['rmc', 'Nieuw']] },
  },
  {
    name: 'unknown verzuimsoort goes to routing.unknown, with a warning',
    previous: undefined,
    mutation: melding({ verzuimsoort: 'SCHOOLWEIGERAAR' }),
    expect: {
      row: 3,
      mails: [['leerplicht', 'Nieuw']],
      warnings: ['unknown verzuimsoort SCHOOLWEIGERAAR routed to instance leerplicht (routing.unknown)'],
    },
  },
  {
    name: 'unknown status counts as open, with a warning',
    previous: undefined,
    mutation: melding({ status: 'GEPARKEERD' }),
    expect: { row: 3, mails: [['leerplicht', 'Nieuw']], warnings: ['unknown status GEPARKEERD counted as open'] },
  },
  {
    name: 'new einddatum: Gewijzigd to the instance that knows it',
    previous: prev({}, ['leerplicht']),
    mutation: next({ verzuimperiode: { begindatum: '2026-10-27', einddatum: '2026-11-20' } }),
    expect: { row: 3, mails: [['leerplicht', 'Gewijzigd']], changedFields: ['verzuimperiode.einddatum'] },
  },
  {
    name: 'change of the pupil\'s address is a content change',
    previous: prev({}, ['leerplicht']),
    mutation: next({ leerling: { ...base.leerling, adres: { ...base.leerling.adres!, straatnaam: 'Lange Nieuwstraat', huisletter: undefined } } }),
    expect: {
      row: 3,
      mails: [['leerplicht', 'Gewijzigd']],
      changedFields: ['leerling.adres.straatnaam', 'leerling.adres.huisletter'],
    },
  },
  {
    name: 'change of the reporter is a content change',
    previous: prev({}, ['leerplicht']),
    mutation: next({ melder: { naam: 'Karim El Amrani' } }),
    expect: {
      row: 3,
      mails: [['leerplicht', 'Gewijzigd']],
      changedFields: ['melder.naam', 'melder.functie', 'melder.telefoonnummer', 'melder.emailadres'],
    },
  },
  {
    name: 'content change while the municipality handles it (IN_BEHANDELING is open)',
    previous: prev({ status: 'IN_BEHANDELING' }, ['leerplicht']),
    mutation: next({ status: 'IN_BEHANDELING', aantalUrenVerzuim: 24 }),
    expect: { row: 3, mails: [['leerplicht', 'Gewijzigd']], changedFields: ['aantalUrenVerzuim'] },
  },
  {
    name: 'content change of an open melding nobody knows yet: Nieuw',
    previous: prev({}, []),
    mutation: next({ toelichting: 'Na gesprek met ouders aangevuld.' }),
    expect: { row: 3, mails: [['leerplicht', 'Nieuw']] },
  },
  {
    name: 're-opened after AFGESLOTEN: Gewijzigd with the status change',
    previous: prev({ status: 'AFGESLOTEN' }, ['leerplicht']),
    mutation: next({ status: 'GEREGISTREERD' }),
    expect: { row: 3, mails: [['leerplicht', 'Gewijzigd']], changedFields: ['status'] },
  },
  {
    name: 're-opened after a closure nobody was told about: Nieuw',
    previous: prev({ status: 'TER_KENNISGEVING_AANGENOMEN' }, []),
    mutation: next({ status: 'GEREGISTREERD' }),
    expect: { row: 3, mails: [['leerplicht', 'Nieuw']] },
  },
  {
    name: 'a withdrawn melding that comes back open',
    previous: prev({ status: 'INGETROKKEN' }, ['leerplicht']),
    mutation: next({ status: 'GEREGISTREERD' }),
    expect: { row: 3, mails: [['leerplicht', 'Gewijzigd']], changedFields: ['status'] },
  },
  {
    name: 'verzuimsoort moves the melding: Nieuw to the new instance, Gewijzigd to the old, though they share an address',
    previous: prev({}, ['leerplicht']),
    mutation: next({ verzuimsoort: 'LANGDURIG_RELATIEF' }),
    expect: { row: 3, mails: [['zorg', 'Nieuw'], ['leerplicht', 'Gewijzigd']], changedFields: ['verzuimsoort'] },
  },
  {
    name: 'verzuimsoort moves it back to an instance that knew it: Gewijzigd to both',
    previous: prev({ verzuimsoort: 'LANGDURIG_RELATIEF' }, ['leerplicht', 'zorg']),
    mutation: next({ verzuimsoort: 'ZESTIEN_UUR' }),
    expect: { row: 3, mails: [['leerplicht', 'Gewijzigd'], ['zorg', 'Gewijzigd']], changedFields: ['verzuimsoort'] },
  },
  {
    name: 'verzuimsoort changes to an unknown code: routing.unknown gets it',
    previous: prev({ verzuimsoort: 'LUXE' }, ['handhaving']),
    mutation: next({ verzuimsoort: 'NIEUWE_SOORT' }),
    expect: {
      row: 3,
      mails: [['leerplicht', 'Nieuw'], ['handhaving', 'Gewijzigd']],
      warnings: ['unknown verzuimsoort NIEUWE_SOORT routed to instance leerplicht (routing.unknown)'],
      changedFields: ['verzuimsoort'],
    },
  },
  {
    name: 'an instance that knew the melding but is no longer configured gets no mail, with a warning',
    previous: prev({}, ['leerplicht', 'oud_team']),
    mutation: next({ aantalUrenVerzuim: 20 }),
    expect: {
      row: 3,
      mails: [['leerplicht', 'Gewijzigd']],
      warnings: ['instance oud_team knew this melding but is no longer configured: no mail for it'],
      changedFields: ['aantalUrenVerzuim'],
    },
  },
  {
    name: 'duplicate ids in knownBy give one mail each',
    previous: prev({}, ['leerplicht', 'leerplicht']),
    mutation: next({ status: 'INGETROKKEN' }),
    expect: { row: 2, mails: [['leerplicht', 'Ingetrokken']] },
  },

  // Row 4
  { name: 'closed melding never seen before: stored only', previous: undefined, mutation: melding({ status: 'AFGESLOTEN' }), expect: { row: 4, mails: [] } },
  { name: 'withdrawn at first sight: stored only', previous: undefined, mutation: melding({ status: 'INGETROKKEN' }), expect: { row: 4, mails: [] } },
  {
    name: 'historic OVERGEDRAGEN_AAN_DERDEN at first sight: stored only',
    previous: undefined,
    mutation: melding({ status: 'OVERGEDRAGEN_AAN_DERDEN' }),
    expect: { row: 4, mails: [] },
  },
  {
    name: 'withdrawal of a withdrawn melding: no mail',
    previous: prev({ status: 'INGETROKKEN' }, ['leerplicht']),
    mutation: next({ status: 'INGETROKKEN', toelichting: 'Dubbel gemeld.' }),
    expect: { row: 4, mails: [] },
  },
  {
    name: 'status-only change to IN_BEHANDELING (the municipality\'s own): no mail',
    previous: prev({}, ['leerplicht']),
    mutation: next({ status: 'IN_BEHANDELING' }),
    expect: { row: 4, mails: [] },
  },
  {
    name: 'status set to AFGESLOTEN: no mail',
    previous: prev({ status: 'IN_BEHANDELING' }, ['leerplicht']),
    mutation: next({ status: 'AFGESLOTEN' }),
    expect: { row: 4, mails: [] },
  },
  {
    name: 'status set to TER_KENNISGEVING_AANGENOMEN: no mail',
    previous: prev({}, ['leerplicht']),
    mutation: next({ status: 'TER_KENNISGEVING_AANGENOMEN' }),
    expect: { row: 4, mails: [] },
  },
  {
    name: 'content change while closed: no mail',
    previous: prev({ status: 'AFGESLOTEN' }, ['leerplicht']),
    mutation: next({ status: 'AFGESLOTEN', verzuimperiode: { begindatum: '2026-10-27', einddatum: '2026-11-20' } }),
    expect: { row: 4, mails: [] },
  },
  {
    name: 'verzuimsoort change while closed: no mail, not even to the new instance',
    previous: prev({ status: 'AFGESLOTEN' }, ['leerplicht']),
    mutation: next({ status: 'AFGESLOTEN', verzuimsoort: 'LUXE' }),
    expect: { row: 4, mails: [] },
  },
  { name: 'nothing changed but the volgnummer: no mail', previous: prev({}, ['leerplicht']), mutation: next(), expect: { row: 4, mails: [] } },
  {
    name: 'only bookkeeping changed (gewijzigdOp, gaps in volgnummer): no mail',
    previous: prev({}, ['leerplicht']),
    mutation: melding({ volgnummer: 90_000, gewijzigdOp: '2026-12-01T10:00:00+01:00' }),
    expect: { row: 4, mails: [] },
  },
  {
    name: 'einddatum null and einddatum absent mean the same: no mail',
    previous: prev({ verzuimperiode: { begindatum: '2026-10-27', einddatum: null } }, ['leerplicht']),
    mutation: next({ verzuimperiode: { begindatum: '2026-10-27' } }),
    expect: { row: 4, mails: [] },
  },
  {
    name: 'key order inside the content does not matter: no mail',
    previous: prev({}, ['leerplicht']),
    mutation: next({ instelling: { sector: 'VO', naam: 'Voorbeeldcollege', vestigingsnummer: '01', instellingscode: '21XY' } }),
    expect: { row: 4, mails: [] },
  },
  {
    name: 'an open melding changing to an unknown status only: no mail, but a warning',
    previous: prev({}, ['leerplicht']),
    mutation: next({ status: 'GEPARKEERD' }),
    expect: { row: 4, mails: [], warnings: ['unknown status GEPARKEERD counted as open'] },
  },
  {
    name: 'a closed melding with an unknown verzuimsoort: no mail, still a warning',
    previous: undefined,
    mutation: melding({ status: 'AFGESLOTEN', verzuimsoort: 'SCHOOLWEIGERAAR' }),
    expect: { row: 4, mails: [], warnings: ['unknown verzuimsoort SCHOOLWEIGERAAR routed to instance leerplicht (routing.unknown)'] },
  },
];

describe('decide: the forwarding table', () => {
  it('uses a fictional BSN that passes the 11-proef', () => {
    expect(passesElfproef(BSN)).toBe(true);
  });

  it.each(cases)('$name', ({ previous, mutation, expect: expected }) => {
    const decision: Decision = decide(previous, mutation, routing);
    if (expected === 'stale') {
      expect(decision).toEqual({ outcome: 'stale' });
      return;
    }
    expect(decision.outcome).toBe('processed');
    if (decision.outcome !== 'processed') return;
    expect(decision.row).toBe(expected.row);
    expect(decision.mails.map((m) => [m.instance, m.kind])).toEqual(expected.mails);
    expect(decision.warnings).toEqual(expected.warnings ?? []);
    for (const mail of decision.mails) {
      if (mail.kind === 'Gewijzigd') expect(mail.changes.map((c) => c.field)).toEqual(expected.changedFields);
      else expect(mail.changes).toEqual([]);
    }
    // Warnings end up in logs: they never carry the pupil's data.
    for (const warning of decision.warnings) {
      for (const secret of [BSN, 'Sanne', 'Berg', 'Oudegracht', '2011-03-14', 'Petra']) expect(warning).not.toContain(secret);
    }
  });

  it('covers every row of the table', () => {
    const rows = new Set(cases.map((c) => (c.expect === 'stale' ? 1 : c.expect.row)));
    expect([...rows].sort()).toEqual([1, 2, 3, 4]);
  });

  it('refuses a previous state of another melding instead of mixing them up', () => {
    expect(() => decide(prev({ meldingsnummer: '2026009999' }, []), next(), routing)).toThrow(/2026009999.*2026004711/);
  });

  it('gives each mail its own change list', () => {
    const decision = decide(prev({ verzuimsoort: 'LANGDURIG_RELATIEF' }, ['leerplicht', 'zorg']), next(), routing);
    if (decision.outcome !== 'processed') throw new Error('expected processed');
    const [first, second] = decision.mails;
    first!.changes.push({ field: 'x', label: 'x', from: null, to: null, personal: false });
    expect(second!.changes.map((c) => c.field)).toEqual(['verzuimsoort']);
  });
});

describe('instanceFor', () => {
  it('returns the configured instance, or routing.unknown for a code nobody configured', () => {
    expect(instanceFor('ZESTIEN_UUR', routing)).toBe('leerplicht');
    expect(instanceFor('LANGDURIG_RELATIEF', routing)).toBe('zorg');
    expect(instanceFor('DOORSTROOMPUNT_18PLUS', routing)).toBe('rmc');
    expect(instanceFor('IETS_NIEUWS', routing)).toBe('leerplicht');
    // Not fooled by names that exist on every object.
    expect(instanceFor('constructor', routing)).toBe('leerplicht');
    expect(instanceFor('__proto__', routing)).toBe('leerplicht');
  });

  it('honours an unknown-code instance other than the first', () => {
    expect(instanceFor('IETS_NIEUWS', { ...routing, unknown: 'zorg' })).toBe('zorg');
  });
});

describe('diffMelding', () => {
  it('shows values the Dutch way and says which are personal', () => {
    const after = melding({
      status: 'IN_BEHANDELING',
      verzuimsoort: 'LUXE',
      verzuimperiode: { begindatum: '2026-10-27', einddatum: '2026-11-20' },
      aantalUrenVerzuim: 12.5,
      leerling: { ...base.leerling, geboortedatum: '2011-03-15', adres: { ...base.leerling.adres!, postcode: '3512BC' } },
      instelling: { ...base.instelling, naam: 'Voorbeeldcollege Noord' },
    });
    expect(diffMelding(base, after)).toEqual([
      { field: 'status', label: 'Status', from: 'Geregistreerd', to: 'In behandeling', personal: false },
      { field: 'verzuimsoort', label: 'Verzuimsoort', from: '16 uur in 4 weken', to: 'Luxe verzuim', personal: false },
      { field: 'verzuimperiode.einddatum', label: 'Einddatum verzuimperiode', from: null, to: '20 november 2026', personal: false },
      { field: 'aantalUrenVerzuim', label: 'Aantal uren verzuim', from: '16', to: '12,5', personal: false },
      { field: 'leerling.geboortedatum', label: 'Geboortedatum (leerling)', from: '14 maart 2011', to: '15 maart 2011', personal: true },
      { field: 'leerling.adres.postcode', label: 'Postcode (leerling)', from: '3511 AX', to: '3512 BC', personal: true },
      { field: 'instelling.naam', label: 'Naam (school)', from: 'Voorbeeldcollege', to: 'Voorbeeldcollege Noord', personal: false },
    ]);
  });

  it('shows an unknown verzuimsoort or status as its code', () => {
    const changes = diffMelding(base, melding({ verzuimsoort: 'SCHOOLWEIGERAAR', status: 'GEPARKEERD' }));
    expect(changes.map((c) => [c.from, c.to])).toEqual([
      ['Geregistreerd', 'GEPARKEERD'],
      ['16 uur in 4 weken', 'SCHOOLWEIGERAAR'],
    ]);
  });

  it('lists the fields of an address that appears, in reading order', () => {
    const withoutAddress = melding({ leerling: { ...base.leerling, adres: undefined } });
    const changes = diffMelding(withoutAddress, base);
    expect(changes.map((c) => [c.field, c.from, c.to])).toEqual([
      ['leerling.adres.straatnaam', null, 'Oudegracht'],
      ['leerling.adres.huisnummer', null, '112'],
      ['leerling.adres.huisletter', null, 'a'],
      ['leerling.adres.postcode', null, '3511 AX'],
      ['leerling.adres.woonplaats', null, 'Utrecht'],
    ]);
    expect(changes.every((c) => c.personal)).toBe(true);
  });

  it('marks reporter, reason and explanation as personal, and the school as not', () => {
    const after = melding({
      melder: { ...base.melder!, telefoonnummer: '06-12345678' },
      vermoedelijkeReden: 'Ziekte',
      toelichting: 'Moeder belt niet terug.',
      instelling: { ...base.instelling, onderwijslocatiecode: '123A456' },
    });
    expect(diffMelding(base, after).map((c) => [c.field, c.personal])).toEqual([
      ['vermoedelijkeReden', true],
      ['toelichting', true],
      ['instelling.onderwijslocatiecode', false],
      ['melder.telefoonnummer', true],
    ]);
  });

  it('reports a field ROD added later, treating its value as personal', () => {
    const after = melding({ leerling: { ...base.leerling, roepnaam: 'Sanne' } as Verzuimmelding['leerling'] });
    expect(diffMelding(base, after)).toEqual([
      { field: 'leerling.roepnaam', label: 'roepnaam (leerling)', from: null, to: 'Sanne', personal: true },
    ]);
  });

  it('ignores volgnummer and gewijzigdOp, and finds nothing between equal states', () => {
    expect(diffMelding(base, melding({ volgnummer: 99, gewijzigdOp: '2027-01-01T00:00:00Z' }))).toEqual([]);
  });
});
