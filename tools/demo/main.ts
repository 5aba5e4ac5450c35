/**
 * `npm run demo [-- --dir DIR --style G4|G1]`: the whole relay on this
 * machine. The same demo runs as `verzuim-relay demo` from a checkout.
 */
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';

const usage = 'usage: npm run demo [-- --dir DIR] [--style G4|G1] [--protocol edukoppeling|rest]\n';

try {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, style: { type: 'string' }, protocol: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(usage);
  } else if (values.style !== undefined && values.style !== 'G4' && values.style !== 'G1') {
    process.stderr.write(`demo: --style must be G4 or G1, got "${values.style}"\n${usage}`);
    process.exitCode = 64;
  } else if (values.protocol !== undefined && values.protocol !== 'edukoppeling' && values.protocol !== 'rest') {
    process.stderr.write(`demo: --protocol must be edukoppeling or rest, got "${values.protocol}"\n${usage}`);
    process.exitCode = 64;
  } else {
    process.exitCode = await runDemo({ dir: values.dir, style: values.style, protocol: values.protocol });
  }
} catch (err) {
  process.stderr.write(`demo: ${(err as Error).message}\n${usage}`);
  process.exitCode = 64;
}
