/**
 * The relay's Prometheus metrics, in a Registry of their own (never
 * prom-client's global one, so a second relay in one process, or a test,
 * starts from zero). Labels carry gemeentecodes, instance ids, states,
 * outcomes and operation names only: never a meldingsnummer, a BSN or an address, because
 * whatever is in a label ends up in the monitoring system's storage.
 *
 * Counters are counted where things happen (cycle, delivery, the ROD
 * transport); what the store holds is read when scraped, from a snapshot the
 * app supplies, so the numbers are the database's, not a copy that drifts.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type MailOutcome = 'sent' | 'deferred' | 'dead';

/** What the store and the certificate say at the moment of a scrape. */
export interface MetricsSnapshot {
  outboxByState: Record<string, number>;
  quarantineOpen: number;
  certificateDaysLeft: number | null;
  lastSuccessfulCycle: Date | null;
}

/** The label value for mail to the administrator, which goes to no instance. */
export const ALERT_INSTANCE = '(alerts)';
/** The gemeente label of what concerns the whole relay (an alert about the certificate). */
export const RELAY_GEMEENTE = '(relay)';

/** How one gemeente's feed was read in a cycle. */
export type GemeenteReadOutcome = 'ok' | 'failed' | 'refused' | 'interrupted';

/** What cycle, delivery and the ROD transport count into. All optional for them: tests and `once` pass none. */
export interface RelayCounters {
  cycleFinished(outcome: 'ok' | 'failed'): void;
  /** One gemeente's feed in one cycle: how it ended and how many mutations it brought. */
  gemeenteRead(gemeentecode: string, outcome: GemeenteReadOutcome, fetched: number): void;
  mail(instance: string | null, outcome: MailOutcome, gemeentecode?: string | null): void;
  rodRequest(operation: string, outcome: 'ok' | 'failed', seconds: number, gemeentecode?: string): void;
}

export class RelayMetrics implements RelayCounters {
  readonly registry = new Registry();
  private current: MetricsSnapshot | undefined;
  private readonly cycles: Counter<'outcome'>;
  private readonly fetched: Counter<'gemeente'>;
  private readonly reads: Counter<'gemeente' | 'outcome'>;
  private readonly mails: Counter<'gemeente' | 'instance' | 'outcome'>;
  private readonly rod: Histogram<'gemeente' | 'operation' | 'outcome'>;

  constructor(private readonly snapshot: () => MetricsSnapshot, options: { gemeenten?: readonly { code: string; instances: readonly string[] }[] } = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.cycles = new Counter({ name: 'verzuim_relay_cycles_total', help: 'Cycles finished, by outcome (ok: the feed was read to its end).', labelNames: ['outcome'], registers });
    this.fetched = new Counter({ name: 'verzuim_relay_mutations_fetched_total', help: 'Mutations (feed items) fetched from ROD, by gemeente.', labelNames: ['gemeente'], registers });
    this.reads = new Counter({
      name: 'verzuim_relay_gemeente_reads_total',
      help: "Reads of a gemeente's feed, by gemeente and outcome (ok: read to its end; refused: ROD refused the gemeente; failed; interrupted).",
      labelNames: ['gemeente', 'outcome'],
      registers,
    });
    this.mails = new Counter({
      name: 'verzuim_relay_mails_total',
      help: `Delivery attempts by gemeente, instance and outcome (sent, deferred, dead); instance "${ALERT_INSTANCE}" is mail to the administrator, gemeente "${RELAY_GEMEENTE}" an alert about the whole relay.`,
      labelNames: ['gemeente', 'instance', 'outcome'],
      registers,
    });
    this.rod = new Histogram({
      name: 'verzuim_relay_rod_request_duration_seconds',
      help: "Duration of a ROD request (one page or one status report, retries and Retry-After waits included), by gemeente, operation and outcome.",
      labelNames: ['gemeente', 'operation', 'outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    for (const outcome of ['ok', 'failed'] as const) this.cycles.inc({ outcome }, 0);
    for (const gemeente of options.gemeenten ?? []) {
      this.fetched.inc({ gemeente: gemeente.code }, 0);
      for (const outcome of ['ok', 'failed', 'refused'] as const) this.reads.inc({ gemeente: gemeente.code, outcome }, 0);
      for (const instance of [...gemeente.instances, ALERT_INSTANCE]) {
        for (const outcome of ['sent', 'deferred', 'dead'] as const) this.mails.inc({ gemeente: gemeente.code, instance, outcome }, 0);
      }
    }
    for (const outcome of ['sent', 'deferred', 'dead'] as const) this.mails.inc({ gemeente: RELAY_GEMEENTE, instance: ALERT_INSTANCE, outcome }, 0);

    const state = () => this.current ?? (this.current = this.snapshot());
    new Gauge({
      name: 'verzuim_relay_outbox_mails',
      help: 'Mails in the outbox, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        for (const [s, n] of Object.entries(state().outboxByState)) this.set({ state: s }, n);
      },
    });
    new Gauge({ name: 'verzuim_relay_quarantine_open', help: 'Records in quarantine waiting to be processed.', registers, collect() { this.set(state().quarantineOpen); } });
    new Gauge({
      name: 'verzuim_relay_certificate_days_left',
      help: 'Days until the client certificate expires (absent when it cannot be read).',
      registers,
      collect() {
        const days = state().certificateDaysLeft;
        if (days === null) this.reset();
        else this.set(days);
      },
    });
    new Gauge({
      name: 'verzuim_relay_last_successful_cycle_timestamp_seconds',
      help: 'When the last successful cycle finished, as a Unix time (0: none yet).',
      registers,
      collect() {
        const at = state().lastSuccessfulCycle;
        this.set(at ? at.getTime() / 1000 : 0);
      },
    });
  }

  /** The exposition text; the store is read once per scrape. */
  async render(): Promise<string> {
    this.current = undefined;
    try {
      return await this.registry.metrics();
    } finally {
      this.current = undefined;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  cycleFinished(outcome: 'ok' | 'failed'): void {
    this.cycles.inc({ outcome });
  }

  gemeenteRead(gemeentecode: string, outcome: GemeenteReadOutcome, fetched: number): void {
    this.reads.inc({ gemeente: gemeentecode, outcome });
    this.fetched.inc({ gemeente: gemeentecode }, fetched);
  }

  mail(instance: string | null, outcome: MailOutcome, gemeentecode?: string | null): void {
    this.mails.inc({ gemeente: gemeentecode ?? RELAY_GEMEENTE, instance: instance ?? ALERT_INSTANCE, outcome });
  }

  rodRequest(operation: string, outcome: 'ok' | 'failed', seconds: number, gemeentecode?: string): void {
    this.rod.observe({ gemeente: gemeentecode ?? RELAY_GEMEENTE, operation, outcome }, seconds);
  }
}
