/**
 * `verzuim-relay cert check`, `cert bundle` and `cert request`. The CLI dispatcher loads the
 * configuration and calls these; they print and return the exit status.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { certificateOin, nextTls, type Config } from '../../config/schema.js';
import { onlyExpired } from '../../certs/rollover.js';
import { bundleBaseName, bundleEntries, calendarDate, registrationDetails } from '../../certs/bundle.js';
import { inspectWithMaterial, inspectClientCertificate } from '../../certs/inspect.js';
import { formatReport } from '../../certs/report-format.js';
import { ExitCode } from '../exit-codes.js';
import { createCsr, subjectProblems } from '../../certs/csr.js';
import { UsageError } from './args.js';

type Out = (s: string) => void;
const stdout: Out = (s) => process.stdout.write(s);

/**
 * 0 when the certificate setup is usable, 2 when not. With tls.next both are reported, and the setup
 * is usable when tls.next is and the relay has a usable certificate to work with (tls, or tls.next
 * once tls expired).
 */
export async function certCheckCommand(config: Config, opts: { json: boolean; now?: Date; out?: Out }): Promise<number> {
  const out = opts.out ?? stdout;
  const now = opts.now ?? new Date();
  const expectedOin = certificateOin(config);
  const report = inspectClientCertificate(config.tls, expectedOin, now);
  const actsFor = actingFor(config, report.oin);
  const nextConfig = nextTls(config.tls);
  if (!nextConfig) {
    if (opts.json) out(`${JSON.stringify(actsFor ? { ...report, actsFor } : report, null, 2)}\n`);
    else out(formatReport(report) + (actsFor ? actingForText(actsFor) : ''));
    return report.usable ? ExitCode.OK : ExitCode.CERT_UNUSABLE;
  }
  const next = inspectClientCertificate(nextConfig, expectedOin, now);
  const move = {
    chainsToAnchors: next.chain.length > 0 && !next.problems.some((p) => p.code.startsWith('CHAIN_') || p.code === 'ROOT_UNKNOWN'),
    sameOin: next.oin !== undefined && next.oin === report.oin,
  };
  const usable = next.usable && (report.usable || onlyExpired(report.problems.map((p) => p.code)));
  if (opts.json) {
    out(`${JSON.stringify({ ...report, ...(actsFor ? { actsFor } : {}), next: { ...next, ...move } }, null, 2)}\n`);
  } else {
    const root = next.chain.at(-1);
    out(
      [
        'Current certificate (tls)',
        formatReport(report),
        'Next certificate (tls.next)',
        formatReport(next),
        `Chains to tls.trustAnchors: ${move.chainsToAnchors ? `yes${root ? ` (${root.subject})` : ''}` : 'NO (see the problems above)'}`,
        `Same OIN as tls:            ${move.sameOin ? `yes (${next.oin})` : `NO (tls ${report.oin ?? 'none'}, tls.next ${next.oin ?? 'none'})`}`,
        next.usable
          ? 'Next: send it to DUO (`verzuim-relay cert bundle --next --out DIR`); the relay switches to it by itself once ROD accepts it.'
          : 'tls.next cannot be used yet: fix the problems above; the relay keeps using tls meanwhile.',
        '',
      ].join('\n') + (actsFor ? actingForText(actsFor) : ''),
    );
  }
  return usable ? ExitCode.OK : ExitCode.CERT_UNUSABLE;
}

interface ActingFor {
  /** The OIN in the certificate. */
  certificateOin: string;
  /** True when that OIN is none of the gemeenten's: a regional bureau's (or a supplier's). */
  bureau: boolean;
  gemeenten: { gemeentecode: string; name: string; oin: string }[];
}

/**
 * With a gemeenten list the certificate's OIN need not be a gemeente's: ROD
 * is asked for each gemeente with its OIN in From, and DUO authorises the
 * certificate to act for it. Said rather than refused.
 */
function actingFor(config: Config, oin: string | undefined): ActingFor | undefined {
  if (!config.listed || oin === undefined) return undefined;
  return {
    certificateOin: oin,
    bureau: !config.gemeenten.some((g) => g.municipality.oin === oin),
    gemeenten: config.gemeenten.map((g) => ({ gemeentecode: g.municipality.code, name: g.municipality.name, oin: g.municipality.oin })),
  };
}

function actingForText(a: ActingFor): string {
  return [
    '',
    a.bureau
      ? `The certificate carries OIN ${a.certificateOin}, which is none of the gemeenten's: the bureau's (or a supplier's). That is allowed: DUO must authorise it to act for each gemeente below.`
      : `The certificate carries OIN ${a.certificateOin}, one of the gemeenten's; DUO must authorise it to act for the others below.`,
    ...a.gemeenten.map((g) => `  ${g.gemeentecode} ${g.name}: From OIN ${g.oin}${g.oin === a.certificateOin ? ' (the certificate\'s own)' : ''}`),
    '',
  ].join('\n');
}

/**
 * Writes <outDir>/verzuim-relay-<gemeentecode>-<yyyymmdd>.zip for DUO. Refuses (2) when the
 * certificate setup is not usable: registering a certificate that cannot connect only costs a round
 * trip with DUO.
 */
export async function certBundleCommand(config: Config, opts: { outDir: string; next?: boolean; now?: Date; out?: Out }): Promise<number> {
  const out = opts.out ?? stdout;
  const now = opts.now ?? new Date();
  const tls = opts.next ? nextTls(config.tls) : config.tls;
  if (!tls) {
    out('No bundle written: --next needs tls.next in the configuration (the renewed certificate and its key).\n');
    return ExitCode.CERT_UNUSABLE;
  }
  const { report, leaf, chain } = inspectWithMaterial(tls, certificateOin(config), now);
  if (!report.usable || !leaf) {
    out(formatReport(report));
    out('\nNo bundle written: fix the problems above first (`verzuim-relay cert check`).\n');
    return ExitCode.CERT_UNUSABLE;
  }

  // Every gemeente the certificate serves, each with the OIN it is asked for in From.
  const several = config.gemeenten.length > 1;
  const base = bundleBaseName(several ? 'gemeenten' : config.gemeenten[0]!.municipality.code, calendarDate(now, config.schedule.timezone));
  const all = config.gemeenten.map((g) => registrationDetails(g.municipality, report, { actsFor: config.listed }));
  const details = all[0]!;
  const outDir = path.resolve(opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const zipPath = path.join(outDir, `${base}.zip`);
  const partial = `${zipPath}.partial`;

  const zip = new yazl.ZipFile();
  for (const entry of bundleEntries(base, several ? all : details, leaf, chain)) zip.addBuffer(entry.data, entry.name, { mtime: now });
  zip.end();
  try {
    // Written beside the target and renamed, so a half-written zip never looks finished.
    await pipeline(zip.outputStream, createWriteStream(partial));
    renameSync(partial, zipPath);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }

  out(
    [
      `Wrote ${zipPath}`,
      `  certificate: ${details.subject}`,
      `  OIN ${details.oin}, valid until ${details.validTo.slice(0, 10)}, SHA-256 ${details.sha256}`,
      ...(config.listed ? [`  for ${all.map((d) => `${d.gemeentecode} ${d.gemeente} (From OIN ${d.gemeenteOin})`).join(', ')}`] : []),
      '',
      'Next: mail this zip to DUO\'s verzuim address to register the certificate for ROD.',
      opts.next
        ? 'Then wait: the relay asks ROD with tls.next daily and switches to it by itself once DUO registered it (cert.switched in the log, and a mail to the alert address).'
        : `Do this again with the new certificate before this one expires (${details.validTo.slice(0, 10)}): ROD refuses a certificate DUO has not registered.`,
      '',
    ].join('\n'),
  );
  return ExitCode.OK;
}

/**
 * `cert request`: a new key and CSR for the renewal, written only after the CSR was read back and
 * checked. An existing key is never overwritten: it may belong to a certificate still on its way.
 */
export async function certRequestCommand(
  config: Config,
  opts: { outDir: string; commonName: string; kvk: string; organisation?: string; oin?: string; bits: 3072 | 4096; passphraseEnv?: string; out?: Out },
): Promise<number> {
  const out = opts.out ?? stdout;
  let passphrase: string | undefined;
  if (opts.passphraseEnv !== undefined) {
    passphrase = process.env[opts.passphraseEnv];
    if (!passphrase) throw new UsageError(`--passphrase-env ${opts.passphraseEnv}: that environment variable is not set or empty`);
  }
  // A gemeente's own certificate carries its OIN and name. A bureau's (a gemeenten list) carries the
  // bureau's OIN, which the configuration does not name: the one of the certificate in use (a renewal
  // keeps it), or --oin; and its organisation name must be given.
  const single = config.listed ? undefined : config.gemeenten[0]!.municipality;
  const oin = opts.oin ?? single?.oin ?? inspectClientCertificate(config.tls, null).oin;
  if (oin === undefined) throw new UsageError('--oin OIN is required: the certificate in tls carries no OIN to keep (a gemeenten list names no OIN of its own)');
  const organisation = opts.organisation ?? (single ? `Gemeente ${single.name}` : undefined);
  if (organisation === undefined) throw new UsageError('--organisation NAME is required with a gemeenten list: the name of the organisation the certificate is for (the bureau)');
  const subject = { organisation, commonName: opts.commonName, kvk: opts.kvk, oin };
  const problems = subjectProblems(subject);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  const outDir = path.resolve(opts.outDir);
  const keyFile = path.join(outDir, 'client.key');
  const csrFile = path.join(outDir, 'client.csr');
  for (const file of [keyFile, csrFile]) {
    if (existsSync(file)) throw new UsageError(`${file} exists: choose another --out (a key there may belong to a certificate the TSP is still issuing)`);
  }
  const csr = await createCsr({ ...subject, bits: opts.bits, ...(passphrase ? { passphrase } : {}) });
  mkdirSync(outDir, { recursive: true });
  // 'wx': never over a file that appeared meanwhile; 0600: only the relay's user reads the key.
  writeFileSync(keyFile, csr.keyPem, { mode: 0o600, flag: 'wx' });
  writeFileSync(csrFile, csr.csrPem, { mode: 0o644, flag: 'wx' });
  const dir = (f: string) => path.join(opts.outDir, f);
  out(
    [
      `Wrote ${keyFile}`,
      `  the new private key: RSA ${opts.bits}, mode 0600, ${passphrase ? `encrypted with the passphrase in $${opts.passphraseEnv}` : 'not encrypted'}. It never leaves this machine: do not send it to anyone.`,
      `Wrote ${csrFile}`,
      `  the certificate request (PKCS#10), checked: it parses, its signature verifies, the subject is as asked:`,
      `  C=NL, O=${subject.organisation}, organizationIdentifier=NTRNL-${subject.kvk}, serialNumber=${subject.oin} (OIN), CN=${subject.commonName}`,
      '',
      'What comes next:',
      `  1. Send ${dir('client.csr')} to your TSP (DigiCert, Digidentity or KPN) and order a PKIoverheid`,
      `     G4 Private G-TLS certificate (server and client authentication, organisation validated) for OIN ${subject.oin}.`,
      `  2. When it arrives, save it with the TSP's CA certificates as ${dir('client.crt')} and configure it`,
      '     beside the current one, without removing tls.cert and tls.key:',
      '       tls:',
      '         next:',
      `           cert: ${dir('client.crt')}`,
      `           key: ${dir('client.key')}`,
      ...(passphrase ? [`           keyPassphrase: \${${opts.passphraseEnv}}`] : []),
      '     and add the G4 root (Staat der Nederlanden - G4 Root Priv G-TLS - 2024, from cert.pkioverheid.nl)',
      '     to tls.trustAnchors if it is not there yet.',
      '  3. Check both certificates: verzuim-relay cert check',
      "  4. Register it with DUO: verzuim-relay cert bundle --next --out DIR, and mail the zip to DUO's verzuim address.",
      '  5. Wait. The relay asks ROD with the new certificate at start and daily and switches by itself once DUO',
      '     registered it (no restart); cert.switched in the log and a mail to the alert address say so.',
      '     Afterwards, when convenient, move the tls.next lines to tls.',
      '',
    ].join('\n'),
  );
  return ExitCode.OK;
}
