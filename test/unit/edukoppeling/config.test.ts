/**
 * rod.protocol and rod.edukoppeling in the configuration file: defaults,
 * the rule that rest takes no edukoppeling block, OINs as quoted strings,
 * pinned signer files resolved and checked by check-config.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkReferencedFiles, ConfigError, parseConfig } from '../../../src/config/load.js';
import { edukoppelingSettings } from '../../../src/config/schema.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-ek-config-'));
const file = path.join(dir, 'verzuim-relay.yaml');

const yaml = (rod: string) => `
municipality: { code: "0344", name: Utrecht, oin: "00000001002220647000" }
rod:
  url: https://webservice.duo.nl:6977/ROD/services/verzuim1.0
${rod}
tls: { cert: client.crt, key: client.key, trustAnchors: roots.pem }
routing:
  instances:
    leerplicht: { name: Leerplicht, email: leerplicht@utrecht.example }
    rmc: { name: RMC, email: rmc@utrecht.example }
    handhaving: { name: Handhaving, email: handhaving@utrecht.example }
    zorg: { name: Zorg, email: zorg@utrecht.example }
  verzuimsoorten: { ZESTIEN_UUR: leerplicht, LANGDURIG_RELATIEF: zorg, LUXE: handhaving, DOORSTROOMPUNT_18PLUS: rmc, OVERIG: leerplicht }
  unknown: leerplicht
smtp: { host: smtp.utrecht.example, from: relay@utrecht.example }
storage: { path: relay.db }
`;

function problems(rod: string): string[] {
  try {
    parseConfig(yaml(rod), file, {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('rod.protocol and rod.edukoppeling', () => {
  it('default to edukoppeling, DUO\'s real interface, without an edukoppeling block', () => {
    const config = parseConfig(yaml(''), file, {});
    expect(config.rod.protocol).toBe('edukoppeling');
    expect(config.rod.edukoppeling).toBeUndefined();
    expect(edukoppelingSettings(config.rod).duoOin).toBe('00000001800866472000');
  });

  it('refuse an edukoppeling block with protocol rest, naming the key path', () => {
    expect(problems('  protocol: rest\n  edukoppeling: { duoOin: "00000001800866472000" }')).toEqual([expect.stringMatching(/^rod\.edukoppeling: not allowed with rod\.protocol: rest/)]);
    expect(problems('  protocol: rest\n  edukoppeling: {}')).toEqual([expect.stringMatching(/^rod\.edukoppeling: not allowed/)]);
  });

  it('take every default with protocol edukoppeling and no block; signerOin defaults to duoOin', () => {
    const config = parseConfig(yaml('  protocol: edukoppeling'), file, {});
    expect(edukoppelingSettings(config.rod)).toEqual({
      to: 'https://duo.nl/ROD/services/verzuim1.0',
      duoOin: '00000001800866472000',
      signerOin: '00000001800866472000',
      contract: 'DUO_ROD_Verzuim_Gemeente_V1',
      clockSkewSeconds: 300,
    });
  });

  it('read the block: signerOin of the test environment, pinned files resolved next to the file', () => {
    const config = parseConfig(
      yaml('  protocol: edukoppeling\n  edukoppeling:\n    signerOin: "00000099800866472000"\n    signerCertificates: duo.pem\n    clockSkewSeconds: 60'),
      file,
      {},
    );
    const settings = edukoppelingSettings(config.rod);
    expect(settings).toMatchObject({ duoOin: '00000001800866472000', signerOin: '00000099800866472000', clockSkewSeconds: 60 });
    expect(settings.signerCertificates).toEqual([path.join(dir, 'duo.pem')]);
    // check-config: a pinned file that does not exist is named by its key.
    expect(checkReferencedFiles(config)).toContainEqual(expect.stringMatching(/^rod\.edukoppeling\.signerCertificates: cannot read .*duo\.pem/));
    writeFileSync(path.join(dir, 'duo.pem'), 'x');
    expect(checkReferencedFiles(config).filter((p) => p.startsWith('rod.edukoppeling'))).toEqual([]);
  });

  it('refuse an OIN as a number, an unknown key, ?oin= in to and an unknown protocol', () => {
    expect(problems('  protocol: edukoppeling\n  edukoppeling: { duoOin: 00000001800866472000 }')).toEqual([
      expect.stringMatching(/^rod\.edukoppeling\.duoOin: .*put it in quotes/),
    ]);
    expect(problems('  protocol: edukoppeling\n  edukoppeling: { dueOin: "00000001800866472000" }')).toEqual([
      'rod.edukoppeling.dueOin: unknown key (did you mean "duoOin"?)',
    ]);
    expect(problems('  protocol: edukoppeling\n  edukoppeling: { to: "https://duo.nl/x?oin=1" }')).toEqual([expect.stringMatching(/^rod\.edukoppeling\.to: give the address without/)]);
    expect(problems('  protocol: soap')).toEqual([expect.stringMatching(/^rod\.protocol:/)]);
  });
});
