/**
 * Realistic, fictional meldingen for the simulator: the same seed gives the
 * same pupils, schools and changes (dates follow the clock passed in). Every
 * item satisfies the ROD contract, and the data is shaped like the real thing
 * so the relay's handling of it is tested, not just its happy path: BSNs from
 * the test range that pass the 11-proef, pupils known only by onderwijsnummer,
 * names with diacritics and tussenvoegsels, ages that fit the school sector.
 */
import { passesElfproef, type Instelling, type Leerling, type Melder, type Verzuimmelding } from '../domain/melding.js';
import type { SimulatedFeed } from './feed.js';
import { Random } from './random.js';
import {
  ACHTERNAMEN,
  AANVULLINGEN,
  FALLBACK_GEMEENTE,
  FUNCTIES,
  GEMEENTEN,
  HUISNUMMERTOEVOEGINGEN,
  INTREKKINGSREDENEN,
  JONGENSNAMEN,
  MEISJESNAMEN,
  REDENEN,
  SCHOOLNAMEN,
  STRATEN,
  TOELICHTINGEN,
  TWEEDE_NAMEN_JONGENS,
  TWEEDE_NAMEN_MEISJES,
  type GemeenteData,
} from './data.js';
import {
  addDays,
  ageOn,
  amsterdamDate,
  amsterdamHour,
  amsterdamInstant,
  dayNumber,
  formatDateTime,
  fromDayNumber,
  weekday,
} from './time.js';

type Sector = 'PO' | 'SO' | 'VO' | 'MBO';
type Melding = Omit<Verzuimmelding, 'volgnummer'>;

/** BSNs reserved for testing: 999990000–999999999. */
const TEST_BSN_FIRST = 999_990_000;
const TEST_BSN_LAST = 999_999_999;
/** Letters used in Dutch postcodes (F, I, O, Q, U and Y are not). */
const POSTCODE_LETTERS = 'ABCDEGHJKLMNPRSTVWXZ';
/** How far back the first generated mutation lies, so an initial batch has a history. */
const HISTORY_DAYS = 21;

const VERZUIMSOORT_WEIGHTS = [
  ['ZESTIEN_UUR', 40],
  ['LANGDURIG_RELATIEF', 15],
  ['LUXE', 20],
  ['DOORSTROOMPUNT_18PLUS', 10],
  ['OVERIG', 15],
] as const;

/** Which sectors report which verzuimsoort, and how often. */
const SECTOR_WEIGHTS: Record<string, readonly (readonly [Sector, number])[]> = {
  ZESTIEN_UUR: [['PO', 20], ['SO', 5], ['VO', 50], ['MBO', 25]],
  LANGDURIG_RELATIEF: [['PO', 15], ['SO', 15], ['VO', 45], ['MBO', 25]],
  LUXE: [['PO', 55], ['SO', 5], ['VO', 40]],
  DOORSTROOMPUNT_18PLUS: [['MBO', 1]],
  OVERIG: [['PO', 25], ['SO', 10], ['VO', 40], ['MBO', 25]],
};

/** Age on the first day of the verzuimperiode, inclusive. Leerplicht runs from 5; kwalificatieplicht to 18. */
const AGES: Record<Sector, [number, number]> = { PO: [5, 12], SO: [5, 17], VO: [12, 17], MBO: [16, 17] };
/** Doorstroompunt 18-plus: 18 to 23 years old (22 at the start of the period, at most 23 at the melding). */
const AGES_18PLUS: [number, number] = [18, 22];

interface Pupil {
  leerling: Leerling;
  sector: Sector;
  school: Instelling;
}

function stripDiacritics(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/ı/g, 'i').replace(/ş/g, 's');
}

/** Slugs made so far: the same few school names and surnames come back in every melder. */
const slugs = new Map<string, string>();

/** A domain label from a school name: 'OBS \'t Zonnetje' → 'obstzonnetje'. */
function slug(text: string): string {
  let made = slugs.get(text);
  if (made === undefined) {
    made = stripDiacritics(text).toLowerCase().replace(/[^a-z0-9]+/g, '');
    slugs.set(text, made);
  }
  return made;
}

/**
 * The parts as one flat string. A template literal builds a tree of
 * concatenations that a stored melding keeps alive (a few objects per
 * string, each copied by the garbage collector); join builds the string
 * itself.
 */
function flat(...parts: string[]): string {
  return parts.join('');
}

export interface MeldingGeneratorOptions {
  seed: number;
  gemeentecode: string;
  /**
   * Default: the real clock. Generated mutations start three weeks before it
   * and catch up with it; once there, each lies one second after the previous.
   */
  now?: () => Date;
}

export class MeldingGenerator {
  readonly gemeentecode: string;
  /** The generator's source of randomness, also used by advanceFeed to pick meldingen. */
  readonly random: Random;

  private readonly now: () => Date;
  private readonly gemeente: GemeenteData;
  private readonly schools: Record<Sector, Instelling[]>;
  private readonly freeBsns: string[];
  private readonly usedOnderwijsnummers = new Set<string>();
  private readonly pupils: Pupil[] = [];
  private nextMeldingsnummer: number;
  /** The instant of the last generated mutation; every next one lies after it. */
  private clock: number;

  constructor(options: MeldingGeneratorOptions) {
    if (!/^[0-9]{4}$/.test(options.gemeentecode)) throw new Error(`gemeentecode must be four digits, got "${options.gemeentecode}"`);
    this.gemeentecode = options.gemeentecode;
    this.random = new Random(options.seed);
    this.now = options.now ?? (() => new Date());
    this.gemeente = GEMEENTEN[options.gemeentecode] ?? FALLBACK_GEMEENTE;
    this.clock = this.now().getTime() - HISTORY_DAYS * 86_400_000;
    this.nextMeldingsnummer = this.random.int(1_000, 400_000);

    const bsns: string[] = [];
    for (let n = TEST_BSN_FIRST; n <= TEST_BSN_LAST; n++) {
      const bsn = String(n);
      if (passesElfproef(bsn)) bsns.push(bsn);
    }
    this.freeBsns = this.random.shuffle(bsns);
    this.schools = this.makeSchools();
  }

  /** A new melding as a school files it: status GEREGISTREERD. */
  nieuweMelding(overrides: Partial<Verzuimmelding> = {}): Melding {
    const r = this.random;
    const verzuimsoort = overrides.verzuimsoort ?? r.weighted(VERZUIMSOORT_WEIGHTS);
    const sector = r.weighted(SECTOR_WEIGHTS[verzuimsoort] ?? SECTOR_WEIGHTS.OVERIG!);
    const at = this.advance();
    const melddatum = formatDateTime(at);
    const today = amsterdamDate(at);
    const { verzuimperiode, aantalUrenVerzuim } = this.periode(verzuimsoort, today);
    const [minAge, maxAge] = verzuimsoort === 'DOORSTROOMPUNT_18PLUS' ? AGES_18PLUS : AGES[sector];
    const pupil = this.pupil(sector, verzuimperiode.begindatum, minAge, maxAge);

    const melding: Melding = {
      meldingsnummer: this.takeMeldingsnummer(at),
      gemeentecode: this.gemeentecode,
      verzuimsoort,
      status: 'GEREGISTREERD',
      melddatum,
      gewijzigdOp: melddatum,
      verzuimperiode,
      ...(aantalUrenVerzuim !== undefined ? { aantalUrenVerzuim } : {}),
      vermoedelijkeReden: r.pick(REDENEN[verzuimsoort] ?? REDENEN.OVERIG!),
      ...(r.chance(0.8) ? { toelichting: r.shuffle(TOELICHTINGEN).slice(0, r.int(1, 3)).join(' ') } : {}),
      // Shared, not copied: a pupil who returns in later meldingen, and the
      // school, are frozen (see pupil() and makeSchools()), so no melding can
      // change another's. Copies were a quarter of the objects the start
      // retained, and garbage collection is most of its time.
      leerling: pupil.leerling,
      instelling: pupil.school,
      ...(r.chance(0.9) ? { melder: this.melder(pupil.school) } : {}),
    };
    return { ...melding, ...overrides } as Melding;
  }

  /** The school changes a melding: a new einddatum, more hours, an addition to the toelichting, another reason. */
  wijziging(current: Verzuimmelding): Melding {
    const r = this.random;
    // A shallow copy: a change replaces top-level fields (a new verzuimperiode
    // object, never an edited one), so leerling, instelling and melder are
    // shared with the mutation before. A structured clone of every changed
    // melding was a large part of the garbage collection at start.
    const { volgnummer: _volgnummer, ...melding } = current;
    const at = this.advance(current.gewijzigdOp);
    const today = amsterdamDate(at);
    melding.gewijzigdOp = formatDateTime(at);

    const changes = r.shuffle(['einddatum', 'uren', 'toelichting', 'reden'] as const).slice(0, r.int(1, 2));
    for (const change of changes) {
      switch (change) {
        case 'einddatum': {
          const { begindatum, einddatum } = melding.verzuimperiode;
          const latest = Math.max(dayNumber(begindatum), dayNumber(today) - r.int(0, 3));
          const earliest = einddatum ? dayNumber(einddatum) + 1 : dayNumber(begindatum);
          // Verzuim that has ended gets its end date; a known end date moves later when it went on.
          if (latest >= earliest) melding.verzuimperiode = { begindatum, einddatum: fromDayNumber(r.int(earliest, latest)) };
          else melding.aantalUrenVerzuim = (melding.aantalUrenVerzuim ?? 16) + r.int(2, 8);
          break;
        }
        case 'uren':
          melding.aantalUrenVerzuim = (melding.aantalUrenVerzuim ?? r.int(16, 24)) + r.int(4, 24) / 2;
          break;
        case 'toelichting':
          melding.toelichting = appendToelichting(melding.toelichting, `Aanvulling ${dutchDate(today)}: ${r.pick(AANVULLINGEN)}`);
          break;
        case 'reden': {
          const others = (REDENEN[melding.verzuimsoort] ?? REDENEN.OVERIG!).filter((reden) => reden !== melding.vermoedelijkeReden);
          melding.vermoedelijkeReden = r.pick(others);
          break;
        }
      }
    }
    return melding;
  }

  /** The school withdraws a melding: status INGETROKKEN, with the reason in the toelichting. */
  intrekking(current: Verzuimmelding): Melding {
    // Shallow, as in wijziging: only top-level fields change.
    const { volgnummer: _volgnummer, ...melding } = current;
    const at = this.advance(current.gewijzigdOp);
    melding.status = 'INGETROKKEN';
    melding.gewijzigdOp = formatDateTime(at);
    melding.toelichting = appendToelichting(melding.toelichting, `Ingetrokken door school: ${this.random.pick(INTREKKINGSREDENEN)}`);
    return melding;
  }

  /**
   * The next mutation's instant: some minutes after the previous one, during
   * school hours on a weekday while there is history to fill, and never after
   * past the clock (then one second after the previous one, so it still advances).
   */
  private advance(after?: string): Date {
    const r = this.random;
    const floor = Math.max(this.clock, after ? Date.parse(after) : 0) + 1000;
    let t = floor + r.int(10, 240) * 60_000 + r.int(0, 59) * 1000;
    const weekend = (date: string) => weekday(date) === 0 || weekday(date) === 6;
    let date = amsterdamDate(new Date(t));
    const hour = amsterdamHour(new Date(t));
    if (hour >= 17 || hour < 8 || weekend(date)) {
      // On to the next school morning (later the same day when it is before 8).
      if (hour >= 17) date = addDays(date, 1);
      while (weekend(date)) date = addDays(date, 1);
      t = amsterdamInstant(date, 8, r.int(0, 59)).getTime() + r.int(0, 59) * 1000;
    }
    t = Math.max(floor, Math.min(t, this.now().getTime()));
    this.clock = t;
    return new Date(t);
  }

  private takeMeldingsnummer(at: Date): string {
    // Other gemeenten take numbers in between, so the sequence has gaps.
    const counter = this.nextMeldingsnummer;
    this.nextMeldingsnummer += this.random.int(1, 3);
    return `${amsterdamDate(at).slice(0, 4)}${String(counter % 1_000_000).padStart(6, '0')}`;
  }

  private periode(verzuimsoort: string, today: string): Pick<Melding, 'verzuimperiode' | 'aantalUrenVerzuim'> {
    const r = this.random;
    switch (verzuimsoort) {
      case 'ZESTIEN_UUR': {
        // 16 hours or more within 4 weeks, reported shortly after.
        const einddatum = addDays(today, -r.int(0, 3));
        return { verzuimperiode: { begindatum: addDays(einddatum, -r.int(14, 27)), einddatum }, aantalUrenVerzuim: 16 + r.int(0, 48) / 2 };
      }
      case 'LANGDURIG_RELATIEF': {
        // Four weeks or more in a row and still going on.
        const begindatum = addDays(today, -r.int(20, 45));
        return {
          verzuimperiode: r.chance(0.5) ? { begindatum, einddatum: null } : { begindatum },
          ...(r.chance(0.7) ? { aantalUrenVerzuim: r.int(60, 200) } : {}),
        };
      }
      case 'LUXE': {
        // A few days of holiday outside the school holidays.
        const begindatum = addDays(today, -r.int(3, 14));
        const days = r.int(1, 5);
        return { verzuimperiode: { begindatum, einddatum: addDays(begindatum, days - 1) }, aantalUrenVerzuim: days * r.int(5, 6) };
      }
      case 'DOORSTROOMPUNT_18PLUS': {
        const begindatum = addDays(today, -r.int(28, 60));
        return { verzuimperiode: { begindatum, einddatum: null }, ...(r.chance(0.5) ? { aantalUrenVerzuim: r.int(40, 120) } : {}) };
      }
      default: {
        const begindatum = addDays(today, -r.int(2, 20));
        const einddatum = r.chance(0.5) ? fromDayNumber(Math.min(dayNumber(today), dayNumber(begindatum) + r.int(1, 10))) : null;
        return { verzuimperiode: { begindatum, einddatum }, ...(r.chance(0.6) ? { aantalUrenVerzuim: r.int(4, 40) / 2 } : {}) };
      }
    }
  }

  /** A pupil of the sector and age: now and then one who was reported before (repeat verzuim is common). */
  private pupil(sector: Sector, begindatum: string, minAge: number, maxAge: number): Pupil {
    const r = this.random;
    const fits = (p: Pupil) => {
      const age = ageOn(p.leerling.geboortedatum, begindatum);
      return p.sector === sector && age >= minAge && age <= maxAge;
    };
    if (r.chance(0.15) && this.pupils.length) {
      // A handful of tries rather than a scan: feeds for the bench hold thousands of pupils.
      for (let tries = 0; tries < 20; tries++) {
        const known = r.pick(this.pupils);
        if (fits(known)) return known;
      }
    }

    const geslacht = r.weighted([['V', 48], ['M', 48], ['X', 3], ['O', 1]] as const);
    const boy = geslacht === 'M' || (geslacht !== 'V' && r.chance(0.5));
    const voornamen = [r.pick(boy ? JONGENSNAMEN : MEISJESNAMEN)];
    const extra = r.weighted([[0, 60], [1, 30], [2, 10]] as const);
    for (let i = 0; i < extra; i++) voornamen.push(r.pick(boy ? TWEEDE_NAMEN_JONGENS : TWEEDE_NAMEN_MEISJES));
    const [voorvoegsel, geslachtsnaam] = r.pick(ACHTERNAMEN);

    // Someone born `age` years and up to a year before the start of the period.
    const age = r.int(minAge, maxAge);
    let birth = dayNumber(begindatum) - Math.round(age * 365.2425) - r.int(0, 364);
    while (ageOn(fromDayNumber(birth), begindatum) < minAge) birth -= 7;
    while (ageOn(fromDayNumber(birth), begindatum) > maxAge) birth += 7;

    // Pupils without a BSN (newly arrived, for instance) are known by their onderwijsnummer.
    const bsn = r.chance(0.92) ? this.freeBsns.pop() : undefined;
    // Built field by field (same order, same draws) rather than with spreads of
    // conditional literals: those gave nearly every pupil a hidden class of its
    // own, tens of thousands of maps for V8 to build and collect.
    const leerling = {} as Leerling;
    if (bsn !== undefined) leerling.bsn = bsn;
    else leerling.onderwijsnummer = this.takeOnderwijsnummer();
    leerling.voornamen = [...new Set(voornamen)].join(' ');
    if (voorvoegsel) leerling.voorvoegsel = voorvoegsel;
    leerling.geslachtsnaam = geslachtsnaam;
    leerling.geboortedatum = fromDayNumber(birth);
    leerling.geslacht = geslacht;
    if (r.chance(0.95)) leerling.adres = Object.freeze(this.adres());
    Object.freeze(leerling);
    const pupil: Pupil = { leerling, sector, school: r.pick(this.schools[sector]) };
    this.pupils.push(pupil);
    return pupil;
  }

  private takeOnderwijsnummer(): string {
    let nummer: string;
    do nummer = '1' + this.random.digits(8);
    while (this.usedOnderwijsnummers.has(nummer));
    this.usedOnderwijsnummers.add(nummer);
    return nummer;
  }

  private adres(): Leerling['adres'] {
    const r = this.random;
    const woonplaats = r.pick(this.gemeente.woonplaatsen);
    let letters: string;
    // SA, SD and SS are not used in Dutch postcodes.
    do letters = r.pick([...POSTCODE_LETTERS]) + r.pick([...POSTCODE_LETTERS]);
    while (letters === 'SA' || letters === 'SD' || letters === 'SS');
    return {
      straatnaam: r.pick(STRATEN),
      huisnummer: r.chance(0.9) ? r.int(1, 250) : r.int(251, 1200),
      ...(r.chance(0.12) ? { huisletter: r.pick(['a', 'b', 'c', 'A', 'B', 'D']) } : {}),
      ...(r.chance(0.12) ? { huisnummertoevoeging: r.pick(HUISNUMMERTOEVOEGINGEN) } : {}),
      postcode: `${r.int(woonplaats.postcodes[0], woonplaats.postcodes[1])}${letters}`,
      woonplaats: woonplaats.naam,
    };
  }

  private makeSchools(): Record<Sector, Instelling[]> {
    const r = this.random;
    const brins = new Set<string>();
    const counts: Record<Sector, number> = { PO: 4, SO: 1, VO: 3, MBO: 2 };
    const schools = { PO: [], SO: [], VO: [], MBO: [] } as Record<Sector, Instelling[]>;
    for (const sector of Object.keys(counts) as Sector[]) {
      const names = r.shuffle(SCHOOLNAMEN[sector].names);
      for (let i = 0; i < counts[sector]; i++) {
        let brin: string;
        do brin = r.digits(2) + r.pick([...'ABCDEFGHJKLMNPRSTVWXYZ']) + r.pick([...'ABCDEFGHJKLMNPRSTVWXYZ']);
        while (brins.has(brin));
        brins.add(brin);
        const prefix = r.pick(SCHOOLNAMEN[sector].prefixes);
        schools[sector].push(Object.freeze({
          instellingscode: brin,
          vestigingsnummer: r.pick(['00', '00', '01', '02']),
          onderwijslocatiecode: `${r.digits(3)}${r.pick([...'ABCDEFGHJKLMNPRSTVWXZ'])}${r.digits(3)}`,
          naam: prefix ? `${prefix} ${names[i % names.length]}` : names[i % names.length]!,
          sector,
        }));
      }
    }
    return schools;
  }

  private melder(school: Instelling): Melder {
    const r = this.random;
    const [voorvoegsel, achternaam] = r.pick(ACHTERNAMEN);
    const voorletter = r.pick([...'ABCDEFGHIJKLMNPRSTW']);
    const domain = `${slug(school.naam)}.example`;
    const mobile = r.chance(0.25);
    return {
      naam: flat(voorletter, '. ', voorvoegsel ? voorvoegsel + ' ' : '', achternaam),
      functie: r.pick(FUNCTIES[school.sector ?? 'VO']),
      telefoonnummer: mobile ? `06-${r.digits(8)}` : `${this.gemeente.netnummer}-${r.digits(10 - this.gemeente.netnummer.length)}`,
      emailadres: r.chance(0.5) ? flat('verzuim@', domain) : flat(voorletter.toLowerCase(), '.', slug(voorvoegsel + achternaam), '@', domain),
    };
  }
}

/** Adds a paragraph to a toelichting, dropping the oldest text when it would exceed the contract's 2000 characters. */
function appendToelichting(toelichting: string | undefined, addition: string): string {
  const text = toelichting ? `${toelichting}\n${addition}` : addition;
  return text.length <= 2000 ? text : text.slice(text.length - 2000);
}

function dutchDate(date: string): string {
  const [y, m, d] = date.split('-');
  return `${d}-${m}-${y}`;
}

export interface FeedStep {
  nieuw: number;
  wijzigingen: number;
  intrekkingen: number;
}

/**
 * One "day" of activity in the gemeente: new meldingen, changes and
 * withdrawals of open ones, in random order. Changes and withdrawals are
 * skipped when there is no open melding to apply them to.
 */
export function advanceFeed(feed: SimulatedFeed, gen: MeldingGenerator, step: FeedStep): void {
  const r = gen.random;
  const kinds = r.shuffle([
    ...Array<'nieuw'>(Math.max(0, step.nieuw)).fill('nieuw'),
    ...Array<'wijziging'>(Math.max(0, step.wijzigingen)).fill('wijziging'),
    ...Array<'intrekking'>(Math.max(0, step.intrekkingen)).fill('intrekking'),
  ]);
  // The open meldingen, listed once and kept up to date below rather than
  // listed again for every change: a fresh scan per change made generating a
  // national year (150,000 meldingen) quadratic.
  let open: string[] | undefined;
  for (const kind of kinds) {
    if (kind === 'nieuw') {
      let melding = gen.nieuweMelding();
      // Another generator on the same feed may have used the number already.
      for (let tries = 0; feed.has(melding.meldingsnummer) && tries < 10; tries++) melding = gen.nieuweMelding();
      const isNew = !feed.has(melding.meldingsnummer);
      feed.adopt(melding);
      if (open && isNew) open.push(melding.meldingsnummer);
      continue;
    }
    open ??= feed.meldingsnummers(gen.gemeentecode, (status) => status === 'GEREGISTREERD' || status === 'IN_BEHANDELING');
    if (open.length === 0) continue;
    const index = r.int(0, open.length - 1);
    // Not copied here: wijziging and intrekking copy the melding they change.
    const target = feed.currentShared(open[index]!)! as Verzuimmelding;
    feed.adopt(kind === 'wijziging' ? gen.wijziging(target) : gen.intrekking(target));
    // A withdrawn melding is no longer open (a change keeps the status).
    // The last one takes its place: splicing a list of 150,000 numbers per
    // withdrawal was itself quadratic (the order only steers the random picks).
    if (kind === 'intrekking') open[index] = open[open.length - 1]!, open.pop();
  }
}
