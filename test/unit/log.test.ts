/**
 * The logger's `together`: lines logged inside it reach the destination in
 * one write when it ends, in order, children's lines included, and none is
 * lost when the block throws.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/log.js';

function capture(): { writes: string[]; destination: Writable } {
  const writes: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  return { writes, destination };
}

const events = (text: string) => text.trimEnd().split('\n').map((line) => (JSON.parse(line) as { event: string }).event);

describe('Logger.together', () => {
  it('writes the lines logged inside it in one write when it ends, children included', () => {
    const { writes, destination } = capture();
    const log = createLogger({ destination });
    log.info('before');
    expect(writes).toHaveLength(1);
    const result = log.together!(() => {
      log.info('a');
      log.child({ gemeentecode: '0344' }).warn('b');
      log.together!(() => log.error('c'));
      // Nothing is written while the block runs.
      expect(writes).toHaveLength(1);
      return 42;
    });
    expect(result).toBe(42);
    expect(writes).toHaveLength(2);
    expect(events(writes[1]!)).toEqual(['a', 'b', 'c']);
    log.info('after');
    expect(writes.map(events)).toEqual([['before'], ['a', 'b', 'c'], ['after']]);
  });

  it('writes the same text together as line by line, characters beyond ASCII included', () => {
    const fields = { instance: 'zorg – wijk Noord', reason: 'Zeeën, Çakır, 日本, 😀, "quoted"\\' };
    const apart = capture();
    createLogger({ destination: apart.destination }).info('a', fields);
    const held = capture();
    const log = createLogger({ destination: held.destination });
    log.together!(() => {
      log.info('a', fields);
      log.info('a', fields);
    });
    const withoutTime = (line: string) => ({ ...(JSON.parse(line) as Record<string, unknown>), time: undefined });
    expect(held.writes).toHaveLength(1);
    const lines = held.writes[0]!.trimEnd().split('\n');
    expect(lines.map(withoutTime)).toEqual([withoutTime(apart.writes[0]!), withoutTime(apart.writes[0]!)]);
    expect((JSON.parse(lines[0]!) as { reason: string }).reason).toBe(fields.reason);
  });

  it('writes what was logged before the block threw, and nothing when nothing was logged', () => {
    const { writes, destination } = capture();
    const log = createLogger({ destination });
    expect(() =>
      log.together!(() => {
        log.info('logged');
        throw new Error('kapot');
      }),
    ).toThrow('kapot');
    log.together!(() => {});
    expect(writes.map(events)).toEqual([['logged']]);
  });
});
