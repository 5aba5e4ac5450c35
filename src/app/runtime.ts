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

  const rod = new RestTransport({
    baseUrl: config.rod.url,
    gemeentecode: config.municipality.code,
    timeoutSeconds: config.rod.timeoutSeconds,
    log,
    signal: options.signal,
    tls: {
      certPem: credentials.certPem,
      keyPem: credentials.keyPem,
      anchorsPem: credentials.anchorsPem,
      checkServerChain: (chain) =>
        verifyServerChain(chain, credentials.anchors, config.tls.allowUnknownRoots, now()).map((p) => `${p.message} ${p.advice}`.trim()),
    },
  });
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
