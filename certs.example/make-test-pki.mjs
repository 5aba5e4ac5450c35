#!/usr/bin/env node
// Makes a PKIoverheid-style TRIAL test PKI: a root, two intermediate CAs, a client certificate for the
// municipality and a server certificate for a ROD stand-in. For trying the relay and the simulator;
// these certificates carry no trust anywhere. See README.md beside this file.
//
//   node certs.example/make-test-pki.mjs [--style G1|G4] [--out DIR] [--oin OIN]
//                                        [--municipality NAME] [--server-name NAME ...]
//
// Needs the compiled project (npm run build).
import { existsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const usage = `Usage: node certs.example/make-test-pki.mjs [options]

  --style G4|G1           G4 (default): RSASSA-PSS/SHA-512, RSA 3072 leaves, the hierarchy new
                          certificates come from; G1: the older PKCS#1 v1.5/SHA-256 hierarchy
  --out DIR               output folder (default: test-pki)
  --oin OIN               the municipality's OIN, 20 digits (default: 00000001002220647000)
  --municipality NAME     municipality name in the client certificate (default: Utrecht)
  --server-name NAME      DNS name for the server certificate; repeat for more (default: localhost)
  --passphrase TEXT       for the encrypted key and PKCS#12 files (default: test-passphrase)
  --no-variants           skip formats/ and broken/
  -h, --help              this text
`;

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      style: { type: 'string', default: 'G4' },
      out: { type: 'string', default: 'test-pki' },
      oin: { type: 'string' },
      municipality: { type: 'string' },
      'server-name': { type: 'string', multiple: true },
      passphrase: { type: 'string' },
      'no-variants': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  process.stderr.write(`${error.message}\n\n${usage}`);
  process.exit(64);
}
if (args.help) {
  process.stdout.write(usage);
  process.exit(0);
}

const style = args.style.toUpperCase();
if (style !== 'G4' && style !== 'G1') {
  process.stderr.write(`--style ${args.style}: expected G4 or G1.\n`);
  process.exit(64);
}

const generator = fileURLToPath(new URL('../build/tools/testpki/generate.js', import.meta.url));
if (!existsSync(generator)) {
  process.stderr.write(`${generator} does not exist: build the project first with npm run build.\n`);
  process.exit(69);
}
const { generateTestPki } = await import(pathToFileURL(generator).href);

const started = Date.now();
let files;
try {
  files = await generateTestPki({
    dir: args.out,
    style,
    clientOin: args.oin,
    municipalityName: args.municipality,
    serverNames: args['server-name'],
    passphrase: args.passphrase,
    variants: !args['no-variants'],
  });
} catch (error) {
  // The generator's own messages say what to change (in its option names, mapped back to the flags
  // here); no stack trace for a wrong option.
  const message = error.message
    .replace(/^clientOin\b/, '--oin')
    .replace(/^municipalityName\b/, '--municipality')
    .replace(/^serverNames\b/, '--server-name')
    .replace(/^passphrase\b/, '--passphrase');
  process.stderr.write(`${message}\n`);
  process.exit(64);
}

// Keys, even test keys, do not belong in a repository: keep git away from the whole folder.
const ignore = join(files.dir, '.gitignore');
if (!existsSync(ignore)) writeFileSync(ignore, '# written by make-test-pki.mjs: test keys, never commit\n*\n');

const show = (path) => relative(process.cwd(), path) || '.';
const lines = [
  `TRIAL ${files.style} test PKI written to ${show(files.dir)} in ${((Date.now() - started) / 1000).toFixed(1)} s:`,
  '',
  `  ${show(files.trustAnchors).padEnd(44)} the TRIAL root: tls.trustAnchors (and the simulator's CA)`,
  `  ${show(files.intermediates).padEnd(44)} domain CA and TSP CA`,
  `  ${show(files.clientCert).padEnd(44)} client certificate with its chain: tls.cert`,
  `  ${show(files.clientKey).padEnd(44)} its key, PKCS#8, unencrypted: tls.key`,
  `  ${show(files.clientPfx).padEnd(44)} the same as PKCS#12: tls.pfx, passphrase '${files.passphrase}'`,
  `  ${show(files.serverCert).padEnd(44)} server certificate for a ROD stand-in, with its chain`,
  `  ${show(files.serverKey).padEnd(44)} its key`,
];
const formats = Object.entries(files.formats);
if (formats.length > 0) {
  lines.push('', '  other formats of the client certificate and key:');
  for (const [name, path] of formats) lines.push(`    ${name.padEnd(22)} ${show(path)}`);
}
const broken = Object.entries(files.broken);
if (broken.length > 0) {
  lines.push('', '  broken client certificates, for trying the checks (cert + key in each folder):');
  for (const [name, paths] of broken) lines.push(`    ${name.padEnd(22)} ${show(paths.cert).replace(/client\.crt$/, '')}`);
}
lines.push(
  '',
  'The root is not a PKIoverheid root, so the relay only accepts it with tls.allowUnknownRoots: true.',
  'Never use these files for a real connection to DUO.',
);
process.stdout.write(`${lines.join('\n')}\n`);
