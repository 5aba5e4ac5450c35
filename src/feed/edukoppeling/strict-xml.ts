/**
 * The one parse of a response whose signature is judged (verify.ts): saxes
 * reads the text into the relay's own light DOM (dom.ts), which holds for
 * every node what xmldom's parser (0.9) held and under the same names, so
 * that xml-crypto, the structure checks and the contract read what they read
 * before.
 *
 * Why not xmldom's parser: under the relay's --optimize-for-size a page of
 * 500 meldingen took it some 450 ms of CPU, half of all the relay does for
 * the page; saxes into xmldom's DOM took some 300 ms, and into the light DOM
 * about 100 (xmldom's DOM, built in a young generation of 1 MB, was most of
 * those 300). saxes is also the
 * stricter reader, which is the right way round for a signature: it is a
 * conforming XML 1.0 parser with namespaces, and refuses what xmldom let
 * through — an attribute twice under two prefixes of one namespace, `]]>` in
 * text, a prefix undeclared or `xml`/`xmlns` rebound, a reference to a
 * character XML does not allow (`&#0;`, `&#xD800;`), a bare `&`. A DOCTYPE is
 * refused as it comes (no DTD, so no entity but the five XML predefines).
 *
 * The DOM reads as xmldom's did for every element and everything in it: namespaces,
 * attributes in document order, text with references resolved, CDATA
 * sections (an empty one dropped, as xmldom does), comments and processing
 * instructions; adjacent text is one node, as xmldom's normalize() leaves it.
 * Line ends are normalised by xmldom's own function first, as its parser
 * does. Outside the root element, comments and processing instructions are
 * kept; the XML declaration is not a node (xmldom made it a processing
 * instruction) and neither is whitespace. Neither is content anything here
 * reads, and exclusive C14N of an element never sees them.
 * test/unit/edukoppeling/strict-xml.test.ts compares both parsers.
 *
 * One thing XML 1.0 forbids is let through as xmldom let it through: a raw
 * control character (U+0000–U+001F but tab, line feed and carriage return)
 * in text or an attribute value. A free-text field pasted from a word
 * processor can carry one, and some serialisers write it as it is; the
 * signature still covers it (C14N writes it unchanged), and refusing the
 * page would stop the feed at it for good, where a record is otherwise
 * quarantined. In a name, comment, CDATA section or processing instruction
 * it is refused.
 */
import { normalizeLineEndings } from '@xmldom/xmldom';
import { SaxesParser } from 'saxes';
import {
  LightAttr,
  LightCDATASection,
  LightComment,
  LightDocument,
  LightElement,
  LightProcessingInstruction,
  LightText,
  type LightChild,
} from './dom.js';

/** `text` as a Document; throws on anything that is not well-formed, namespace-well-formed XML 1.0 without a DOCTYPE. */
export function parseStrictXml(text: string): LightDocument {
  const { source, restore, refuse } = controlsStandingIn(normalizeLineEndings(text));
  const doc = new LightDocument();
  // XML 1.0 whatever the declaration says: 1.1 would allow control characters by reference.
  const parser = new SaxesParser({ xmlns: true, position: true, defaultXMLVersion: '1.0', forceXMLVersion: true });
  let current: LightDocument | LightElement = doc;
  const append = (node: LightChild) => current.adopt(node);

  // saxes reports an error and reads on; the first one ends the parse.
  parser.on('error', (err) => {
    throw err;
  });
  parser.on('doctype', () => {
    throw new Error('a DOCTYPE is not allowed');
  });
  // A page repeats a few dozen names thousands of times: each name's strings are kept once.
  const names = new Map<string, QualifiedName>();
  const nameOf = (qualifiedName: string) => {
    let name = names.get(qualifiedName);
    if (!name) names.set(qualifiedName, (name = split(qualifiedName)));
    return name;
  };
  parser.on('opentag', (tag) => {
    const { qualified, prefix, local } = nameOf(tag.name);
    const element = new LightElement(tag.uri || null, qualified, prefix, local);
    // In document order: saxes keeps them by name, in the order they came (a name cannot start with a digit).
    for (const attrName in tag.attributes) {
      const { uri, value } = tag.attributes[attrName]!;
      const name = nameOf(attrName);
      element.addAttribute(new LightAttr(uri || null, name.qualified, name.prefix, name.local, restore(value)));
    }
    append(element);
    current = element;
  });
  parser.on('closetag', () => {
    current = current.parentNode as LightDocument | LightElement;
  });
  parser.on('text', (data) => {
    // Outside the root element saxes lets only whitespace through, which no one reads.
    if (current === doc) return;
    data = restore(data);
    const last = current.lastChild;
    if (last instanceof LightText) last.data += data;
    else append(new LightText(data));
  });
  parser.on('cdata', (data) => {
    if (data) append(new LightCDATASection(refuse(data)));
  });
  parser.on('comment', (data) => append(new LightComment(refuse(data))));
  parser.on('processinginstruction', ({ target, body }) => append(new LightProcessingInstruction(target, refuse(body))));

  parser.write(source).close();
  return doc;
}

interface QualifiedName {
  qualified: string;
  prefix: string | null;
  local: string;
}

/** A qualified name's prefix (or none) and local name, as xmldom's createElementNS and createAttributeNS split it. */
function split(qualified: string): QualifiedName {
  const colon = qualified.indexOf(':');
  return colon < 0 ? { qualified, prefix: null, local: qualified } : { qualified, prefix: qualified.slice(0, colon), local: qualified.slice(colon + 1) };
}

/** The control characters XML 1.0 forbids, and what stands in for each while saxes reads: U+E000 + its code, private use. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;
const STAND_IN = /[\uE000-\uE008\uE00B\uE00C\uE00E-\uE01F]/;
const every = (re: RegExp) => new RegExp(re.source, 'g');
const CONTROLS = every(CONTROL);
const STAND_INS = every(STAND_IN);

interface StandIns {
  source: string;
  /** A value read from text or an attribute, with its control characters back. */
  restore(value: string): string;
  /** A comment's, CDATA section's or processing instruction's content, refused if it held a control character (xmldom refused it). */
  refuse(value: string): string;
}

/**
 * `text` with each forbidden control character replaced by its stand-in,
 * which saxes reads like any other character where content may be, and
 * refuses in a name. Without one (every response DUO should send) the text
 * is read as it is.
 */
function controlsStandingIn(text: string): StandIns {
  if (!CONTROL.test(text)) return { source: text, restore: (value) => value, refuse: (value) => value };
  // A stand-in already in the text could not be told from a control character put back.
  if (STAND_IN.test(text)) throw new Error('a control character XML does not allow, beside a private-use character U+E000–U+E01F');
  return {
    source: text.replace(CONTROLS, (c) => String.fromCharCode(0xe000 + c.charCodeAt(0))),
    restore: (value) => value.replace(STAND_INS, (c) => String.fromCharCode(c.charCodeAt(0) - 0xe000)),
    refuse: (value) => {
      if (STAND_IN.test(value)) throw new Error('a control character in a comment, CDATA section or processing instruction');
      return value;
    },
  };
}
