/**
 * The fixed vocabulary of the Edukoppeling (Digikoppeling WUS) transport:
 * SOAP, WS-Addressing, WS-Security and XML-DSig namespaces and algorithm
 * identifiers. None of this depends on the verzuim contract (that lives in
 * contract.ts); it is what DUO's gateway speaks for every service.
 */

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

export const ALG = {
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
} as const;

export const TOKEN = {
  x509v3: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3',
  base64Binary: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary',
} as const;

/** `wsa:From`/`wsa:To` address of a party known only by its OIN. */
export const ANONYMOUS = 'http://www.w3.org/2005/08/addressing/anonymous';

/** The WS-Addressing headers the relay sends, all signed, in this order. */
export const REQUEST_ADDRESSING = ['To', 'Action', 'MessageID', 'From'] as const;
/** The WS-Addressing headers a response must carry signed. */
export const RESPONSE_ADDRESSING = ['To', 'Action', 'MessageID', 'RelatesTo', 'From'] as const;

/** Lifetime of a request's wsu:Timestamp (rule 6: 5 minutes, never more than 10). */
export const TIMESTAMP_LIFETIME_MS = 5 * 60 * 1000;
