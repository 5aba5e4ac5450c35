/** PEM text from DER bytes: base64 in 64-character lines between BEGIN/END markers. */
export function toPem(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function certificatePem(der: Uint8Array): string {
  return toPem(der, 'CERTIFICATE');
}
