/**
 * What a TSP does with the CSR `verzuim-relay cert request` wrote: issue a leaf on its subject and
 * public key, signed by the test PKI's TSP CA in the PKI's style (PSS for G4). For tests and for
 * trying a renewal end to end before a real TSP is involved.
 */
import { readFileSync } from 'node:fs';
import { x509, webcrypto } from './x509.js';
import { styleProfiles } from './profiles.js';
import { pemOf } from './files.js';
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
  const tsp = intermediates[0]!;
  const tspKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decode(readFileSync(options.pki.tspKey, 'utf8'))[0]!,
    { name: profile.signature.keyAlgorithm.name, hash: profile.signature.keyAlgorithm.hash },
    false,
    ['sign'],
  );
  const publicKey = await csr.publicKey.export();
  const now = options.now ?? new Date();
  const cn = csr.subjectName.getField('CN')[0];
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^./, '4'),
    subject: csr.subjectName,
    issuer: tsp.subjectName,
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + (options.days ?? 365) * DAY),
    publicKey,
    signingKey: tspKey,
    signingAlgorithm: profile.signature.signingAlgorithm,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], false),
      ...(cn ? [new x509.SubjectAlternativeNameExtension([{ type: 'dns' as const, value: cn }], false)] : []),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(tsp),
    ],
  });
  return pemOf(leaf, ...intermediates);
}
