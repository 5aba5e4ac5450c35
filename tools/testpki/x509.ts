/**
 * @peculiar/x509 wired to Node's own WebCrypto.
 *
 * Why this library and not node-forge: forge cannot sign with RSASSA-PSS, and every certificate in a
 * PKIoverheid G4 hierarchy is signed with RSASSA-PSS (SHA-512, MGF1 SHA-512, salt 64). Node's WebCrypto
 * can, and @peculiar/x509 builds the certificate around it, writing the PSS parameters into the
 * AlgorithmIdentifier.
 */
import '../../src/certs/reflect-metadata.js';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509, webcrypto };
