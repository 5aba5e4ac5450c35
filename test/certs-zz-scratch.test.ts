import { it, inject } from 'vitest';
import { certBundleCommand, certCheckCommand } from '../src/certs/commands.js';
import { configFor } from './certs-support.js';
it('scratch', async () => {
  const pki = inject('pkiG1');
  const tls = { cert: pki.clientCert, key: pki.clientKey, trustAnchors: pki.trustAnchors, allowUnknownRoots: true, expiryWarningDays: 60 };
  await certCheckCommand(configFor(tls, '/tmp'), { json: false });
  await certBundleCommand(configFor(tls, '/tmp'), { outDir: '/tmp/scratch-bundle' });
  const b = pki.broken.missingIntermediate!;
  await certCheckCommand(configFor({ ...tls, cert: b.cert, key: pki.formats.keyPkcs8EncryptedPem, keyPassphrase: 'x' }, '/tmp'), { json: false });
});
