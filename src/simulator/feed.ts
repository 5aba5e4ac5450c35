/**
 * The simulated ROD's state: the mutation feed (a change log in which every
 * change to a melding appends its full new state under a new volgnummer) and
 * the knobs tests turn to make the feed misbehave the way the real one may:
 * gaps between volgnummers, re-served mutations after a failover, 429/503
 * answers, malformed records.
 */
import { readFileSync } from 'node:fs';
import { MUNICIPALITY_STATUSES, type Verzuimmelding } from '../domain/melding.js';
import { validateItem } from '../feed/contract.js';
import { Random } from './random.js';
import { formatDateTime } from './time.js';

export interface SimulatedFeedOptions {
  /** The first volgnummer handed out (default 1). */
  startVolgnummer?: number;
  /** Up to this many volgnummers are skipped between two mutations, at random (default 3; 0 = contiguous). */
  gapMax?: number;
  seed?: number;
  /** The clock for gewijzigdOp of status changes (default: the real one). */
  now?: () => Date;
}

/** One request as the server saw it, for tests to assert on. */
export interface SimulatedRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  query?: string;
  requestId?: string;
  oin?: string;
  /** Edukoppeling: the operation of a request that passed the checks. */
  operation?: string;
  /** Edukoppeling: the faultcode (Client.DK0003, …) or the business foutcode (V403, …) answered. */
  fault?: string;
  status: number;
}

/** A status the municipality reported, with its toelichting (the feed item itself has no place for it). */
export interface SimulatedStatusWijziging {
  meldingsnummer: string;
  status: string;
  toelichting?: string;
  volgnummer: number;
}

export interface InjectedFailure {
  status: 429 | 503 | 500;
  retryAfter?: string;
  /** Replaces fields of the REST problem document: what a hostile or careless ROD might write. */
  problem?: { title?: string; detail?: string; code?: string; type?: string };
}

export interface FeedPage {
  verzuimmeldingen: unknown[];
  volgnummerTot: number;
  meer: boolean;
}

interface Entry {
  /** Where the entry sits in the feed; for a raw item this may not be visible in the item itself. */
  volgnummer: number;
  /** Undefined for a raw item without a usable gemeentecode: such an item is served to every gemeente. */
  gemeentecode: string | undefined;
  item: unknown;
}

/** Who may move a melding to what. Setting the status it already has is accepted separately. */
const TRANSITIONS: Readonly<Record<string, readonly string[]>> = {
  GEREGISTREERD: ['IN_BEHANDELING', 'TER_KENNISGEVING_AANGENOMEN'],
  IN_BEHANDELING: ['AFGESLOTEN', 'TER_KENNISGEVING_AANGENOMEN'],
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isVolgnummer(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

export class SimulatedFeed {
  readonly requests: SimulatedRequest[] = [];
  readonly statusWijzigingen: SimulatedStatusWijziging[] = [];

  /**
   * The feed in volgnummer order, as three columns rather than an Entry
   * object per mutation: at 192,500 mutations those objects were a tenth of
   * what the start kept alive (and garbage collection is most of the start).
   */
  private readonly volgnummers: number[] = [];
  private readonly gemeentecodes: (string | undefined)[] = [];
  private readonly items: unknown[] = [];
  private readonly latest = new Map<string, Verzuimmelding>();
  private readonly random: Random;
  private readonly gapMax: number;
  private readonly now: () => Date;
  private nextVolgnummer: number;
  private replayPending = 0;
  private readonly failures: InjectedFailure[] = [];

  constructor(options: SimulatedFeedOptions = {}) {
    this.random = new Random(options.seed ?? 1);
    this.gapMax = Math.max(0, Math.trunc(options.gapMax ?? 3));
    this.nextVolgnummer = Math.max(1, Math.trunc(options.startVolgnummer ?? 1));
    this.now = options.now ?? (() => new Date());
  }

  /** The highest volgnummer in the feed, 0 when it is empty. */
  get lastVolgnummer(): number {
    return this.volgnummers.length ? this.volgnummers[this.volgnummers.length - 1]! : 0;
  }

  /** How many meldingen the feed holds (what meldingen().length says, without copying and sorting them all). */
  get meldingCount(): number {
    return this.latest.size;
  }

  /** How many mutations (valid or raw) the feed holds. */
  get size(): number {
    return this.volgnummers.length;
  }

  /**
   * Appends a mutation. Without a volgnummer it gets the next one, after a
   * random gap; with one, it is placed where that volgnummer belongs.
   */
  append(melding: Omit<Verzuimmelding, 'volgnummer'> | Verzuimmelding): Verzuimmelding {
    return structuredClone(this.adopt(structuredClone(melding)));
  }

  /**
   * append without the copies, for a melding nobody else holds (the
   * generator's fresh objects): two structured clones per mutation were most
   * of the time it took to generate a national year of meldingen.
   */
  adopt(melding: Omit<Verzuimmelding, 'volgnummer'> | Verzuimmelding): Verzuimmelding {
    const given = (melding as Partial<Verzuimmelding>).volgnummer;
    const volgnummer = isVolgnummer(given) ? given : this.takeVolgnummer();
    // volgnummer right after meldingsnummer, as ROD lists it.
    const stored: Verzuimmelding = Object.assign({ meldingsnummer: melding.meldingsnummer, volgnummer }, melding, { volgnummer });
    this.insert({ volgnummer, gemeentecode: stored.gemeentecode, item: stored });
    const previous = this.latest.get(stored.meldingsnummer);
    if (!previous || previous.volgnummer <= volgnummer) this.latest.set(stored.meldingsnummer, stored);
    return stored;
  }

  /**
   * Appends a record served exactly as given, however malformed, so a test can
   * watch the client quarantine it. An object without a volgnummer gets one;
   * anything else keeps what it has and only occupies a place in the feed.
   */
  appendRaw(item: unknown): void {
    let served = structuredClone(item);
    let volgnummer: number;
    if (isRecord(served) && isVolgnummer(served.volgnummer)) {
      volgnummer = served.volgnummer;
    } else {
      volgnummer = this.takeVolgnummer();
      if (isRecord(served) && !('volgnummer' in served)) served = { ...served, volgnummer };
    }
    const gemeentecode = isRecord(served) && typeof served.gemeentecode === 'string' ? served.gemeentecode : undefined;
    this.insert({ volgnummer, gemeentecode, item: served });
  }

  /**
   * One page of the feed for one gemeente: the mutations with a volgnummer
   * above `vanaf` (exclusive), ascending, and any re-served ones asked for
   * with replayNext: at most `limit` in all, as the relay refuses a page
   * with more items than it asked for.
   */
  page(gemeentecode: string, vanaf: number, limit: number): FeedPage {
    const isOwn = (i: number) => this.gemeentecodes[i] === undefined || this.gemeentecodes[i] === gemeentecode;
    // Entries are sorted by volgnummer: find the first one above vanaf, then walk (the bench pages through large feeds).
    const start = this.firstAbove(vanaf);
    const earlier: Entry[] = [];
    if (this.replayPending > 0) for (let i = 0; i < start; i++) if (isOwn(i)) earlier.push(this.entry(i));
    // Re-served items take their place within the limit, leaving room for at least one new one.
    const count = Math.min(this.replayPending, earlier.length, Math.max(0, limit - 1));
    const room = limit - count;
    const fresh: Entry[] = [];
    let meer = false;
    for (let i = start; i < this.volgnummers.length; i++) {
      if (!isOwn(i)) continue;
      if (fresh.length === room) {
        meer = true;
        break;
      }
      fresh.push(this.entry(i));
    }
    // Re-served items never move volgnummerTot: the cursor only follows new mutations.
    const volgnummerTot = fresh.length ? Math.max(vanaf, fresh[fresh.length - 1]!.volgnummer) : vanaf;

    const items = fresh.map((e) => structuredClone(e.item));
    if (count > 0) {
      this.replayPending = 0;
      // Descending, and spread between the new items: out of order, as after a failover.
      const replayed = this.random
        .shuffle(earlier)
        .slice(0, count)
        .sort((a, b) => b.volgnummer - a.volgnummer);
      const slots = fresh.length;
      replayed.forEach((entry, j) => {
        const after = Math.min(slots, Math.ceil(((j + 1) * slots) / (count + 1)));
        items.splice(after + j, 0, structuredClone(entry.item));
      });
    }
    return { verzuimmeldingen: items, volgnummerTot, meer };
  }

  /** The melding as it stands now (its mutation with the highest volgnummer). */
  current(meldingsnummer: string): Verzuimmelding | undefined {
    const melding = this.latest.get(meldingsnummer);
    return melding ? structuredClone(melding) : undefined;
  }

  /** The melding as it stands now, not copied: for the generator, which copies what it changes. Do not modify. */
  currentShared(meldingsnummer: string): Readonly<Verzuimmelding> | undefined {
    return this.latest.get(meldingsnummer);
  }

  /** Whether the feed holds a melding with this number (no copy made). */
  has(meldingsnummer: string): boolean {
    return this.latest.has(meldingsnummer);
  }

  /** All meldingen as they stand now, optionally of one gemeente, in meldingsnummer order. */
  meldingen(gemeentecode?: string): Verzuimmelding[] {
    return [...this.latest.values()]
      .filter((m) => gemeentecode === undefined || m.gemeentecode === gemeentecode)
      .sort((a, b) => a.meldingsnummer.localeCompare(b.meldingsnummer))
      .map((m) => structuredClone(m));
  }

  /** Meldingsnummers (in order of first appearance) of one gemeente whose current status passes the filter; no copies made. */
  meldingsnummers(gemeentecode: string, status: (status: string) => boolean = () => true): string[] {
    const out: string[] = [];
    for (const melding of this.latest.values()) {
      if (melding.gemeentecode === gemeentecode && status(melding.status)) out.push(melding.meldingsnummer);
    }
    return out;
  }

  /**
   * The municipality reports how it handles a melding. Allowed moves append a
   * mutation; setting the current status again changes nothing; everything
   * else, and anything on a withdrawn melding, is a conflict.
   */
  setStatus(meldingsnummer: string, status: string, toelichting?: string): 'ok' | 'not-found' | 'conflict' {
    const melding = this.latest.get(meldingsnummer);
    if (!melding) return 'not-found';
    if (melding.status === 'INGETROKKEN') return 'conflict';
    if (!MUNICIPALITY_STATUSES.includes(status)) return 'conflict';
    if (melding.status === status) return 'ok';
    if (!(TRANSITIONS[melding.status] ?? []).includes(status)) return 'conflict';

    // gewijzigdOp must move forward even if the clock says otherwise.
    const previous = Date.parse(melding.gewijzigdOp);
    const at = new Date(Math.max(this.now().getTime(), Number.isNaN(previous) ? 0 : previous + 1000));
    const { volgnummer: _old, ...rest } = melding;
    const appended = this.append({ ...rest, status, gewijzigdOp: formatDateTime(at) });
    this.statusWijzigingen.push({
      meldingsnummer,
      status,
      ...(toelichting !== undefined ? { toelichting } : {}),
      volgnummer: appended.volgnummer,
    });
    return 'ok';
  }

  /**
   * The next page that has earlier mutations to offer also re-serves `count`
   * of them (volgnummer <= vanaf, out of order), the way ROD may after a
   * failover. They count towards the page's limit.
   */
  replayNext(count: number): void {
    this.replayPending = Math.max(0, Math.trunc(count));
  }

  /** The next request(s), whatever they ask, get this error. */
  failNext(status: 429 | 503 | 500, options: { retryAfter?: string; times?: number; problem?: InjectedFailure['problem'] } = {}): void {
    const times = Math.max(1, Math.trunc(options.times ?? 1));
    const retryAfter = options.retryAfter ?? (status === 500 ? undefined : '1');
    const problem = options.problem ? { problem: options.problem } : {};
    for (let i = 0; i < times; i++) this.failures.push(retryAfter === undefined ? { status, ...problem } : { status, retryAfter, ...problem });
  }

  /** Used by the server: the failure the current request must get, if one is queued. */
  takeFailure(): InjectedFailure | undefined {
    return this.failures.shift();
  }

  /**
   * Loads a JSON file holding an array of feed items, or a page
   * ({ verzuimmeldingen: [...] }). Valid items are appended as meldingen
   * (keeping their volgnummer when they have one); invalid ones are served
   * as they are. Returns how many items were loaded.
   */
  loadFixtures(file: string): number {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new Error(`cannot read fixtures from ${file}: ${(error as Error).message}`);
    }
    const items = Array.isArray(parsed) ? parsed : isRecord(parsed) ? parsed.verzuimmeldingen : undefined;
    if (!Array.isArray(items)) {
      throw new Error(`fixtures in ${file}: expected a JSON array of feed items or an object with a "verzuimmeldingen" array`);
    }
    for (const item of items) {
      // A fixture may leave the volgnummer to the feed; judge the rest of it.
      const candidate = isRecord(item) && !('volgnummer' in item) ? { ...item, volgnummer: 1 } : item;
      // The original item, not zod's parsed copy: fixtures may carry extra fields on purpose.
      if (validateItem(candidate).ok) this.append(item as Verzuimmelding);
      else this.appendRaw(item);
    }
    return items.length;
  }

  private takeVolgnummer(): number {
    const volgnummer = Math.max(this.nextVolgnummer, this.lastVolgnummer + 1);
    this.nextVolgnummer = volgnummer + 1 + this.random.int(0, this.gapMax);
    return volgnummer;
  }

  /** The entry at index i of the columns. */
  private entry(i: number): Entry {
    return { volgnummer: this.volgnummers[i]!, gemeentecode: this.gemeentecodes[i], item: this.items[i] };
  }

  /** Index of the first entry with a volgnummer above `vanaf` (the length of the columns when none). */
  private firstAbove(vanaf: number): number {
    let low = 0;
    let high = this.volgnummers.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.volgnummers[mid]! > vanaf) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  private insert(entry: Entry): void {
    // Almost always at the end; a given, lower volgnummer is placed in order (after equal ones).
    let i = this.volgnummers.length;
    while (i > 0 && this.volgnummers[i - 1]! > entry.volgnummer) i--;
    // push at the end: splice copies the array, which made a large feed quadratic to build.
    if (i === this.volgnummers.length) {
      this.volgnummers.push(entry.volgnummer);
      this.gemeentecodes.push(entry.gemeentecode);
      this.items.push(entry.item);
    } else {
      this.volgnummers.splice(i, 0, entry.volgnummer);
      this.gemeentecodes.splice(i, 0, entry.gemeentecode);
      this.items.splice(i, 0, entry.item);
    }
    if (entry.volgnummer >= this.nextVolgnummer) this.nextVolgnummer = entry.volgnummer + 1;
  }
}
