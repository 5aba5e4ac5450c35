/**
 * Putting the relay together from its configuration: the certificate judged
 * before anything connects, the store opened, the ROD client and the SMTP
 * sender built. Shared by `run`, `once` and the demo.
 */
import { type Config, type Gemeente } from '../config/schema.js';
import { verifyServerChain } from '../certs/credentials.js';
import { CertificateRolloverControl, inspectCertificates, startingCertificate } from './certificate-rollover.js';
import type { ClientCredentials } from '../certs/credentials.js';
import type { Logger } from '../observability/log.js';
import { createSmtpSender, type MailSender } from '../mail/smtp.js';
import { edukoppelingSettings } from '../config/schema.js';
import { readCertificates } from '../certs/read.js';
import { EdukoppelingTransport } from '../feed/edukoppeling/client.js';
import type { RodTls } from '../feed/http.js';
import { RestTransport } from '../feed/rest/client.js';
import type { RodTransport } from '../feed/transport.js';
import { Store, auditHeadFile } from '../store/store.js';
import { ANCHORED_EVENT, BROKEN_EVENT } from '../audit/audit-log.js';
import { KEY_PERMISSIONS } from '../certs/checks.js';
import { auditBrokenAlert, queueAlert } from '../mail/alert.js';
import path from 'node:path';
import { LEASE_STALE_AFTER_SECONDS, WriterLease } from '../store/lease.js';

export interface Relay {
  config: Config;
  store: Store;
  /** The first gemeente's ROD transport (the only one of a single-gemeente relay), with the rollover's retry. */
  rod: RodTransport;
  /** Each gemeente's ROD transport: its gemeentecode in the path, its OIN in From and verzendendeInstantie; all wrapped by the rollover. */
  rodFor(gemeente: Gemeente): RodTransport;
  /** The first gemeente's transport as rod.protocol names it, before the rollover's wrapping. */
  transport: RodTransport;
  sender: MailSender;
  /** The certificate presented at start (rollover.credentials: the one presented now). */
  credentials: ClientCredentials;
  /** tls.next: the probe, the switch; give it to createCertificateWatch. */
  rollover: CertificateRolloverControl;
  /** The single-writer lease, held until close(). */
  lease: WriterLease;
  close(): Promise<void>;
}

export interface OpenRelayOptions {
  now?: () => Date;
  signal?: AbortSignal;
  /** Named in the lease, for the message a second relay sees (default "once"). */
  command?: string;
  /** Another relay took the lease over (this one stalled past its heartbeat): stop writing. */
  onLeaseLost?: () => void;
}

/**
 * Throws CertificateError (exit 2) when the certificate is unusable, and
 * LeaseHeldError (exit 75) when another relay writes the database.
 */
export function openRelay(config: Config, log: Logger, options: OpenRelayOptions = {}): Relay {
  const now = options.now ?? (() => new Date());
  // tls and tls.next; which one is used depends on a switch stored in the database. Without tls.next
  // an unusable certificate is refused before the database is touched, as always.
  const certificates = inspectCertificates(config, now());
  if (!certificates.next) startingCertificate(certificates, undefined);

  const store = Store.open(config.storage.path, config.gemeenten[0]!.municipality.code, now, {
    onAuditHeadError: (err) => log.error('audit.head-failed', { error: err.message }, `the audit log's head file could not be written; check the storage volume`),
  });
  let start: ReturnType<typeof startingCertificate>;
  try {
    start = startingCertificate(certificates, store.certificateRollover.get().inUseSha256);
  } catch (err) {
    store.db.close();
    throw err;
  }
  const credentials = start.certificate.credentials!;
  const { report } = credentials;
  for (const warning of report.warnings) {
    if (warning.code === KEY_PERMISSIONS) log.warn('cert.key-permissions', { file: warning.file, advice: warning.advice }, warning.message);
    else log.warn('cert.warning', { code: warning.code, message: warning.message, advice: warning.advice });
  }
  log.info('cert.loaded', { hierarchy: report.hierarchy, rootKnown: report.rootKnown, oin: report.oin, daysLeft: report.daysLeft, notAfter: report.notAfter, inUse: start.certificate.key, next: certificates.next !== undefined });
  // Before anything is written (the audit check, resumeInterrupted below would
  // requeue the mail another relay is sending): one writer at a time. A
  // failure further on ends the process, whose dead pid frees the lease.
  let lease: WriterLease;
  try {
    lease = WriterLease.acquire(store.db, config.storage.path, { command: options.command ?? 'once', now });
  } catch (err) {
    store.db.close();
    throw err;
  }
  const heartbeat = setInterval(() => {
    if (lease.heartbeat()) return;
    clearInterval(heartbeat);
    log.error('lease.lost', {}, 'another verzuim-relay took over the database; this one stops');
    options.onLeaseLost?.();
  }, (LEASE_STALE_AFTER_SECONDS * 1000) / 4);
  heartbeat.unref();
  checkAuditChain(store, config, log, now);
  const interrupted = store.outbox.resumeInterrupted();
  if (interrupted > 0) log.warn('outbox.resumed', { mails: interrupted }, 'mails interrupted by a stop are sent again (same Message-ID)');

  // During a move from G1 to G4, DUO's signing certificate may come from the hierarchy of either.
  const bothChains = [certificates.current, certificates.next].flatMap((c) => (c?.credentials ? [c.credentials.certPem] : [])).join('');
  const tls = (c: ClientCredentials): RodTls => ({
    certPem: c.certPem,
    keyPem: c.keyPem,
    anchorsPem: c.anchorsPem,
    intermediatesPem: bothChains,
    checkServerChain: (chain) => verifyServerChain(chain, c.anchors, config.tls.allowUnknownRoots, now()).map((p) => `${p.message} ${p.advice}`.trim()),
  });
  // The probe asks as the first gemeente: one certificate serves them all, so
  // DUO's answer about its registration is the same for each.
  const first = config.gemeenten[0]!;
  const rollover = new CertificateRolloverControl(
    { config, store, log, now, transportFor: (c) => createTransport(config, first, tls(c), log, now, options.signal) },
    certificates,
    start,
  );
  rollover.started();
  // One transport per gemeente, all with the one certificate; the rollover
  // swaps the credentials of every one of them at a switch.
  const transports = new Map<string, RodTransport>(config.gemeenten.map((g) => [g.municipality.code, createTransport(config, g, tls(credentials), log, now, options.signal)]));
  const rods = new Map<string, RodTransport>([...transports].map(([code, transport]) => [code, rollover.attach(transport)]));
  const rodFor = (gemeente: Gemeente): RodTransport => {
    const rod = rods.get(gemeente.municipality.code);
    if (!rod) throw new Error(`gemeente ${gemeente.municipality.code} is not configured`);
    return rod;
  };
  const sender = createSmtpSender(config.smtp);
  return {
    config,
    store,
    rod: rodFor(first),
    rodFor,
    transport: transports.get(first.municipality.code)!,
    sender,
    credentials,
    rollover,
    lease,
    async close() {
      sender.close();
      for (const rod of rods.values()) await rod.close();
      clearInterval(heartbeat);
      lease.release();
      store.close();
    },
  };
}

/**
 * The end of the audit chain against its head file, at every start: a log
 * cut short or rewritten is logged, recorded in the log itself and mailed to
 * the administrator. The relay goes on: stopping the forwarding of meldingen
 * would harm pupils more than it protects the record. `audit verify` walks
 * the whole chain.
 */
function checkAuditChain(store: Store, config: Config, log: Logger, now: () => Date): void {
  const anchored = store.audit.readHead() !== 'missing';
  const result = store.audit.verify({ tail: true });
  if (result.brokenAt === null && !result.truncated) {
    if (!anchored) store.audit.append({ event: ANCHORED_EVENT, outcome: 'info', detail: { headFile: path.basename(auditHeadFile(config.storage.path)) } });
    return;
  }
  const detail = { brokenAt: result.brokenAt, truncated: result.truncated === true, reason: result.reason };
  store.transaction(() => {
    store.audit.append({ event: BROKEN_EVENT, outcome: 'failed', detail });
    queueAlert({ store, config, now }, auditBrokenAlert(result, now()));
  });
  log.error('audit.broken', detail, 'the audit log was altered or cut short; recorded and mailed to the alert address; forwarding goes on');
}

/** The transport `rod.protocol` names. Throws CertificateError (exit 2) when a pinned signer file is unusable. */
function createTransport(config: Config, gemeente: Gemeente, tls: RodTls, log: Logger, now: () => Date, signal: AbortSignal | undefined): RodTransport {
  const common = { baseUrl: config.rod.url, gemeentecode: gemeente.municipality.code, timeoutSeconds: config.rod.timeoutSeconds, maxResponseBytes: config.rod.maxResponseBytes, log, signal, tls };
  if (config.rod.protocol === 'rest') return new RestTransport(common);
  const edukoppeling = edukoppelingSettings(config.rod);
  const pinnedSigners = (edukoppeling.signerCertificates ?? []).flatMap(
    (file) => readCertificates(file, { setting: 'rod.edukoppeling.signerCertificates' }).certs,
  );
  return new EdukoppelingTransport({ ...common, municipalityOin: gemeente.municipality.oin, edukoppeling, pinnedSigners, now });
}
