/**
 * Certificate problems as the administrator reads them: which file, which certificate in it, what is
 * wrong and what to do. One code per kind of problem, so that tests, logs and the audit trail can tell
 * them apart without parsing sentences.
 */
import path from 'node:path';

export interface CertificateProblem {
  /** Stable identifier, e.g. 'CERT_EXPIRED'. */
  code: string;
  /** Absolute path of the file concerned. */
  file?: string;
  /** Which certificate, by subject CN. */
  certificate?: string;
  /** What is wrong; starts with the file's name when there is a file. */
  message: string;
  /** What to do about it. */
  advice: string;
}

/** Expected certificate failures; the CLI turns them into exit status 2, never a stack trace. */
export class CertificateError extends Error {
  constructor(readonly problems: CertificateProblem[]) {
    super(problems.map(describeProblem).join('\n'));
    this.name = 'CertificateError';
  }
}

export const PROBLEM = {
  // Reading files
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  FILE_UNREADABLE: 'FILE_UNREADABLE',
  FILE_EMPTY: 'FILE_EMPTY',
  CERT_FILE_HOLDS_KEY: 'CERT_FILE_HOLDS_KEY',
  CERT_FILE_IS_PKCS12: 'CERT_FILE_IS_PKCS12',
  CERT_FILE_IS_CSR: 'CERT_FILE_IS_CSR',
  CERT_FORMAT_UNKNOWN: 'CERT_FORMAT_UNKNOWN',
  CERT_UNPARSABLE: 'CERT_UNPARSABLE',
  KEY_FILE_HOLDS_CERT: 'KEY_FILE_HOLDS_CERT',
  KEY_FILE_IS_PKCS12: 'KEY_FILE_IS_PKCS12',
  KEY_FORMAT_UNKNOWN: 'KEY_FORMAT_UNKNOWN',
  KEY_PASSPHRASE_MISSING: 'KEY_PASSPHRASE_MISSING',
  KEY_PASSPHRASE_WRONG: 'KEY_PASSPHRASE_WRONG',
  PFX_UNREADABLE: 'PFX_UNREADABLE',
  PFX_UNSUPPORTED: 'PFX_UNSUPPORTED',
  PFX_PASSPHRASE_MISSING: 'PFX_PASSPHRASE_MISSING',
  PFX_PASSPHRASE_WRONG: 'PFX_PASSPHRASE_WRONG',
  PFX_NO_KEY: 'PFX_NO_KEY',
  PFX_NO_CERT: 'PFX_NO_CERT',
  ANCHORS_EMPTY: 'ANCHORS_EMPTY',
  ANCHORS_NO_ROOT: 'ANCHORS_NO_ROOT',
  // Judging the client certificate
  LEAF_NOT_FOUND: 'LEAF_NOT_FOUND',
  LEAF_AMBIGUOUS: 'LEAF_AMBIGUOUS',
  KEY_MISMATCH: 'KEY_MISMATCH',
  EKU_NO_CLIENT_AUTH: 'EKU_NO_CLIENT_AUTH',
  EKU_NO_SERVER_AUTH: 'EKU_NO_SERVER_AUTH',
  KEY_TOO_WEAK: 'KEY_TOO_WEAK',
  KEY_TYPE_UNSUPPORTED: 'KEY_TYPE_UNSUPPORTED',
  OIN_MISSING: 'OIN_MISSING',
  OIN_INVALID: 'OIN_INVALID',
  OIN_MISMATCH: 'OIN_MISMATCH',
  // The chain
  CERT_EXPIRED: 'CERT_EXPIRED',
  CERT_NOT_YET_VALID: 'CERT_NOT_YET_VALID',
  CHAIN_INCOMPLETE: 'CHAIN_INCOMPLETE',
  CHAIN_SIGNATURE_INVALID: 'CHAIN_SIGNATURE_INVALID',
  CHAIN_ISSUER_NOT_CA: 'CHAIN_ISSUER_NOT_CA',
  CHAIN_ROOT_NOT_TRUSTED: 'CHAIN_ROOT_NOT_TRUSTED',
  CHAIN_TOO_LONG: 'CHAIN_TOO_LONG',
  SIGNATURE_WEAK: 'SIGNATURE_WEAK',
  ROOT_UNKNOWN: 'ROOT_UNKNOWN',
  // Warnings (the certificate is still usable)
  ROOT_UNKNOWN_ALLOWED: 'ROOT_UNKNOWN_ALLOWED',
  G1_ROOT_EXPIRES: 'G1_ROOT_EXPIRES',
  CHAIN_EXPIRES_BEFORE_LEAF: 'CHAIN_EXPIRES_BEFORE_LEAF',
  KEY_CANNOT_SIGN_EDUKOPPELING: 'KEY_CANNOT_SIGN_EDUKOPPELING',
  CERT_EXPIRES_SOON: 'CERT_EXPIRES_SOON',
} as const;

export type ProblemCode = (typeof PROBLEM)[keyof typeof PROBLEM];

/** One line: what is wrong, then what to do. */
export function describeProblem(p: CertificateProblem): string {
  return `${p.message} — ${p.advice}`;
}

/** Where a problem is: the file (absolute) and, when it is about one certificate, that certificate's name. */
export interface ProblemPlace {
  file?: string | undefined;
  certificate?: string | undefined;
}

/**
 * The one way problems are made, so that every message starts with the file's name (the
 * administrator may have several certificate files open) and the place is also kept as data.
 */
export function problemAt(code: string, place: ProblemPlace, message: string, advice: string): CertificateProblem {
  const { file, certificate } = place;
  return {
    code,
    ...(file !== undefined && { file }),
    ...(certificate !== undefined && { certificate }),
    message: file ? `${path.basename(file)}: ${message}` : message,
    advice,
  };
}
