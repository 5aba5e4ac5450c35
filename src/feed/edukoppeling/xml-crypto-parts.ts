/**
 * Where the relay and the simulator go around xml-crypto's SignedXml (6.3.2,
 * pinned) because it finds what it works on by XPath: the `xpath` package
 * builds a new parser for every expression, and searches of the whole
 * document cost a page of 500 meldingen dearly. Replaced is only how a node
 * is found (and, for exclusive C14N, that it is not copied first):
 * canonicalising a reference's element and the SignedInfo, looking up
 * references by Id, reading a loaded Signature's parts, and putting a new
 * signature in place. Canonicalisation, digests and signature values stay
 * xml-crypto's own classes, as the brief requires.
 */
import { timingSafeEqual, type KeyLike } from 'node:crypto';
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import { ExclusiveCanonicalization, SignedXml, type Reference } from 'xml-crypto';
import { findAncestorNsForElement } from 'xml-crypto/lib/utils.js';
import { childElements, escapeXml } from './contract.js';
import { LightElement, toXmldom, type XmlDocument, type XmlElement } from './dom.js';
import { ALG, NS } from './wire.js';

/** The parts of xml-crypto's SignedXml (6.3.x) that this module replaces, sets or calls: private in its types. */
export interface SignedXmlInternals {
  findSignatureAlgorithm(name: string): { getSignature(signedInfo: string, key: KeyLike): string };
  validateReference(ref: Reference, doc: Document): string | undefined;
  getCanonSignedInfoXml(doc: Document): string;
  canonicalize(transforms: Reference['transforms'], node: Element, options: object, flags: { discardComments: boolean }): string;
  findHashAlgorithm(name: string): { getHash(xml: string): string };
  signatureNode: XmlElement | null;
  signatureValue: string;
  signatureXml: string;
  keyInfo: XmlElement | null;
}

const XMLNS = 'http://www.w3.org/2000/xmlns/';

export const internalsOf = (sig: SignedXml) => sig as unknown as SignedXmlInternals;

/**
 * The canonical XML of a reference's element, as xml-crypto computes it for
 * the digest (its calculateReferenceDigest and validateReference, 6.3.2).
 *
 * xml-crypto canonicalises a deep copy (a second Body of ~20 MB for a page of
 * 500 meldingen), because an enveloped-signature transform or an
 * InclusiveNamespaces list changes the node, and drops comments from the copy
 * with one more XPath scan. Exclusive C14N alone, without a prefix list, only
 * reads the node and drops comments itself: then the element is
 * canonicalised as it is, by xml-crypto's class. Anything else goes through
 * xml-crypto's own path.
 */
export function canonicalReference(sig: SignedXml, ref: Reference, element: XmlElement): string {
  ref.ancestorNamespaces = ancestorNamespacesOf(element);
  const options = { inclusiveNamespacesPrefixList: ref.inclusiveNamespacesPrefixList, ancestorNamespaces: ref.ancestorNamespaces };
  const plain = ref.transforms.length === 1 && ref.transforms[0] === ALG.excC14n && (ref.inclusiveNamespacesPrefixList ?? []).length === 0;
  if (plain) return excC14nInPlace(sig, element, ref.ancestorNamespaces);
  // xml-crypto's own path copies the node and drops its comments by XPath: it needs xmldom's DOM.
  return internalsOf(sig).canonicalize(ref.transforms, asXmldom(element), options, { discardComments: true });
}

/** The namespaces in scope above `element` that its exclusive C14N may need, as xml-crypto finds them. */
function ancestorNamespacesOf(element: XmlElement) {
  return findAncestorNsForElement(element as unknown as Parameters<typeof findAncestorNsForElement>[0]);
}

/** xmldom's DOM for what xml-crypto handles only in its own: a copy of a parsed response's element, xmldom's element as it is. */
function asXmldom(element: XmlElement): Element {
  return element instanceof LightElement ? toXmldom(element) : (element as unknown as Element);
}

/**
 * Exclusive C14N (without comments) of `element` where it stands, by
 * xml-crypto's own class, with the namespaces in scope there: what
 * xml-crypto's canonicalize computes for this one transform, without its
 * deep copy (the class only reads the node).
 */
function excC14nInPlace(sig: SignedXml, element: XmlElement, ancestorNamespaces = ancestorNamespacesOf(element)): string {
  const excC14n = sig.CanonicalizationAlgorithms[ALG.excC14n];
  if (!excC14n) throw new Error('xml-crypto has no exclusive C14N');
  return exclusiveCanonicalXml(element, ancestorNamespaces, excC14n);
}

/**
 * An element's exclusive canonical XML (without comments), where it stands:
 * what a reference to it digests, by xml-crypto's class (or the one a
 * SignedXml's table holds for it). A verified melding is stored in this form,
 * self-contained (the namespaces it uses declared on it).
 */
export function exclusiveCanonicalXml(
  element: XmlElement,
  ancestorNamespaces = ancestorNamespacesOf(element),
  Algorithm: new () => { process(node: Element, options: object): { toString(): string } } = ExclusiveCanonicalization,
): string {
  // The class only reads the node, through the properties both DOMs have (dom.ts).
  return new Algorithm().process(element as unknown as Element, { ancestorNamespaces, defaultNsForPrefix: SignedXml.defaultNsForPrefix }).toString();
}

/**
 * The canonical SignedInfo of `signature`. xml-crypto canonicalises it with
 * the namespaces in scope of the first element named SignedInfo that an
 * XPath scan of the whole document finds; here they are found by walking up
 * from the SignedInfo itself (the profile allows one Signature, so it is the
 * same element). The canonicalisation is xml-crypto's getCanonXml with the
 * configured algorithm, as in its getCanonSignedInfoXml.
 */
export function canonicalSignedInfo(sig: SignedXml, signature: XmlElement): string {
  const signedInfos = childElements(signature).filter((child) => child.namespaceURI === NS.ds && child.localName === 'SignedInfo');
  if (signedInfos.length !== 1) throw new Error(`the signature holds ${signedInfos.length} SignedInfo elements`);
  const signedInfo = signedInfos[0]!;
  // Exclusive C14N reads the node: canonicalised where it stands (an
  // InclusiveNamespaces list in its CanonicalizationMethod is read by the
  // class itself). Any other algorithm through xml-crypto, which copies it first.
  if (sig.canonicalizationAlgorithm === ALG.excC14n) return excC14nInPlace(sig, signedInfo);
  return sig.getCanonXml([sig.canonicalizationAlgorithm!], asXmldom(signedInfo), { ancestorNamespaces: ancestorNamespacesOf(signedInfo) });
}

/**
 * What xml-crypto's loadSignature (6.3.2) takes from a Signature, taken from
 * the Signature's own ds children: the SignedInfo's canonicalisation and
 * signature methods, the SignatureValue's text and the KeyInfo.
 *
 * loadSignature finds each with an XPath search of the Signature
 * (`.//*[local-name(.)='…']`), four new parsers of the `xpath` package a
 * message, and loads the references from a canonical copy of SignedInfo,
 * which checkSignature discards and loads again from its own: together the
 * largest part of verifying the small answer of an idle cycle. Stricter than
 * the search: only the ds elements where XML-DSig puts them count, and each
 * exactly once. The caller has checked which algorithms those are (verify.ts
 * checkSignatureAlgorithms; the simulator's checkSignatureStructure), and
 * checkSignature judges the signature as before.
 */
export function loadSignatureFromChildren(sig: SignedXml, signature: XmlElement): void {
  const only = (parent: XmlElement, localName: string): XmlElement => {
    const found = childElements(parent).filter((c) => c.namespaceURI === NS.ds && c.localName === localName);
    if (found.length !== 1) throw new Error(`the ${parent.localName} holds ${found.length} ${localName} elements, not one`);
    return found[0]!;
  };
  const signedInfo = only(signature, 'SignedInfo');
  const value = only(signature, 'SignatureValue').firstChild;
  if (value?.nodeType !== 3) throw new Error('the SignatureValue holds no text');
  const internals = internalsOf(sig);
  internals.signatureNode = signature;
  // Kept by xml-crypto for getSignatureXml(), which nothing here calls; the
  // light DOM of a parsed response has no serialiser, so its canonical form.
  internals.signatureXml = exclusiveCanonicalXml(signature);
  sig.canonicalizationAlgorithm = only(signedInfo, 'CanonicalizationMethod').getAttribute('Algorithm') ?? undefined;
  sig.signatureAlgorithm = only(signedInfo, 'SignatureMethod').getAttribute('Algorithm') ?? undefined;
  // As loadSignature reads it: the first text node, line breaks removed.
  internals.signatureValue = (value.nodeValue ?? '').replace(/\r?\n/g, '');
  internals.keyInfo = only(signature, 'KeyInfo');
}

/** What signInPlace signs and how: exclusive C14N throughout, one transform per reference. */
export interface SignatureSpec {
  /** The elements to sign, in reference order; each is referenced by its wsu:Id (`URI="#<Id>"`). */
  references: readonly Element[];
  digestAlgorithm: string;
  signatureAlgorithm: string;
  key: KeyLike;
  /** The prefix of the ds elements (`ds:Signature`), or none: a default namespace on Signature. */
  prefix?: string;
  /** The KeyInfo's content, written as it is. */
  keyInfoContent: string;
  /** Prefixes in scope where the Signature goes that keyInfoContent may use undeclared. */
  prefixesInScope?: Readonly<Record<string, string>>;
  /** Puts the Signature element into the document (before the Timestamp, at the end of Security, …). */
  place(signature: Element): void;
}

/**
 * A ds:Signature over elements the caller has already found, put into `doc`
 * where the caller says, with the text xml-crypto's computeSignature (6.3.2)
 * writes for the same references (test/unit/edukoppeling/sign-in-place.test.ts
 * compares the two byte for byte).
 *
 * computeSignature finds each reference, the signature's place and its own
 * SignedInfo with an XPath expression, and the `xpath` package builds a new
 * parser (its grammar tables) for every expression: eight for a request of
 * six references, most of the relay's signing time in the once-a-cycle cold
 * code of an idle daemon, and on the simulator a search of every attribute of
 * a page of 500 meldingen for each reference. The digests, the canonical
 * SignedInfo and the signature value are still xml-crypto's classes:
 * exclusive C14N, its hash and its signature algorithm.
 */
export function signInPlace(doc: Document, spec: SignatureSpec): void {
  const sig = new SignedXml({ signatureAlgorithm: spec.signatureAlgorithm, canonicalizationAlgorithm: ALG.excC14n });
  const internals = internalsOf(sig);
  const hash = internals.findHashAlgorithm(spec.digestAlgorithm);
  const p = spec.prefix ? `${spec.prefix}:` : '';
  const references = spec.references.map((element) => {
    if (element.ownerDocument !== doc) throw new Error(`the element ${element.tagName} to sign is not in the document signed`);
    const id = element.getAttributeNS(NS.wsu, 'Id');
    if (!id) throw new Error(`the element ${element.tagName} to sign has no wsu:Id`);
    const digest = hash.getHash(excC14nInPlace(sig, element));
    return (
      `<${p}Reference URI="#${escapeXml(id)}"><${p}Transforms><${p}Transform Algorithm="${ALG.excC14n}"/></${p}Transforms>` +
      `<${p}DigestMethod Algorithm="${spec.digestAlgorithm}"/><${p}DigestValue>${digest}</${p}DigestValue></${p}Reference>`
    );
  });
  const signatureXml =
    `<${p}Signature xmlns${spec.prefix ? `:${spec.prefix}` : ''}="${NS.ds}">` +
    `<${p}SignedInfo><${p}CanonicalizationMethod Algorithm="${ALG.excC14n}"/><${p}SignatureMethod Algorithm="${spec.signatureAlgorithm}"/>` +
    references.join('') +
    `</${p}SignedInfo><${p}KeyInfo>${spec.keyInfoContent}</${p}KeyInfo></${p}Signature>`;
  // Parsed inside a wrapper that declares the prefixes in scope where it goes,
  // so the KeyInfo may use them as it would in place (as xml-crypto does).
  const declarations = Object.entries(spec.prefixesInScope ?? {})
    .map(([prefix, uri]) => ` xmlns:${prefix}="${escapeXml(uri)}"`)
    .join('');
  const wrapper = new DOMParser().parseFromString(`<Wrapper${declarations}>${signatureXml}</Wrapper>`, 'text/xml');
  const signature = wrapper.documentElement!.firstChild as Element;
  spec.place(signature);
  const signedInfo = signature.firstChild as Element;
  const value = internals.findSignatureAlgorithm(spec.signatureAlgorithm).getSignature(excC14nInPlace(sig, signedInfo), spec.key);
  const signatureValue = wrapper.createElementNS(NS.ds, `${p}SignatureValue`);
  signatureValue.appendChild(wrapper.createTextNode(value));
  signature.insertBefore(signatureValue, signedInfo.nextSibling);
}

/** The document as text, as xml-crypto's getSignedXml writes it: a carriage return as a character reference. */
export function serializeSigned(doc: Document): string {
  return doc.toString().replace(/\r/g, '&#xD;');
}

/**
 * xml-crypto resolves each reference with two XPath scans of the whole
 * document (one to find the element by its Id, one again to collect the
 * namespaces in scope of what it found). On a page of 500 meldingen and seven
 * references those scans, in the `xpath` package, were the largest part of
 * the relay's CPU and much of its garbage. This replaces the lookup and
 * nothing else: one walk of xml-crypto's own parse indexes every attribute
 * whose local name is Id (what its XPath matches, namespace declarations
 * excepted); more than one element with the Id is refused as xml-crypto
 * refuses it; the element is then canonicalised and hashed by xml-crypto's
 * own classes, as its validateReference does (6.3.2). The SignedInfo, the
 * references' loading and the signature value stay xml-crypto's.
 *
 * Only the name Id: WS-Security names wsu:Id, and the caller must already
 * have refused a document in which any of Id, ID or id repeats a value (the
 * signature-wrapping defence xml-crypto's lookup of all three is for: the
 * relay's surveyMessage() in verify.ts, the simulator's checkIds()), so a reference by another
 * name resolves to nothing and fails.
 *
 * The version is pinned; test/unit/edukoppeling covers the wrapping, digest
 * and duplicate-Id cases through this path.
 *
 * With `parsed`, the caller's own parse of the message, the references are
 * resolved there and xml-crypto's parse is not used at all: hand
 * checkSignature PARSED_BY_CALLER instead of the message.
 */
export function indexedReferences(sig: SignedXml, parsed?: XmlDocument): () => void {
  const internals = internalsOf(sig);
  let indexed: { doc: XmlDocument; byId: Map<string, XmlElement[]> } | undefined;
  internals.validateReference = (ref, xmlCryptosParse) => {
    const doc: XmlDocument = parsed ?? xmlCryptosParse;
    const id = ref.uri.startsWith('#') ? ref.uri.slice(1) : undefined;
    if (id === undefined || id.includes("'")) {
      ref.validationError = new Error(`the reference ${ref.uri} is not a same-document Id reference`);
      return undefined;
    }
    if (indexed?.doc !== doc) indexed = { doc, byId: idIndex(doc) };
    const found = indexed.byId.get(id) ?? [];
    if (found.length > 1) throw new Error(`more than one element has the Id ${id} (signature wrapping)`);
    const element = found[0];
    if (!element) {
      ref.validationError = new Error(`the signature references ${ref.uri}, which no element in the message has`);
      return undefined;
    }
    ref.xpath = `//*[@*[local-name(.)='Id']='${id}']`;
    const canonical = canonicalReference(sig, ref, element);
    const digest = internals.findHashAlgorithm(ref.digestAlgorithm ?? '').getHash(canonical);
    if (!sameDigest(digest, ref.digestValue)) {
      ref.validationError = new Error(`the digest of ${ref.uri} does not match its DigestValue`);
      return undefined;
    }
    return canonical;
  };
  return () => {
    indexed = undefined;
  };
}

/**
 * What checkSignature (6.3.2) is given to parse when indexedReferences has the
 * caller's parse. checkSignature uses its parse for two things only,
 * canonicalising SignedInfo and resolving each reference, and both are
 * replaced (canonicalSignedInfo, indexedReferences with `parsed`): the
 * references are judged in the same strict parse whose structure and Ids the
 * caller has checked, not in a second one. Anything of the placeholder that
 * reached the verdict would resolve no reference and fail it.
 *
 * Both the relay's response check (verify.ts) and the simulator's request
 * check use it. For a page of 500 meldingen xml-crypto's own parse was a
 * second DOM of some 20 MB, built and collected for every page.
 */
export const PARSED_BY_CALLER = '<parsed-by-caller/>';

/** Two base64 digests compared in constant time (xml-crypto's own comparison is deprecated for 7.0). */
function sameDigest(computed: string, stated: unknown): boolean {
  if (typeof stated !== 'string') return false;
  const a = Buffer.from(computed, 'base64');
  const b = Buffer.from(stated.trim(), 'base64');
  return a.length > 0 && a.length === b.length && timingSafeEqual(a, b);
}

/** Every element by the value of each of its attributes named Id (any namespace, not xmlns), in document order. */
export function idIndex<E extends XmlElement>(doc: { readonly documentElement: E | null }): Map<string, E[]> {
  const byId = new Map<string, E[]>();
  const stack: E[] = doc.documentElement ? [doc.documentElement] : [];
  while (stack.length > 0) {
    const el = stack.pop()!;
    for (let i = 0; i < el.attributes.length; i++) {
      const attr = el.attributes.item(i)!;
      if ((attr.localName ?? attr.name) !== 'Id' || attr.namespaceURI === XMLNS) continue;
      const list = byId.get(attr.value);
      if (list) list.push(el);
      else byId.set(attr.value, [el]);
    }
    for (let child = el.lastChild; child; child = child.previousSibling) if (child.nodeType === 1) stack.push(child as E);
  }
  return byId;
}

