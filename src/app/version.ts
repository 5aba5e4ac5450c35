/**
 * The version of the running relay: the package.json beside dist/ (the image
 * and an npm install both ship it), read at run time so that `--version` and
 * the `relay.started` log line can never disagree with the package that runs,
 * and a release cannot forget to update a constant. From dist/app/ and from
 * src/app/ alike, package.json is two folders up.
 */
import { readFileSync } from 'node:fs';

export function relayVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
