/**
 * The two steps of xml-crypto's SignedXml (6.3.2, pinned) that signing and
 * verifying both replace on their instance, because xml-crypto finds what
 * they work on with an XPath scan of the whole document: canonicalising one
 * reference's element, and canonicalising the SignedInfo. What is replaced
 * is only how the node is found (and, for exclusive C14N, that it is not
 * copied first); the canonicalisation and the hash stay xml-crypto's own
 * classes, as the brief requires.
 */
import type { Document, Element } from '@xmldom/xmldom';
import { findChildren, SignedXml, type Reference } from 'xml-crypto';
import { findAncestorNsForElement } from 'xml-crypto/lib/utils.js';
import { ALG } from './wire.js';

/** The parts of xml-crypto's SignedXml (6.3.x) that sign.ts and verify.ts replace or call: private in its types. */
export interface SignedXmlInternals {
  validateReference(ref: Reference, doc: Document): string | undefined;
  calculateReferenceDigest(ref: Reference, node: Element): string;
  getCanonSignedInfoXml(doc: Document): string;
  canonicalize(transforms: Reference['transforms'], node: Element, options: object, flags: { discardComments: boolean }): string;
  findHashAlgorithm(name: string): { getHash(xml: string): string };
  signatureNode: Element | null;
}

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
export function canonicalReference(sig: SignedXml, ref: Reference, element: Element): string {
  ref.ancestorNamespaces = findAncestorNsForElement(element as unknown as Parameters<typeof findAncestorNsForElement>[0]);
  const options = { inclusiveNamespacesPrefixList: ref.inclusiveNamespacesPrefixList, ancestorNamespaces: ref.ancestorNamespaces };
  const plain = ref.transforms.length === 1 && ref.transforms[0] === ALG.excC14n && (ref.inclusiveNamespacesPrefixList ?? []).length === 0;
  const excC14n = sig.CanonicalizationAlgorithms[ALG.excC14n];
  if (plain && excC14n) {
    return new excC14n().process(element, { ...options, defaultNsForPrefix: SignedXml.defaultNsForPrefix }).toString();
  }
  return internalsOf(sig).canonicalize(ref.transforms, element, options, { discardComments: true });
}

/**
 * The canonical SignedInfo of `signature`. xml-crypto canonicalises it with
 * the namespaces in scope of the first element named SignedInfo that an
 * XPath scan of the whole document finds; here they are found by walking up
 * from the SignedInfo itself (the profile allows one Signature, so it is the
 * same element). The canonicalisation is xml-crypto's getCanonXml with the
 * configured algorithm, as in its getCanonSignedInfoXml.
 */
export function canonicalSignedInfo(sig: SignedXml, signature: Element): string {
  const signedInfos = findChildren(signature as unknown as Parameters<typeof findChildren>[0], 'SignedInfo');
  if (signedInfos.length !== 1) throw new Error(`the signature holds ${signedInfos.length} SignedInfo elements`);
  const signedInfo = signedInfos[0]!;
  return sig.getCanonXml([sig.canonicalizationAlgorithm!], signedInfo, { ancestorNamespaces: findAncestorNsForElement(signedInfo) });
}
