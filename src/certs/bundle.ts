/**
 * What goes to DUO to register the client certificate: the public certificate as .cer (DER), the
 * chain as .p7b (DUO accepts only .cer, .crt, .cert and .p7b), and the registration details as text
 * and as CSV. Never the private key. Pure: the command writes the zip.
 */
import type { X509Certificate } from 'node:crypto';
import type { CertificateReport } from './inspect.js';
import { certsOnlyPkcs7 } from './pkcs7.js';

export interface RegistrationDetails {
  gemeente: string;
  gemeentecode: string;
  oin: string;
  subject: string;
  serialNumber: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  sha256: string;
  hierarchy: string;
  /**
   * A regional bureau's certificate serves several gemeenten: the OIN the
   * relay names in wsa:From for this gemeente, which DUO must authorise the
   * certificate (with its own OIN, above) to act for. Absent for one gemeente.
   */
  gemeenteOin?: string;
}

export interface BundleEntry {
  name: string;
  data: Buffer;
}

export function registrationDetails(municipality: { code: string; name: string; oin?: string }, report: CertificateReport, options: { actsFor?: boolean } = {}): RegistrationDetails {
  const leaf = report.leaf;
  if (!leaf || report.oin === undefined) throw new Error('registration details need a usable certificate report');
  return {
    gemeente: municipality.name,
    gemeentecode: municipality.code,
    oin: report.oin,
    subject: leaf.subject,
    serialNumber: leaf.serialNumber,
    issuer: leaf.issuer,
    validFrom: leaf.validFrom,
    validTo: leaf.validTo,
    sha256: leaf.sha256,
    hierarchy: report.hierarchy,
    ...(options.actsFor && municipality.oin !== undefined ? { gemeenteOin: municipality.oin } : {}),
  };
}

/** Dutch labels: the form goes to DUO and stays with the municipality's records. */
const LABELS: [keyof RegistrationDetails, string, string][] = [
  ['gemeente', 'Gemeente', 'gemeente'],
  ['gemeentecode', 'Gemeentecode (CBS)', 'gemeentecode'],
  ['gemeenteOin', 'OIN van de gemeente (From)', 'oin_gemeente'],
  ['oin', 'OIN', 'oin'],
  ['subject', 'Onderwerp (subject)', 'onderwerp'],
  ['serialNumber', 'Serienummer certificaat', 'serienummer'],
  ['issuer', 'Uitgever (issuer)', 'uitgever'],
  ['validFrom', 'Geldig vanaf', 'geldig_vanaf'],
  ['validTo', 'Geldig tot', 'geldig_tot'],
  ['sha256', 'SHA-256 vingerafdruk', 'sha256'],
  ['hierarchy', 'PKIoverheid-hiërarchie', 'hierarchie'],
];

/** The labels a set of details uses: the gemeente's own OIN only for a certificate that serves several. */
const labelsFor = (details: readonly RegistrationDetails[]) => LABELS.filter(([key]) => key !== 'gemeenteOin' || details.some((d) => d.gemeenteOin !== undefined));

export function registrationText(d: RegistrationDetails): string {
  const labels = labelsFor([d]);
  const width = Math.max(...labels.map(([, label]) => label.length));
  return [
    'Aanmelding PKIoverheid-certificaat voor het ophalen van verzuimmeldingen (ROD)',
    '',
    ...labels.map(([key, label]) => `${`${label}:`.padEnd(width + 2)}${d[key] ?? ''}`),
    '',
    'Bijgevoegd: het publieke certificaat (.cer) en de certificaatketen (.p7b).',
    '',
  ].join('\r\n');
}

function csvField(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

/** RFC 4180: comma-separated, every field quoted (subjects contain commas), CRLF line ends. */
export function registrationCsv(d: RegistrationDetails | readonly RegistrationDetails[]): string {
  const rows = Array.isArray(d) ? d : [d as RegistrationDetails];
  const labels = labelsFor(rows);
  return `${labels.map(([, , column]) => column).join(',')}\r\n${rows.map((r) => `${labels.map(([key]) => csvField(r[key] ?? '')).join(',')}\r\n`).join('')}`;
}

/** yyyymmdd of `now` in the given time zone (the administrator's calendar day, not UTC's). */
export function calendarDate(now: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  return parts.replace(/-/g, '');
}

export function bundleBaseName(gemeentecode: string, yyyymmdd: string): string {
  return `verzuim-relay-${gemeentecode}-${yyyymmdd}`;
}

/**
 * One certificate, one chain; the registration per gemeente it serves: one
 * text for one gemeente as before, or a text per gemeente and one CSV with a
 * row per gemeente for a regional bureau.
 */
export function bundleEntries(base: string, details: RegistrationDetails | readonly RegistrationDetails[], leaf: X509Certificate, chain: X509Certificate[]): BundleEntry[] {
  const all = Array.isArray(details) ? details : [details as RegistrationDetails];
  const texts =
    all.length === 1
      ? [{ name: `${base}-registratie.txt`, data: Buffer.from(registrationText(all[0]!), 'utf8') }]
      : all.map((d) => ({ name: `${base}-registratie-${d.gemeentecode}.txt`, data: Buffer.from(registrationText(d), 'utf8') }));
  return [
    { name: `${base}-certificaat.cer`, data: Buffer.from(leaf.raw) },
    { name: `${base}-keten.p7b`, data: certsOnlyPkcs7(chain.map((c) => Buffer.from(c.raw))) },
    ...texts,
    { name: `${base}-registratie.csv`, data: Buffer.from(registrationCsv(all), 'utf8') },
  ];
}
