/**
 * The parse of a response (strict-xml.ts) builds a light DOM (dom.ts) that
 * reads as the DOM xmldom's own parser built, so that what is verified and
 * read is unchanged: compared here node by node, serialised (through its copy
 * into xmldom, toXmldom), and as exclusive C14N, on input with every kind of
 * node and the escapes and line ends that differ between parsers. What
 * xmldom let through and saxes refuses is listed too.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DOMParser, onWarningStopParsing, type Document, type Node } from '@xmldom/xmldom';
import { describe, expect, inject, it } from 'vitest';
import { pkcs1SigningKey } from '../../../src/certs/signing-key.js';
import { parseStrictXml } from '../../../src/feed/edukoppeling/strict-xml.js';
import { toXmldom, type XmlElement, type XmlNode } from '../../../src/feed/edukoppeling/dom.js';
import { canonicalReference, exclusiveCanonicalXml } from '../../../src/feed/edukoppeling/xml-crypto-parts.js';
import { SignedXml, type Reference } from 'xml-crypto';
import { ALG, NS } from '../../../src/feed/edukoppeling/wire.js';
import { childElements } from '../../../src/feed/edukoppeling/contract.js';
import { duoResponse } from '../../support/edukoppeling-response.js';

/** The parse the relay used before: xmldom's own, refusing what it warns about, and a DOCTYPE. */
function xmldom(text: string): Document {
  const doc = new DOMParser({ onError: onWarningStopParsing }).parseFromString(text, 'text/xml');
  if (doc.doctype) throw new Error('a DOCTYPE');
  return doc;
}

/** Every node under `node` with what xml-crypto and the relay read of it. */
function nodes(node: Node | XmlNode, out: unknown[] = []): unknown[] {
  const el = node as unknown as { attributes?: { length: number; item(i: number): { name: string; namespaceURI: string | null; prefix: string | null; localName: string | null; value: string } } };
  const attributes = el.attributes
    ? Array.from({ length: el.attributes.length }, (_, i) => {
        const a = el.attributes!.item(i);
        return [a.name, a.namespaceURI, a.prefix, a.localName, a.value];
      })
    : null;
  const { namespaceURI, prefix, localName } = node as Partial<XmlElement>;
  out.push([node.nodeType, node.nodeName, namespaceURI ?? null, prefix ?? null, localName ?? null, node.nodeValue, attributes]);
  for (let child = node.firstChild; child; child = child.nextSibling) nodes(child, out);
  return out;
}

function expectSameElementTree(text: string): void {
  const before = xmldom(text).documentElement!;
  const after = parseStrictXml(text).documentElement!;
  expect(nodes(after)).toEqual(nodes(before));
  expect(toXmldom(after).toString()).toBe(before.toString());
}

const TRICKY = [
  // Namespaces: default, prefixed, redeclared, undeclared, two prefixes for one URI, xml:lang; attribute order.
  '<a xmlns="urn:d" xmlns:p="urn:p" z="1" p:y="2" a="3"><p:b/><c xmlns="" xml:lang="nl"><d xmlns:p="urn:q"><p:e p:x="1"/></d></c>' +
    '<f xmlns:a="urn:a" xmlns:b="urn:a"><g a:x="1" b:y="2"/></f></a>',
  // Comments, processing instructions, CDATA (split, empty, next to text), references in text and attributes.
  '<r><!-- c --><?target  some  data ?><?empty?><b><![CDATA[<&>]]]]><![CDATA[>]]>text &amp; &lt; &gt; &quot; &apos; &#x20AC; &#128512;</b>' +
    '<c><![CDATA[]]><x/>   <![CDATA[ a ]]>b&#13;</c><d>a]b</d></r>',
  // Attribute-value normalisation: literal tab and line ends become spaces, references stay.
  '<r y="&#9;t&#10;n&#13;r\ttab\nnl\r\ncrlf" q=\'single "q"\' g="x&gt;y"/>',
  // Attribute names that are also names of Object.prototype: saxes keeps attributes in an object.
  '<r __proto__="x" constructor="c" toString="t" a="1"/>',
  // Control characters XML 1.0 forbids, raw in text and attribute values, as xmldom let them through.
  '<r a="x\x1by\x00"><t>a\x1bb\x00c\x0b\x0c\x7f</t></r>',
  // Private-use characters, which stand in for control characters while saxes reads, where there are none.
  '<r a="\uE01B"><!--\uE000--><t>\uE01B\uE000</t></r>',
  // Line ends, as xmldom normalises them (also NEL and LINE SEPARATOR), in text and between elements.
  '<r>\r\n<c>a\rb\r\nc\u2028d\u0085e</c>\r\n  \t</r>',
];

describe('the strict parse of a response (strict-xml.ts)', () => {
  it.each(TRICKY)('builds the same element tree as xmldom: %s', (text) => {
    expectSameElementTree(text);
  });

  it('gives the same exclusive C14N as xmldom, comments left out', () => {
    for (const text of TRICKY.filter((t) => !t.includes('<?target'))) {
      expect(exclusiveCanonicalXml(parseStrictXml(text).documentElement!)).toBe(exclusiveCanonicalXml(xmldom(text).documentElement!));
    }
    const withComments = '<r xmlns:p="urn:p"><!-- c --><p:b>x<!-- d -->y</p:b></r>';
    expect(exclusiveCanonicalXml(parseStrictXml(withComments).documentElement!)).toBe('<r><p:b xmlns:p="urn:p">xy</p:b></r>');
  });

  it('builds the same DOM of a signed DUO response, its Body canonicalised alike', () => {
    const g4 = inject('pkiG4');
    const signerCert = new X509Certificate(readFileSync(g4.serverCert));
    const text = duoResponse({ signerCert, signerKey: pkcs1SigningKey(createPrivateKey(readFileSync(g4.serverKey))), relatesTo: 'urn:uuid:1' });
    expectSameElementTree(text);
    const body = <E extends XmlElement>(doc: { documentElement: E | null }) => childElements(doc.documentElement!).find((c) => c.namespaceURI === NS.soap && c.localName === 'Body')!;
    expect(exclusiveCanonicalXml(body(parseStrictXml(text)))).toBe(exclusiveCanonicalXml(body(xmldom(text))));
  });

  it('canonicalises a reference with an InclusiveNamespaces list (xml-crypto\'s own path, on a copy into xmldom) as for xmldom\'s DOM', () => {
    const text =
      '<s:E xmlns:s="urn:s" xmlns:p="urn:p" xmlns:q="urn:q"><s:B xmlns="urn:d" Id="b"><!-- c --><x a="1" p:y="2">t<![CDATA[<c>]]></x><?pi d?></s:B></s:E>';
    const reference = () => ({ transforms: [ALG.excC14n], inclusiveNamespacesPrefixList: ['p', 'q'], uri: '#b' }) as unknown as Reference;
    const light = canonicalReference(new SignedXml(), reference(), childElements(parseStrictXml(text).documentElement!)[0]!);
    const theirs = canonicalReference(new SignedXml(), reference(), childElements(xmldom(text).documentElement!)[0]!);
    expect(light).toBe(theirs);
    // The list brings the ancestors' p and q in, though the element uses only p on an attribute.
    expect(light).toContain('xmlns:q="urn:q"');
    expect(light).not.toContain('<!--');
  });

  it('keeps comments and processing instructions outside the root element, not the XML declaration or whitespace', () => {
    const doc = parseStrictXml('<?xml version="1.0" encoding="UTF-8"?>\n<!-- before --><?pi data?>\n<r/>\n<!-- after -->\n');
    expect(Array.from({ length: doc.childNodes.length }, (_, i) => doc.childNodes[i]!.nodeName)).toEqual(['#comment', 'pi', 'r', '#comment']);
    expect(doc.documentElement!.nodeName).toBe('r');
  });

  it.each([
    ['a DOCTYPE', '<!DOCTYPE r><r/>'],
    ['a DOCTYPE declaring an entity', '<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>'],
    ['an undeclared entity', '<r>&e;</r>'],
    ['an unbound prefix', '<p:r/>'],
    ['an attribute twice', '<r a="1" a="2"/>'],
    ['a close tag that does not match', '<r></s>'],
    ['text after the root element', '<r/>x'],
    ['two root elements', '<r/><r/>'],
    ['< in an attribute value', '<r a="<"/>'],
    ['a misplaced XML declaration', '<r><?xml version="1.0"?></r>'],
    ['no root element', ''],
    ['an unclosed element', '<r>'],
    ['a control character in a comment', '<r><!--\x1b--></r>'],
    ['a control character in a CDATA section', '<r><![CDATA[\x1b]]></r>'],
  ])('refuses %s, as xmldom did', (_, text) => {
    expect(() => xmldom(text)).toThrow();
    expect(() => parseStrictXml(text)).toThrow();
  });

  it.each([
    ['one attribute under two prefixes of one namespace', '<r xmlns:a="urn:a" xmlns:b="urn:a"><e a:x="1" b:x="2"/></r>'],
    [']]> in text', '<r>]]></r>'],
    ['an undeclared prefix (xmlns:p="")', '<r xmlns:p=""/>'],
    ['the xml prefix bound elsewhere', '<r xmlns:xml="urn:x"/>'],
    ['a control character in a name', '<r\x1b/>'],
    ['a control character beside a private-use character that stands in for one while saxes reads', '<r>\x1b\uE01B</r>'],
    ['a character XML does not allow', '<r>\uFFFE</r>'],
    ['a reference to a character XML does not allow', '<r>&#0;</r>'],
    ['a bare ampersand', '<r>& </r>'],
    ['a control character by reference in an XML 1.1 document', '<?xml version="1.1"?><r>&#1;</r>'],
  ])('refuses %s, which xmldom let through', (_, text) => {
    expect(() => parseStrictXml(text)).toThrow();
  });
});
