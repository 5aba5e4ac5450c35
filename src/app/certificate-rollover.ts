/**
 * Renewing the client certificate without a gap in fetching: while tls.next is configured, the
 * relay asks ROD once with it at start and daily (a probe: the first page of the feed with page size
 * 1, nothing stored), and switches to it the first time ROD accepts it. A probe is not a cycle: its
 * refusal as unregistered only means "not yet". When ROD refuses the current certificate as
 * unregistered (DUO may register the new one and drop the old one at once), tls.next is tried at
 * once, in the same cycle. When the current certificate expires first, the relay switches anyway
 * rather than stop. The switch is stored (by SHA-256), logged, audited and mailed.
 *
 * What to do in each situation is decideRollover's table (certs/rollover.ts); this module only acts
 * on it.
 */
import type { Config, TlsConfig } from '../config/schema.js';
import { certificateOin, nextTls } from '../config/schema.js';
import { inspectCredentials, unusable, type ClientCredentials } from '../certs/credentials.js';
import type { CertificateReport } from '../certs/inspect.js';
import { decideRollover, onlyExpired, type RolloverAnswer, type RolloverCertificate, type RolloverDecision, type SwitchReason } from '../certs/rollover.js';
import { refusedAsUnregistered, RodError } from '../feed/errors.js';
import type { FeedPage, RodTransport } from '../feed/transport.js';
import { certificateSwitchedAlert, queueAlert } from '../mail/alert.js';
import type { Logger } from '../observability/log.js';
import type { Store } from '../store/store.js';

/** One configured client certificate as inspected now. */
export interface ConfiguredCertificate {
  /** The configuration key it is under. */
  key: 'tls' | 'tls.next';
  tls: TlsConfig;
  report: CertificateReport;
  /** Present when the report says it is usable. */
  credentials?: ClientCredentials;
}

export interface ConfiguredCertificates {
  current: ConfiguredCertificate;
  next?: ConfiguredCertificate;
}

/** tls and tls.next, judged by the same checks (the same anchors, the same OIN). */
export function inspectCertificates(config: Config, now: Date): ConfiguredCertificates {
  const inspect = (key: ConfiguredCertificate['key'], tls: TlsConfig): ConfiguredCertificate => ({ key, tls, ...inspectCredentials(tls, certificateOin(config), now) });
  const next = nextTls(config.tls);
  return { current: inspect('tls', config.tls), ...(next ? { next: inspect('tls.next', next) } : {}) };
}

function asRollover(c: ConfiguredCertificate): RolloverCertificate {
  const usable = c.credentials !== undefined;
  return {
    // Without a readable leaf there is no fingerprint; a placeholder that matches nothing stored.
    sha256: c.report.leaf?.sha256 ?? `unreadable:${c.key}`,
    usable,
    expired: !usable && onlyExpired(c.report.problems.map((p) => p.code)),
  };
}

function decide(certificates: ConfiguredCertificates, stored: string | undefined, answer?: RolloverAnswer): RolloverDecision {
  return decideRollover({
    current: asRollover(certificates.current),
    ...(certificates.next ? { next: asRollover(certificates.next) } : {}),
    ...(stored !== undefined ? { stored } : {}),
    ...(answer ? { answer } : {}),
  });
}

/**
 * The certificate to start with. Throws CertificateError (exit 2) when it is not usable: without
 * tls.next exactly as before; with it, only when neither can be used.
 */
export function startingCertificate(certificates: ConfiguredCertificates, stored: string | undefined): { decision: RolloverDecision; certificate: ConfiguredCertificate } {
  const decision = decide(certificates, stored);
  const certificate = decision.use === 'next' && certificates.next ? certificates.next : certificates.current;
  if (!certificate.credentials) throw unusable(certificate.report);
  return { decision, certificate };
}

/** The certificate the relay uses (or, started now, would use), for `status`. */
export function certificateInUse(certificates: ConfiguredCertificates, stored: string | undefined): ConfiguredCertificate {
  return decide(certificates, stored).use === 'next' && certificates.next ? certificates.next : certificates.current;
}

/** What a probe got: ROD's answer, and the request id for the log. */
type ProbeResult = { result: RolloverAnswer['result']; error?: RodError | Error; requestId?: string };

export interface RolloverDeps {
  config: Config;
  store: Store;
  log: Logger;
  now: () => Date;
  /** A transport of its own for one probe with these credentials; closed after the probe. */
  transportFor: (credentials: ClientCredentials) => RodTransport;
}

export class CertificateRolloverControl {
  private certificates: ConfiguredCertificates;
  private inUse: ConfiguredCertificate;
  /** Every gemeente's transport: a switch changes the credentials of all of them. */
  private readonly transports: RodTransport[] = [];

  constructor(
    private readonly deps: RolloverDeps,
    certificates: ConfiguredCertificates,
    private readonly start: { decision: RolloverDecision; certificate: ConfiguredCertificate },
  ) {
    this.certificates = certificates;
    this.inUse = start.certificate;
  }

  /** The credentials the relay presents now. */
  get credentials(): ClientCredentials {
    return this.inUse.credentials!;
  }

  /** Which configuration key the certificate in use is under. */
  get inUseKey(): ConfiguredCertificate['key'] {
    return this.inUse.key;
  }

  /** The tls section of the certificate in use (tls, or tls.next after a switch). */
  get inUseTls(): TlsConfig {
    return this.inUse.tls;
  }

  /** The report of the certificate in use, for the expiry watch. */
  get inUseReport(): CertificateReport {
    return this.inUse.report;
  }

  get nextCertificate(): ConfiguredCertificate | undefined {
    return this.certificates.next;
  }

  /**
   * The relay's transport, wrapped: a request the current certificate gets refused as unregistered
   * is tried with tls.next at once (decideRollover row 8), and asked again if that made the switch.
   */
  attach(transport: RodTransport): RodTransport {
    this.transports.push(transport);
    const retried = async <T>(call: () => Promise<T>): Promise<T> => {
      this.switchIfExpired();
      try {
        return await call();
      } catch (err) {
        if (!refusedAsUnregistered(err) || !(await this.currentRefused())) throw err;
        return call();
      }
    };
    return {
      fetchPage: (vanaf, limit, options) => retried(() => transport.fetchPage(vanaf, limit, options)),
      setStatus: (meldingsnummer, status) => retried(() => transport.setStatus(meldingsnummer, status)),
      useCredentials: (credentials) => transport.useCredentials(credentials),
      close: () => transport.close(),
    };
  }

  /** After the writer lease is held: record a switch made at start (the current one expired). What else start found, check() says. */
  started(): void {
    const { decision } = this.start;
    if (decision.switch) this.recordSwitch(decision.switch);
  }

  /**
   * At start and daily (the certificate watch): look at both certificates again, switch when the
   * current one expired meanwhile, and probe tls.next when decideRollover says so.
   */
  async check(): Promise<void> {
    this.certificates = inspectCertificates(this.deps.config, this.deps.now());
    const decision = decide(this.certificates, this.stored());
    if (decision.switch) return this.switchTo(decision.switch);
    const want = decision.use === 'next' && this.certificates.next ? this.certificates.next : this.certificates.current;
    if (want.key !== this.inUse.key && want.credentials) {
      // Back to tls when a switched-to tls.next became unusable (decideRollover row 3).
      for (const transport of this.transports) transport.useCredentials(want.credentials);
      this.inUse = want;
    } else if (want.key === this.inUse.key && want.report.leaf?.sha256 === this.inUse.report.leaf?.sha256) {
      // Today's report for the expiry watch; the credentials stay those presented since start or the switch.
      this.inUse = { ...want, credentials: this.inUse.credentials! };
    }
    this.notify(decision);
    if (decision.probe) await this.probeAndDecide('probe');
  }

  /**
   * Before each request: the current certificate (or a CA in its chain) may have expired since the
   * last check, at any hour; ROD would refuse it in the TLS handshake. The dates are in the reports
   * already, so this costs no file reading.
   */
  private switchIfExpired(): void {
    const { current, next } = this.certificates;
    if (this.inUse.key !== 'tls' || !next) return;
    const now = this.deps.now().getTime();
    const ends = [current.report.notAfter, current.report.chainEndsAt?.notAfter].filter((d): d is string => d !== undefined).map(Date.parse);
    if (ends.length === 0 || Math.min(...ends) > now) return;
    const nextUsable = next.credentials !== undefined && (next.report.notAfter === undefined || Date.parse(next.report.notAfter) > now);
    const decision = decideRollover({
      current: { ...asRollover(current), usable: false, expired: true },
      next: { ...asRollover(next), usable: nextUsable },
      ...(this.stored() !== undefined ? { stored: this.stored()! } : {}),
    });
    if (decision.switch) this.switchTo(decision.switch);
  }

  /** The current certificate was refused as unregistered: true when tls.next was accepted and is now in use. */
  private async currentRefused(): Promise<boolean> {
    const decision = decide(this.certificates, this.stored(), { by: 'current', result: 'unregistered' });
    if (!decision.tryNext) return false;
    this.deps.log.warn('cert.current-refused', { sha256: this.inUse.report.leaf?.sha256 }, 'ROD refused the certificate in tls as not registered; trying tls.next at once');
    await this.probeAndDecide('current-refused');
    return this.inUse.key === 'tls.next';
  }

  private async probeAndDecide(trigger: 'probe' | 'current-refused'): Promise<void> {
    const next = this.certificates.next;
    if (!next?.credentials) return;
    const probe = await this.probe(next.credentials);
    const sha256 = next.report.leaf?.sha256 ?? '';
    const at = this.deps.now();
    const outcome = probe.result === 'accepted' ? 'ok' : probe.result === 'unregistered' ? 'ignored' : 'failed';
    const detail = { sha256, trigger, result: probe.result, ...(probe.error instanceof RodError && probe.error.details.code ? { code: probe.error.details.code } : {}) };
    this.deps.store.transaction(() => {
      this.deps.store.certificateRollover.recordProbe(sha256, probe.result, at);
      this.deps.store.audit.append({ event: 'cert.probed', outcome, detail });
    });
    if (probe.result === 'failed') {
      this.deps.log.warn('cert.probe-failed', { sha256, trigger, error: probe.error?.message }, 'the request with tls.next failed for another reason than registration; the relay keeps using tls and asks again tomorrow');
    } else {
      this.deps.log.info(
        'cert.probed',
        { sha256, trigger, result: probe.result, requestId: probe.requestId },
        probe.result === 'accepted' ? 'ROD accepted the certificate in tls.next' : 'DUO has not registered the certificate in tls.next yet: the relay keeps using tls and asks again daily',
      );
    }
    const decision = decide(this.certificates, this.stored(), { by: 'next', result: probe.result, trigger });
    if (decision.switch) this.switchTo(decision.switch);
    else this.notify(decision);
  }

  /**
   * The harmless request: the page after the stored cursor, at most one item, read and dropped. The
   * cursor (not volgnummer 0) so that, when the feed is up to date, not even one melding crosses the
   * wire for it.
   */
  private async probe(credentials: ClientCredentials): Promise<ProbeResult> {
    const transport = this.deps.transportFor(credentials);
    try {
      const page: FeedPage = await transport.fetchPage(this.deps.store.cursorOf(this.deps.config.gemeenten[0]!.municipality.code).get().volgnummer, 1);
      return { result: 'accepted', requestId: page.requestId };
    } catch (err) {
      if (refusedAsUnregistered(err)) return { result: 'unregistered', error: err as RodError };
      return { result: 'failed', error: err instanceof Error ? err : new Error(String(err)) };
    } finally {
      await transport.close().catch(() => undefined);
    }
  }

  private stored(): string | undefined {
    return this.deps.store.certificateRollover.get().inUseSha256;
  }

  private switchTo(reason: SwitchReason): void {
    const next = this.certificates.next;
    if (!next?.credentials) return;
    for (const transport of this.transports) transport.useCredentials(next.credentials);
    this.recordSwitch(reason);
  }

  /** Stored, audited and mailed in one transaction, logged after it. */
  private recordSwitch(reason: SwitchReason): void {
    const { store, config, log, now } = this.deps;
    const next = this.certificates.next!;
    const from = this.certificates.current.report;
    const to = next.report;
    const at = now();
    const fields = { reason, from: from.leaf?.sha256, to: to.leaf?.sha256, hierarchy: to.hierarchy, fromHierarchy: from.hierarchy, notAfter: to.notAfter };
    store.transaction(() => {
      store.certificateRollover.recordSwitch(to.leaf!.sha256, reason, at);
      store.audit.append({ event: 'cert.switched', outcome: 'ok', detail: fields });
      queueAlert(
        { store, config, now },
        certificateSwitchedAlert({
          reason,
          at: at.toISOString(),
          from: { subject: from.leaf?.subject, sha256: from.leaf?.sha256, notAfter: from.notAfter },
          to: { subject: to.leaf?.subject, sha256: to.leaf!.sha256, hierarchy: to.hierarchy, notAfter: to.notAfter },
        }),
      );
    });
    this.inUse = next;
    const why: Record<SwitchReason, string> = {
      'next-accepted': 'ROD accepted the certificate in tls.next',
      'current-refused': 'ROD refused the certificate in tls as not registered and accepted tls.next',
      'current-expired': 'the certificate in tls expired; tls.next is used rather than stopping (ROD refuses it until DUO registered it)',
    };
    log.info('cert.switched', fields, `${why[reason]}: all requests use tls.next from now on, also after a restart; move tls.next to tls when convenient`);
  }

  private notify(decision: RolloverDecision): void {
    if (decision.notice !== 'next-unusable') return;
    const next = this.certificates.next;
    if (!next) return;
    for (const p of next.report.problems) {
      this.deps.log.warn('cert.next-unusable', { code: p.code, message: p.message, advice: p.advice }, 'the certificate in tls.next cannot be used; the relay keeps using tls');
    }
  }
}
