/**
 * `verzuim-relay cert check` and `verzuim-relay cert bundle`. The CLI dispatcher loads the
 * configuration and calls these; they print and return the exit status.
 */
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import type { Config } from '../../config/schema.js';
import { bundleBaseName, bundleEntries, calendarDate, registrationDetails } from '../../certs/bundle.js';
import { inspectWithMaterial, inspectClientCertificate } from '../../certs/inspect.js';
import { formatReport } from '../../certs/report-format.js';
import { ExitCode } from '../exit-codes.js';

type Out = (s: string) => void;
const stdout: Out = (s) => process.stdout.write(s);

/** 0 when the certificate setup is usable, 2 when not. */
export async function certCheckCommand(config: Config, opts: { json: boolean; now?: Date; out?: Out }): Promise<number> {
  const out = opts.out ?? stdout;
  const report = inspectClientCertificate(config.tls, config.municipality.oin, opts.now ?? new Date());
  out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.usable ? ExitCode.OK : ExitCode.CERT_UNUSABLE;
}

/**
 * Writes <outDir>/verzuim-relay-<gemeentecode>-<yyyymmdd>.zip for DUO. Refuses (2) when the
 * certificate setup is not usable: registering a certificate that cannot connect only costs a round
 * trip with DUO.
 */
export async function certBundleCommand(config: Config, opts: { outDir: string; now?: Date; out?: Out }): Promise<number> {
  const out = opts.out ?? stdout;
  const now = opts.now ?? new Date();
  const { report, leaf, chain } = inspectWithMaterial(config.tls, config.municipality.oin, now);
  if (!report.usable || !leaf) {
    out(formatReport(report));
    out('\nNo bundle written: fix the problems above first (`verzuim-relay cert check`).\n');
    return ExitCode.CERT_UNUSABLE;
  }

  const base = bundleBaseName(config.municipality.code, calendarDate(now, config.schedule.timezone));
  const details = registrationDetails(config.municipality, report);
  const outDir = path.resolve(opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const zipPath = path.join(outDir, `${base}.zip`);
  const partial = `${zipPath}.partial`;

  const zip = new yazl.ZipFile();
  for (const entry of bundleEntries(base, details, leaf, chain)) zip.addBuffer(entry.data, entry.name, { mtime: now });
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
      '',
      'Next: mail this zip to DUO\'s verzuim address to register the certificate for ROD.',
      `Do this again with the new certificate before this one expires (${details.validTo.slice(0, 10)}): ROD refuses a certificate DUO has not registered.`,
      '',
    ].join('\n'),
  );
  return ExitCode.OK;
}
