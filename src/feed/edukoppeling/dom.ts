/**
 * The DOM a response is read into (strict-xml.ts builds it): the parts of the
 * W3C DOM that the relay's checks, the contract and xml-crypto's exclusive
 * C14N read, with the same names and values as xmldom's, and nothing else.
 * Once built it is read only.
 *
 * Why not xmldom's own node classes: a page of 500 meldingen is some 32,000
 * nodes, and xmldom gives every element a NodeList, a NamedNodeMap and a
 * dozen fields beside them. That DOM was about 20 MB for an 820 KB page, all
 * of it still alive in every collection of V8's 1 MB young generation (the
 * relay runs with --optimize-for-size), and building and collecting it was
 * most of what verifying a page cost. These nodes are about 4 MB for the same
 * page, and saxes builds them in 90–140 ms instead of about 230
 * (docs/performance.md, eighth round).
 *
 * What is read in both DOMs (the relay's own requests and the simulator stay
 * xmldom's) is typed by the structural interfaces below; xmldom's nodes
 * satisfy them as they are.
 */
import { DOMImplementation, type Element as XmldomElement, type Node as XmldomNode } from '@xmldom/xmldom';

/** What is read of any node, in xmldom's DOM and in this one alike. */
export interface XmlNode {
  readonly nodeType: number;
  readonly nodeName: string;
  readonly nodeValue: string | null;
  readonly parentNode: XmlNode | null;
  readonly firstChild: XmlNode | null;
  readonly lastChild: XmlNode | null;
  readonly nextSibling: XmlNode | null;
  readonly previousSibling: XmlNode | null;
}

export interface XmlAttr {
  readonly name: string;
  readonly namespaceURI: string | null;
  readonly prefix: string | null;
  readonly localName: string | null;
  readonly value: string;
}

export interface XmlElement extends XmlNode {
  readonly namespaceURI: string | null;
  readonly prefix: string | null;
  readonly localName: string | null;
  readonly tagName: string;
  readonly attributes: { readonly length: number; item(index: number): XmlAttr | null };
  getAttribute(qualifiedName: string): string | null;
  getAttributeNS(namespace: string | null, localName: string): string | null;
}

export interface XmlDocument {
  readonly documentElement: XmlElement | null;
}

const readOnly = () => {
  throw new Error('the parsed response is read only');
};

abstract class LightNode {
  parentNode: LightParent | null = null;
  previousSibling: LightChild | null = null;
  nextSibling: LightChild | null = null;
  abstract readonly nodeType: number;
  abstract readonly nodeName: string;
  get nodeValue(): string | null {
    return null;
  }
  get firstChild(): LightChild | null {
    return null;
  }
  get lastChild(): LightChild | null {
    return null;
  }
  get ownerDocument(): LightDocument | null {
    let node: LightNode | null = this.parentNode;
    while (node && !(node instanceof LightDocument)) node = node.parentNode;
    return node;
  }
  // xml-crypto takes an object for a node only if it has these two
  // (@xmldom/is-dom-node); nothing may change a parsed response.
  appendChild(): never {
    return readOnly();
  }
  removeChild(): never {
    return readOnly();
  }
}

/** Shared by every node without children until its first: an empty array's first push reserves room for 17. */
const NO_CHILDREN: LightChild[] = Object.freeze([]) as unknown as LightChild[];

abstract class LightParent extends LightNode {
  /** In document order; xml-crypto's C14N walks them by index. */
  childNodes: LightChild[] = NO_CHILDREN;
  override get firstChild(): LightChild | null {
    return this.childNodes[0] ?? null;
  }
  override get lastChild(): LightChild | null {
    return this.childNodes[this.childNodes.length - 1] ?? null;
  }
  /** For the parser only. */
  adopt(child: LightChild): void {
    const last = this.childNodes[this.childNodes.length - 1];
    if (last) {
      last.nextSibling = child;
      child.previousSibling = last;
    }
    child.parentNode = this;
    if (this.childNodes === NO_CHILDREN) this.childNodes = [child];
    else this.childNodes.push(child);
  }
}

export class LightDocument extends LightParent {
  get nodeType(): 9 {
    return 9;
  }
  get nodeName(): string {
    return '#document';
  }
  get documentElement(): LightElement | null {
    return (this.childNodes.find((c) => c instanceof LightElement) as LightElement | undefined) ?? null;
  }
}

/** An element's attributes in document order, by index as xml-crypto reads them and by item() as the DOM does. */
export class LightAttributes extends Array<LightAttr> {
  item(index: number): LightAttr | null {
    return this[index] ?? null;
  }
}

/** Shared by every element without attributes (most of a page). */
const NO_ATTRIBUTES: LightAttributes = Object.freeze(new LightAttributes()) as LightAttributes;

export class LightElement extends LightParent {
  attributes: LightAttributes = NO_ATTRIBUTES;
  constructor(
    readonly namespaceURI: string | null,
    readonly nodeName: string,
    readonly prefix: string | null,
    readonly localName: string,
  ) {
    super();
  }
  get nodeType(): 1 {
    return 1;
  }
  get tagName(): string {
    return this.nodeName;
  }
  getAttribute(qualifiedName: string): string | null {
    for (const attr of this.attributes) if (attr.name === qualifiedName) return attr.value;
    return null;
  }
  getAttributeNS(namespace: string | null, localName: string): string | null {
    const ns = namespace || null;
    for (const attr of this.attributes) if (attr.namespaceURI === ns && attr.localName === localName) return attr.value;
    return null;
  }
  /** For the parser only. */
  addAttribute(attr: LightAttr): void {
    if (this.attributes === NO_ATTRIBUTES) this.attributes = new LightAttributes();
    this.attributes.push(attr);
  }
}

export class LightAttr {
  constructor(
    readonly namespaceURI: string | null,
    readonly name: string,
    readonly prefix: string | null,
    readonly localName: string,
    readonly value: string,
  ) {}
  get nodeType(): 2 {
    return 2;
  }
  get nodeName(): string {
    return this.name;
  }
  get nodeValue(): string {
    return this.value;
  }
}

abstract class LightCharacterData extends LightNode {
  constructor(public data: string) {
    super();
  }
  override get nodeValue(): string {
    return this.data;
  }
}

export class LightText extends LightCharacterData {
  get nodeType(): 3 {
    return 3;
  }
  get nodeName(): string {
    return '#text';
  }
}

export class LightCDATASection extends LightCharacterData {
  get nodeType(): 4 {
    return 4;
  }
  get nodeName(): string {
    return '#cdata-section';
  }
}

export class LightComment extends LightCharacterData {
  get nodeType(): 8 {
    return 8;
  }
  get nodeName(): string {
    return '#comment';
  }
}

export class LightProcessingInstruction extends LightCharacterData {
  constructor(
    readonly target: string,
    data: string,
  ) {
    super(data);
  }
  get nodeType(): 7 {
    return 7;
  }
  get nodeName(): string {
    return this.target;
  }
}

export type LightChild = LightElement | LightText | LightCDATASection | LightComment | LightProcessingInstruction;

/**
 * `element` and everything in it copied into a new xmldom Document, for what
 * needs xmldom's own DOM: xml-crypto's general canonicalisation path (a
 * transform with an InclusiveNamespaces list), which copies the node with
 * cloneNode and drops its comments by XPath. The namespaces in scope above
 * `element` are not copied: xml-crypto is handed them apart
 * (findAncestorNsForElement on the original).
 */
export function toXmldom(element: LightElement): XmldomElement {
  const doc = new DOMImplementation().createDocument(null, '');
  const copy = (node: LightChild): XmldomNode => {
    if (node instanceof LightElement) {
      const el = doc.createElementNS(node.namespaceURI, node.nodeName);
      for (const attr of node.attributes) el.setAttributeNS(attr.namespaceURI, attr.name, attr.value);
      for (const child of node.childNodes) el.appendChild(copy(child));
      return el;
    }
    if (node instanceof LightText) return doc.createTextNode(node.data);
    if (node instanceof LightCDATASection) return doc.createCDATASection(node.data);
    if (node instanceof LightComment) return doc.createComment(node.data);
    return doc.createProcessingInstruction(node.target, node.data);
  };
  const root = copy(element) as XmldomElement;
  doc.appendChild(root);
  return root;
}
