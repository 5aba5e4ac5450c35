/**
 * Putting the relay together from its configuration: the certificate judged
 * before anything connects, the store opened, the ROD client and the SMTP
 * sender built. Shared by `run`, `once` and the demo.
 */
import type { Config } from '../config/schema.js';
import { loadClientCredentials, verifyServerChain } from '../certs/credentials.js';
import type { ClientCredentials } from '../certs/credentials.js';
import type { Logger } from '../observability/log.js';
import { createSmtpSender, type MailSender } from '../mail/smtp.js';
import { edukoppelingSettings } from '../config/schema.js';
import { readCertificates } from '../certs/read.js';
import { EdukoppelingTransport } from '../feed/edukoppeling/client.js';
import type { RodTls } from '../feed/http.js';
import { RestTransport } from '../feed/rest/client.js';
import type { RodTransport } from '../feed/transport.js';
import { Store } from '../store/store.js';

export interface Relay {
  config: Config;
  store: Store;
  rod: RodTransport;
  sender: MailSender;
  credentials: ClientCredentials;
  close(): Promise<void>;
}

/** Throws CertificateError (exit 2) when the certificate is unusable. */
export function openRelay(config: Config, log: Logger, options: { now?: () => Date; signal?: AbortSignal } = {}): Relay {
  const now = options.now ?? (() => new Date());
  const credentials = loadClientCredentials(config.tls, config.municipality.oin, now());
  const { report } = credentials;
  for (const warning of report.warnings) log.warn('cert.warning', { code: warning.code, message: warning.message, advice: warning.advice });
  log.info('cert.loaded', { hierarchy: report.hierarchy, rootKnown: report.rootKnown, oin: report.oin, daysLeft: report.daysLeft, notAfter: report.notAfter });

  const store = Store.open(config.storage.path, config.municipality.code, now);
  const interrupted = store.outbox.resumeInterrupted();
  if (interrupted > 0) log.warn('outbox.resumed', { mails: interrupted }, 'mails interrupted by a stop are sent again (same Message-ID)');

  const tls: RodTls = {
    certPem: credentials.certPem,
    keyPem: credentials.keyPem,
    anchorsPem: credentials.anchorsPem,
    checkServerChain: (chain) =>
      verifyServerChain(chain, credentials.anchors, config.tls.allowUnknownRoots, now()).map((p) => `${p.message} ${p.advice}`.trim()),
  };
  const rod = createTransport(config, tls, log, now, options.signal);
  const sender = createSmtpSender(config.smtp);
  return {
    config,
    store,
    rod,
    sender,
    credentials,
    async close() {
      sender.close();
      await rod.close();
      store.close();
    },
  };
}

/** The transport `rod.protocol` names. Throws CertificateError (exit 2) when a pinned signer file is unusable. */
function createTransport(config: Config, tls: RodTls, log: Logger, now: () => Date, signal: AbortSignal | undefined): RodTransport {
  const common = { baseUrl: config.rod.url, gemeentecode: config.municipality.code, timeoutSeconds: config.rod.timeoutSeconds, maxResponseBytes: config.rod.maxResponseBytes, log, signal, tls };
  if (config.rod.protocol === 'rest') return new RestTransport(common);
  const edukoppeling = edukoppelingSettings(config.rod);
  const pinnedSigners = (edukoppeling.signerCertificates ?? []).flatMap(
    (file) => readCertificates(file, { setting: 'rod.edukoppeling.signerCertificates' }).certs,
  );
  return new EdukoppelingTransport({ ...common, municipalityOin: config.municipality.oin, edukoppeling, pinnedSigners, now });
}
