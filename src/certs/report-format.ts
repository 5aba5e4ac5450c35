/**
 * The certificate report as `verzuim-relay cert check` prints it: verdict first, then each
 * certificate in the chain, then problems and warnings, each with what to do.
 */
import type { CertificateReport, CertSummary } from './inspect.js';
import { describeProblem } from './problems.js';

const HIERARCHY_TEXT: Record<CertificateReport['hierarchy'], string> = {
  G1: 'PKIoverheid G1 (Private Services; root expires 13 November 2028)',
  G4: 'PKIoverheid G4 (Private G-TLS)',
  TRIAL: 'TRIAL (test hierarchy, no trust)',
  unknown: 'unknown (not a PKIoverheid hierarchy)',
};

function certLines(c: CertSummary, index: number): string[] {
  return [
    `  [${index + 1}] ${c.role}: ${c.subject}`,
    `      issuer:     ${c.issuer}`,
    `      serial:     ${c.serialNumber}`,
    `      valid:      ${c.validFrom} to ${c.validTo}`,
    `      signature:  ${c.signatureAlgorithm}`,
    `      public key: ${c.publicKey}`,
    `      SHA-256:    ${c.sha256}`,
  ];
}

export function formatReport(report: CertificateReport): string {
  const lines: string[] = [];
  lines.push(report.usable ? 'Certificate: USABLE' : 'Certificate: NOT USABLE');
  const f = report.files;
  if (f.pfx) lines.push(`  PKCS#12:       ${f.pfx}`);
  if (f.cert) lines.push(`  certificate:   ${f.cert}`);
  if (f.key) lines.push(`  private key:   ${f.key}`);
  lines.push(`  trust anchors: ${f.trustAnchors}`);
  lines.push('');
  if (report.chain.length > 0) {
    lines.push('Chain (leaf first):');
    report.chain.forEach((c, i) => lines.push(...certLines(c, i)));
    lines.push('');
  }
  lines.push(`Hierarchy: ${HIERARCHY_TEXT[report.hierarchy]}${report.rootKnown ? ', root matches the published thumbprint' : ''}`);
  if (report.oin !== undefined) lines.push(`OIN:       ${report.oin}`);
  if (report.daysLeft !== undefined && report.notAfter !== undefined) {
    const left = report.daysLeft < 0 ? `expired ${-report.daysLeft} days ago` : `${report.daysLeft} days left`;
    lines.push(`Expires:   ${report.notAfter.slice(0, 10)} (${left})`);
  }
  if (report.signsEdukoppeling !== undefined) {
    lines.push(`Signing:   ${report.signsEdukoppeling ? 'the key signs Edukoppeling requests (RSA-SHA256, PKCS#1 v1.5)' : 'the key CANNOT sign Edukoppeling requests (see the warnings)'}`);
  }
  if (report.problems.length > 0) {
    lines.push('', `Problems (${report.problems.length}):`);
    for (const p of report.problems) lines.push(`  - [${p.code}] ${describeProblem(p)}`);
  }
  if (report.warnings.length > 0) {
    lines.push('', `Warnings (${report.warnings.length}):`);
    for (const w of report.warnings) lines.push(`  - [${w.code}] ${describeProblem(w)}`);
  }
  return `${lines.join('\n')}\n`;
}
