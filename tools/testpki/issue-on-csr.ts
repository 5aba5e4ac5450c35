/**
 * What a TSP does with the CSR `verzuim-relay cert request` wrote: issue a leaf on its subject and
 * public key, signed by the test PKI's TSP CA in the PKI's style (PSS for G4). For tests and the
 * demo, to try a renewal end to end before a real TSP is involved.
 */
import { readFileSync } from 'node:fs';
import { x509, webcrypto } from './x509.js';
import { styleProfiles } from './profiles.js';
import { pemOf } from './files.js';
import { issueLeafNamed } from './issue.js';
import type { TestPkiFiles } from './generate.js';

const DAY = 86_400_000;

export interface IssueOnCsrOptions {
  pki: TestPkiFiles;
  csrPem: string;
  /** Default now; the leaf is valid from a day before for `days` (default 365). */
  now?: Date;
  days?: number;
}

/** The leaf followed by the TSP and domain CA certificates, PEM: what a TSP delivers. */
export async function issueOnCsr(options: IssueOnCsrOptions): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(options.csrPem);
  if (!(await csr.verify())) throw new Error('the CSR signature does not verify: a TSP refuses it');
  const profile = styleProfiles[options.pki.style];
  const intermediates = x509.PemConverter.decode(readFileSync(options.pki.intermediates, 'utf8')).map((der) => new x509.X509Certificate(der));
  const tspCert = intermediates[0]!;
  const { name, hash } = profile.signature.keyAlgorithm;
  const tsp = {
    cert: tspCert,
    keys: {
      privateKey: await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decode(readFileSync(options.pki.tspKey, 'utf8'))[0]!, { name, hash }, false, ['sign']),
      publicKey: await tspCert.publicKey.export(),
    },
  };
  const now = options.now ?? new Date();
  const cn = csr.subjectName.getField('CN')[0];
  const leaf = await issueLeafNamed(profile, tsp, await csr.publicKey.export(), {
    name: csr.subjectName,
    dnsNames: cn ? [cn] : [],
    validity: { notBefore: new Date(now.getTime() - DAY), notAfter: new Date(now.getTime() + (options.days ?? 365) * DAY) },
  });
  return pemOf(leaf, ...intermediates);
}
