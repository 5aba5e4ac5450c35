/**
 * The one parse of a response whose signature is judged (verify.ts): saxes
 * reads the text, and the DOM is xmldom's, built from saxes' events with the
 * calls xmldom's own parser makes (its DOMHandler, 0.9), so that xml-crypto,
 * the structure checks and the contract read the same Document as before.
 *
 * Why not xmldom's parser: under the relay's --optimize-for-size a page of
 * 500 meldingen took it some 450 ms of CPU, half of all the relay does for
 * the page; saxes and the same DOM take some 300 ms (the DOM itself, built in
 * a young generation of 1 MB, is most of what is left). saxes is also the
 * stricter reader, which is the right way round for a signature: it is a
 * conforming XML 1.0 parser with namespaces, and refuses what xmldom let
 * through — an attribute twice under two prefixes of one namespace, `]]>` in
 * text, a prefix undeclared or `xml`/`xmlns` rebound, characters XML does not
 * allow (also as references, `&#0;`), a bare `&`. A DOCTYPE is refused as it
 * comes (no DTD, so no entity but the five XML predefines).
 *
 * The DOM is xmldom's for every element and everything in it: namespaces,
 * attributes in document order, text with references resolved, CDATA
 * sections (an empty one dropped, as xmldom does), comments and processing
 * instructions; adjacent text is one node, as xmldom's normalize() leaves it.
 * Line ends are normalised by xmldom's own function first, as its parser
 * does. Outside the root element, comments and processing instructions are
 * kept; the XML declaration is not a node (xmldom made it a processing
 * instruction) and neither is whitespace. Neither is content anything here
 * reads, and exclusive C14N of an element never sees them.
 * test/unit/edukoppeling/strict-xml.test.ts compares both parsers.
 */
import { DOMImplementation, normalizeLineEndings, type Document, type Node } from '@xmldom/xmldom';
import { SaxesParser } from 'saxes';

/** `text` as an xmldom Document; throws on anything that is not well-formed, namespace-well-formed XML 1.0 without a DOCTYPE. */
export function parseStrictXml(text: string): Document {
  const doc = new DOMImplementation().createDocument(null, '');
  // XML 1.0 whatever the declaration says: 1.1 would allow control characters by reference.
  const parser = new SaxesParser({ xmlns: true, position: true, defaultXMLVersion: '1.0', forceXMLVersion: true });
  let current: Node = doc;
  const append = (node: Node) => current.appendChild(node);

  // saxes reports an error and reads on; the first one ends the parse.
  parser.on('error', (err) => {
    throw err;
  });
  parser.on('doctype', () => {
    throw new Error('a DOCTYPE is not allowed');
  });
  parser.on('opentag', (tag) => {
    const element = doc.createElementNS(tag.uri || null, tag.name);
    // In document order: saxes keeps them by name, in the order they came (a name cannot start with a digit).
    for (const name in tag.attributes) {
      const { uri, value } = tag.attributes[name]!;
      const attr = doc.createAttributeNS(uri || null, name);
      attr.value = attr.nodeValue = value;
      element.setAttributeNode(attr);
    }
    append(element);
    current = element;
  });
  parser.on('closetag', () => {
    current = current.parentNode!;
  });
  parser.on('text', (data) => {
    // Outside the root element saxes lets only whitespace through, which no one reads.
    if (current === doc) return;
    const last = current.lastChild;
    if (last?.nodeType === 3) (last as unknown as { appendData(data: string): void }).appendData(data);
    else append(doc.createTextNode(data));
  });
  parser.on('cdata', (data) => {
    if (data) append(doc.createCDATASection(data));
  });
  parser.on('comment', (data) => append(doc.createComment(data)));
  parser.on('processinginstruction', ({ target, body }) => append(doc.createProcessingInstruction(target, body)));

  parser.write(normalizeLineEndings(text)).close();
  return doc;
}
