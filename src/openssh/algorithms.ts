// Algorithm facts in one table: which SSH key types Portcullis understands,
// how they appear in public blobs, certificates and signatures. Everything
// not listed here is unsupported (DSA, SHA-1 RSA signatures, FIDO keys).

export type KeyKind = "ed25519" | "ecdsa" | "rsa";

export interface KeyAlgorithm {
  /** Public key type name, e.g. "ecdsa-sha2-nistp256". */
  readonly type: string;
  readonly kind: KeyKind;
  /** Name of the certificate blob type for this key, e.g. "ssh-ed25519-cert-v01@openssh.com". */
  readonly certificateType: string;
  /** Length-prefixed fields that follow the type name in a public key blob. */
  readonly publicFieldCount: number;
  /** Signature algorithms a key of this type may verify. */
  readonly signatureAlgorithms: readonly string[];
  /** Signature algorithm used when Portcullis signs with such a key. */
  readonly signingAlgorithm: string;
  /** ECDSA only: the curve name inside the blob, its JWK name and coordinate size. */
  readonly curve?: { readonly sshName: string; readonly jwkName: string; readonly bytes: number };
}

export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 16384;
export const CERTIFICATE_SUFFIX = "-cert-v01@openssh.com";

function ecdsa(sshName: string, jwkName: string, bytes: number): KeyAlgorithm {
  const type = `ecdsa-sha2-${sshName}`;
  return {
    type,
    kind: "ecdsa",
    certificateType: `${type}${CERTIFICATE_SUFFIX}`,
    publicFieldCount: 2,
    signatureAlgorithms: [type],
    signingAlgorithm: type,
    curve: { sshName, jwkName, bytes },
  };
}

const KEY_ALGORITHMS: readonly KeyAlgorithm[] = [
  {
    type: "ssh-ed25519",
    kind: "ed25519",
    certificateType: `ssh-ed25519${CERTIFICATE_SUFFIX}`,
    publicFieldCount: 1,
    signatureAlgorithms: ["ssh-ed25519"],
    signingAlgorithm: "ssh-ed25519",
  },
  ecdsa("nistp256", "P-256", 32),
  ecdsa("nistp384", "P-384", 48),
  ecdsa("nistp521", "P-521", 66),
  {
    type: "ssh-rsa",
    kind: "rsa",
    certificateType: `ssh-rsa${CERTIFICATE_SUFFIX}`,
    publicFieldCount: 2,
    signatureAlgorithms: ["rsa-sha2-256", "rsa-sha2-512"],
    signingAlgorithm: "rsa-sha2-512",
  },
];

/** Hash used by each signature algorithm (null: the algorithm hashes internally). */
const SIGNATURE_HASHES: ReadonlyMap<string, string | null> = new Map([
  ["ssh-ed25519", null],
  ["ecdsa-sha2-nistp256", "sha256"],
  ["ecdsa-sha2-nistp384", "sha384"],
  ["ecdsa-sha2-nistp521", "sha512"],
  ["rsa-sha2-256", "sha256"],
  ["rsa-sha2-512", "sha512"],
]);

export interface CertificateAlgorithm {
  readonly key: KeyAlgorithm;
  /** For RSA certificates advertised as rsa-sha2-*: the signature algorithm the session must use. */
  readonly sessionSignatureAlgorithm?: string;
}

const byType = new Map(KEY_ALGORITHMS.map((algorithm) => [algorithm.type, algorithm]));
const byCertificateType = new Map(KEY_ALGORITHMS.map((a) => [a.certificateType, a]));

function rsaCertificateAlias(signature: string): [string, CertificateAlgorithm] {
  const rsa = byType.get("ssh-rsa") as KeyAlgorithm;
  return [`${signature}${CERTIFICATE_SUFFIX}`, { key: rsa, sessionSignatureAlgorithm: signature }];
}

/** Every certificate algorithm name a client may advertise, including the rsa-sha2 aliases. */
const CERTIFICATE_ALGORITHMS: ReadonlyMap<string, CertificateAlgorithm> = new Map([
  ...KEY_ALGORITHMS.map((key): [string, CertificateAlgorithm] => [key.certificateType, { key }]),
  rsaCertificateAlias("rsa-sha2-256"),
  rsaCertificateAlias("rsa-sha2-512"),
]);

export function keyAlgorithm(type: string): KeyAlgorithm | undefined {
  return byType.get(type);
}

/** The key algorithm of a certificate blob type name (the name inside the blob). */
export function keyAlgorithmForCertificateType(certificateType: string): KeyAlgorithm | undefined {
  return byCertificateType.get(certificateType);
}

/** The certificate algorithm a client advertised (wire name, aliases included). */
export function certificateAlgorithm(name: string): CertificateAlgorithm | undefined {
  return CERTIFICATE_ALGORITHMS.get(name);
}

export function signatureHash(signatureAlgorithm: string): string | null | undefined {
  return SIGNATURE_HASHES.get(signatureAlgorithm);
}

/** Quotes an untrusted name for an error message, bounded in length. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}
