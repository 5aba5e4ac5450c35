/** cleanOutsideText: what is left of text from ROD or a mail server before it is logged or printed. */
import { describe, expect, it } from 'vitest';
import { cleanOutsideText } from '../../../src/observability/outside-text.js';

describe('cleanOutsideText', () => {
  it('masks a BSN, an onderwijsnummer and grouped digit runs of 8 or more, keeps short numbers', () => {
    expect(cleanOutsideText('BSN 123456782 en onderwijsnummer 112345678')).toBe('BSN [number] en onderwijsnummer [number]');
    expect(cleanOutsideText('bel 06-12345678 of 123 456 782')).toBe('bel [number] of [number]');
    expect(cleanOutsideText('HTTP 503, foutcode V403, melding 1234567')).toBe('HTTP 503, foutcode V403, melding 1234567');
  });

  it('masks e-mail addresses', () => {
    expect(cleanOutsideText('mail <jan.jansen+x@school.example.nl> nu')).toBe('mail <[e-mail]> nu');
  });

  it('drops C0, C1, ESC sequences, bidi overrides and zero-width characters', () => {
    const cleaned = cleanOutsideText('a\x1b[31mrood\x1b[0m\u0085b\u009b2J\u202egnirts\u200b\u2066x\u2028y\r\nz\u0000');
    expect(cleaned).toBe('a [31mrood [0m b 2J gnirts x y z');
    // eslint-disable-next-line no-control-regex
    expect(cleaned).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/);
  });

  it('cuts to 200 characters by default, on a code point', () => {
    const long = 'é'.repeat(150) + '😀'.repeat(100);
    const cleaned = cleanOutsideText(long);
    expect(Array.from(cleaned)).toHaveLength(201);
    expect(cleaned.endsWith('…')).toBe(true);
    expect(cleaned).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(cleanOutsideText('x'.repeat(100), { max: 10 })).toBe(`${'x'.repeat(10)}…`);
  });

  it('answers an empty string for nothing', () => {
    expect(cleanOutsideText(undefined)).toBe('');
    expect(cleanOutsideText(null)).toBe('');
  });
});
