/**
 * The fixtures every test shares: the municipality, its four instances and
 * how verzuimsoorten are routed to them, and a hand-written melding. Tests
 * whose assertions depend on other values pass overrides.
 */
import type { Verzuimmelding } from '../../src/domain/melding.js';
import type { ComposeInput } from '../../src/mail/compose.js';

export const GEMEENTECODE = '0344';
export const OIN = '00000001002220647000';

export const MUNICIPALITY = { code: GEMEENTECODE, name: 'Utrecht', oin: OIN } as const;

/** Where the relay sends its alerts. */
export const ALERT_EMAIL = 'applicatiebeheer@utrecht.example';

export const INSTANCES = {
  leerplicht: { name: 'Leerplicht Utrecht', email: 'leerplicht@utrecht.example' },
  rmc: { name: 'Doorstroompunt regio Utrecht', email: 'doorstroompunt@utrecht.example' },
  handhaving: { name: 'Team handhaving', email: 'handhaving@utrecht.example' },
  zorg: { name: 'Zorgteam', email: 'zorgteam@utrecht.example' },
} as const;

export type InstanceId = keyof typeof INSTANCES;

/** Which instance gets each known verzuimsoort. */
export const ROUTING = {
  ZESTIEN_UUR: 'leerplicht',
  LANGDURIG_RELATIEF: 'zorg',
  LUXE: 'handhaving',
  DOORSTROOMPUNT_18PLUS: 'rmc',
  OVERIG: 'leerplicht',
} as const satisfies Record<string, InstanceId>;

export interface RoutingSection {
  instances: Record<InstanceId, { name: string; email: string }>;
  verzuimsoorten: Record<string, InstanceId>;
  unknown: InstanceId;
}

/** The routing section as an administrator writes it; `instances` overrides single fields of an instance. */
export function routingSection(overrides: { instances?: Partial<Record<InstanceId, Partial<{ name: string; email: string }>>> } = {}): RoutingSection {
  const instances = Object.fromEntries(
    Object.entries(INSTANCES).map(([id, instance]) => [id, { ...instance, ...overrides.instances?.[id as InstanceId] }]),
  ) as RoutingSection['instances'];
  return { instances, verzuimsoorten: { ...ROUTING }, unknown: 'leerplicht' };
}

/** Fictional pupil; the BSN lies in the range reserved for tests. */
export const LEERLING: Verzuimmelding['leerling'] = {
  bsn: '999990019',
  voornamen: 'Sanne Maria',
  voorvoegsel: 'van den',
  geslachtsnaam: 'Berg',
  geboortedatum: '2011-03-14',
  adres: { straatnaam: 'Oudegracht', huisnummer: 112, huisletter: 'a', postcode: '3511AX', woonplaats: 'Utrecht' },
};

export const INSTELLING: Verzuimmelding['instelling'] = { instellingscode: '21XY', vestigingsnummer: '01', naam: 'Voorbeeldcollege', sector: 'VO' };

export const MELDER: NonNullable<Verzuimmelding['melder']> = {
  naam: 'Petra de Vries',
  functie: 'Verzuimcoördinator',
  telefoonnummer: '030-1234567',
  emailadres: 'p.devries@voorbeeldcollege.example',
};

/** A complete, valid melding for the fixture municipality; top-level fields replaced by `overrides`. */
export function melding(overrides: Partial<Verzuimmelding> = {}): Verzuimmelding {
  return {
    meldingsnummer: '2026004711',
    volgnummer: 10,
    gemeentecode: GEMEENTECODE,
    verzuimsoort: 'ZESTIEN_UUR',
    status: 'GEREGISTREERD',
    melddatum: '2026-11-24T09:15:00+01:00',
    gewijzigdOp: '2026-11-24T09:15:00+01:00',
    verzuimperiode: { begindatum: '2026-10-27' },
    aantalUrenVerzuim: 16,
    vermoedelijkeReden: 'Onbekend',
    leerling: structuredClone(LEERLING),
    instelling: { ...INSTELLING },
    melder: { ...MELDER },
    ...overrides,
  };
}

/** What composeMail is given for a Nieuw to leerplicht about melding() (the fixtures' pupil), with overrides. */
export function composeInput(overrides: Partial<ComposeInput> = {}): ComposeInput {
  return {
    kind: 'Nieuw',
    melding: melding(),
    changes: [],
    instance: { id: 'leerplicht', ...INSTANCES.leerplicht },
    content: 'full',
    municipality: { code: MUNICIPALITY.code, name: MUNICIPALITY.name },
    ...overrides,
  };
}
