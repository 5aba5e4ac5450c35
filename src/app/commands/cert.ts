/**
 * `verzuim-relay cert check` and `verzuim-relay cert bundle`. The CLI dispatcher loads the
 * configuration and calls these; they print and return the exit status.
 */
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { certificateOin, type Config } from '../../config/schema.js';
import { bundleBaseName, bundleEntries, calendarDate, registrationDetails } from '../../certs/bundle.js';
import { inspectWithMaterial, inspectClientCertificate } from '../../certs/inspect.js';
import { formatReport } from '../../certs/report-format.js';
import { ExitCode } from '../exit-codes.js';

type Out = (s: string) => void;
const stdout: Out = (s) => process.stdout.write(s);

/** 0 when the certificate setup is usable, 2 when not. */
export async function certCheckCommand(config: Config, opts: { json: boolean; now?: Date; out?: Out }): Promise<number> {
  const out = opts.out ?? stdout;
  const report = inspectClientCertificate(config.tls, certificateOin(config), opts.now ?? new Date());
  const actsFor = actingFor(config, report.oin);
  if (opts.json) out(`${JSON.stringify(actsFor ? { ...report, actsFor } : report, null, 2)}\n`);
  else out(formatReport(report) + (actsFor ? actingForText(actsFor) : ''));
  return report.usable ? ExitCode.OK : ExitCode.CERT_UNUSABLE;
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
export async function certBundleCommand(config: Config, opts: { outDir: string; now?: Date; out?: Out }): Promise<number> {
  const out = opts.out ?? stdout;
  const now = opts.now ?? new Date();
  const { report, leaf, chain } = inspectWithMaterial(config.tls, certificateOin(config), now);
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
      `Do this again with the new certificate before this one expires (${details.validTo.slice(0, 10)}): ROD refuses a certificate DUO has not registered.`,
      '',
    ].join('\n'),
  );
  return ExitCode.OK;
}
