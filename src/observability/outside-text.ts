/**
 * Text written by someone else (a ROD problem's detail, a SOAP faultstring,
 * a fouttekst, an SMTP server's reply) on its way into a log line, the audit
 * log, an alert mail or a terminal. Such text is not ours to trust: DUO's
 * side may echo a pupil's BSN or an e-mail address back at us, and a hostile
 * or broken peer may send terminal escape sequences or bidi overrides that
 * rewrite what an administrator sees in `status` or in a log viewer. So it
 * is never passed on verbatim: control and format characters go, digit runs
 * that could be a BSN or onderwijsnummer and e-mail addresses are masked,
 * and the rest is cut short. Codes (HTTP status, problem code, faultcode,
 * foutcode) are kept apart by the callers, so nothing an administrator needs
 * to act on is lost.
 */

/** How much free text from outside is kept by default. */
export const OUTSIDE_TEXT_MAX = 200;

// C0 and C1 controls (ESC among them), and the Unicode format (bidi overrides, zero-width) and
// line/paragraph separators: anything that can move a cursor, colour a terminal or reorder text.
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu;
// Eight digits or more, also when written in groups ("123 456 782", "06-12345678"): a BSN and an
// onderwijsnummer have nine. Shorter runs (a status, the number in a foutcode) stay readable.
const LONG_DIGIT_RUN = /\d(?:[ .-]?\d){7,}/g;
const EMAIL = /[^\s@<>()[\]"',;:]+@[^\s@<>()[\]"',;:]+/g;
// A lone surrogate half would make the text invalid UTF-16 once cut.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export interface OutsideTextOptions {
  /** At most this many characters are kept (an ellipsis marks a cut). Default 200. */
  max?: number;
}

/** Outside text made safe to log, store in the audit log and print: see the module comment. */
export function cleanOutsideText(text: unknown, options: OutsideTextOptions = {}): string {
  const max = options.max ?? OUTSIDE_TEXT_MAX;
  if (text === undefined || text === null) return '';
  const cleaned = String(text)
    .replace(LONE_SURROGATE, ' ')
    .replace(CONTROL_OR_FORMAT, ' ')
    .replace(EMAIL, '[e-mail]')
    .replace(LONG_DIGIT_RUN, '[number]')
    .replace(/\s+/g, ' ')
    .trim();
  // Counted and cut in code points, never inside a surrogate pair.
  const points = Array.from(cleaned);
  return points.length <= max ? cleaned : `${points.slice(0, max).join('').trimEnd()}…`;
}

/**
 * What the relay says about a free text from ROD (a problem's title or
 * detail, a faultstring, a fouttekst) in a message that is logged, audited
 * or shown by `status`: that there was one, not what it said. Cleaning masks
 * numbers and addresses but cannot recognise a pupil's name, and ROD may echo
 * one; the code beside it, and the relay's own advice, say what to do.
 */
export function withheldText(text: unknown): string {
  return cleanOutsideText(text) ? "ROD's text not logged: it may name a pupil" : '';
}
