// The one place that says yes to a user: decides whether an SSH public-key
// authentication attempt with an OpenSSH user certificate is accepted
// (SPEC §4). Modelled on OpenSSH's sshkey_cert_check_authority and
// auth2-pubkey.c: the checks run in a fixed order, each refusal carries one
// code from AUTH_FAILURE_CODES, and only a verified session signature yields
// an AuthenticatedIdentity. Pure: time and trust are passed in.

import { BlockList, isIP } from "node:net";
import {
  type CertificateAlgorithm,
  certificateAlgorithm,
  quoteName,
} from "../openssh/algorithms.js";
import {
  GROUPS_EXTENSION,
  optionString,
  parseCertificate,
  type SshCertificate,
} from "../openssh/certificate.js";
import type { SshPublicKey } from "../openssh/keys.js";
import { verifySshSignature } from "../openssh/signature.js";
import { errorMessage } from "../util/errors.js";
import type { AuthFailureCode } from "./failure-codes.js";
import { secondsToDate, validityProblem } from "./validity.js";

export type { AuthFailureCode } from "./failure-codes.js";

export interface CertificateAttempt {
  /** The public key algorithm the client advertised (wire name). */
  readonly keyAlgo: string;
  /** The certificate blob the client sent. */
  readonly keyBlob: Buffer;
  /** The whole SSH signature blob; absent when the client only asks whether the key is acceptable. */
  readonly signature?: Buffer;
  /** The session data the signature covers (RFC 4252 §7). */
  readonly signedData?: Buffer;
  readonly sourceIp: string;
}

export interface CertificateTrust {
  readonly caKeys: readonly SshPublicKey[];
  readonly revocation: { isRevoked(serial: bigint, keyId: string): boolean };
  /** Tolerance applied to both ends of the validity window. */
  readonly clockSkewMs: number;
}

export interface CertificateIdentity {
  /** The certificate's single principal: who the user is. */
  readonly user: string;
  readonly groups: readonly string[];
  readonly keyId: string;
  readonly serial: bigint;
  readonly caFingerprint: string;
  readonly keyFingerprint: string;
  readonly validBefore: Date;
  readonly permitPty: boolean;
  readonly permitPortForwarding: boolean;
  /** Extensions present but not acted on (ignored, as OpenSSH does). */
  readonly unknownExtensions: readonly string[];
}

declare const authenticated: unique symbol;

/** An identity whose session signature verified: the only kind that may log a user in. */
export type AuthenticatedIdentity = CertificateIdentity & { readonly [authenticated]: true };

/** Every check passed and the session signature verified. */
export interface CertificateAccepted {
  readonly ok: true;
  readonly probe: false;
  readonly identity: AuthenticatedIdentity;
}

/** Every check passed but no signature was sent: answer "key acceptable", do not log in. */
export interface CertificateAcceptable {
  readonly ok: true;
  readonly probe: true;
  readonly identity: CertificateIdentity;
}

export interface CertificateRefused {
  readonly ok: false;
  readonly code: AuthFailureCode;
  /** One line for the audit log; never key material. */
  readonly reason: string;
  readonly keyId?: string;
  readonly serial?: bigint;
  readonly caFingerprint?: string;
}

export type CertificateDecision = CertificateAccepted | CertificateAcceptable | CertificateRefused;

const SOURCE_ADDRESS = "source-address";
const PERMIT_PTY = "permit-pty";
const PERMIT_PORT_FORWARDING = "permit-port-forwarding";
const KNOWN_EXTENSIONS: ReadonlySet<string> = new Set([
  GROUPS_EXTENSION,
  PERMIT_PTY,
  PERMIT_PORT_FORWARDING,
]);

function refuse(code: AuthFailureCode, reason: string, cert?: SshCertificate): CertificateRefused {
  if (cert === undefined) return { ok: false, code, reason };
  return {
    ok: false,
    code,
    reason,
    keyId: cert.keyId,
    serial: cert.serial,
    caFingerprint: cert.signatureKey.fingerprint,
  };
}

interface Checked {
  readonly certificate: SshCertificate;
  readonly algorithm: CertificateAlgorithm;
  readonly identity: CertificateIdentity;
}

function parseAttempt(
  attempt: CertificateAttempt,
): CertificateRefused | { certificate: SshCertificate; algorithm: CertificateAlgorithm } {
  const algorithm = certificateAlgorithm(attempt.keyAlgo);
  if (algorithm === undefined) {
    return refuse(
      "not_a_certificate",
      `key algorithm ${quoteName(attempt.keyAlgo)} is not a supported certificate`,
    );
  }
  let certificate: SshCertificate;
  try {
    certificate = parseCertificate(attempt.keyBlob);
  } catch (error) {
    return refuse("malformed", `certificate does not parse: ${errorMessage(error)}`);
  }
  if (certificate.algorithm !== algorithm.key.certificateType) {
    return refuse(
      "algorithm_mismatch",
      `advertised ${quoteName(attempt.keyAlgo)} but sent ${certificate.algorithm}`,
      certificate,
    );
  }
  return { certificate, algorithm };
}

function checkAuthority(
  cert: SshCertificate,
  trust: CertificateTrust,
): CertificateRefused | undefined {
  const ca = cert.signatureKey;
  if (!trust.caKeys.some((key) => key.blob.equals(ca.blob))) {
    return refuse("untrusted_ca", `certificate signed by untrusted CA ${ca.fingerprint}`, cert);
  }
  if (!verifySshSignature(ca, cert.signature, cert.signedData)) {
    return refuse("bad_ca_signature", `CA signature does not verify (CA ${ca.fingerprint})`, cert);
  }
  return cert.type === "user"
    ? undefined
    : refuse("not_user_certificate", "host certificate offered for user authentication", cert);
}

function checkValidity(
  cert: SshCertificate,
  trust: CertificateTrust,
  now: Date,
): CertificateRefused | undefined {
  const problem = validityProblem(cert, now, trust.clockSkewMs);
  if (problem === "not_yet_valid") {
    const from = secondsToDate(cert.validAfter).toISOString();
    return refuse(problem, `certificate not valid before ${from}`, cert);
  }
  if (problem === "expired") {
    const until = secondsToDate(cert.validBefore).toISOString();
    return refuse(problem, `certificate expired at ${until}`, cert);
  }
  return undefined;
}

function checkPrincipals(cert: SshCertificate): CertificateRefused | undefined {
  const principals = cert.principals;
  if (principals.length === 0 || principals[0] === "") {
    return refuse("no_principals", "certificate names no principal", cert);
  }
  if (principals.length > 1) {
    return refuse(
      "ambiguous_principals",
      `certificate names ${principals.length} principals; exactly one is required`,
      cert,
    );
  }
  return undefined;
}

/** Parses an OpenSSH source-address list (comma-separated addresses and CIDR blocks). */
function parseSourceAddressList(list: string): BlockList | undefined {
  const blocks = new BlockList();
  for (const entry of list.split(",")) {
    const [address = "", prefix, ...extra] = entry.trim().split("/");
    const family = isIP(address);
    if (family === 0 || extra.length > 0) return undefined;
    const type = family === 4 ? "ipv4" : "ipv6";
    if (prefix === undefined) {
      blocks.addAddress(address, type);
      continue;
    }
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    if (!(bits <= (family === 4 ? 32 : 128))) return undefined;
    blocks.addSubnet(address, bits, type);
  }
  return blocks;
}

function sourceAddressMatches(blocks: BlockList, sourceIp: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(sourceIp);
  const address = mapped?.[1] ?? sourceIp;
  const family = isIP(address);
  if (family === 0) return false;
  return blocks.check(address, family === 4 ? "ipv4" : "ipv6");
}

function checkCriticalOptions(
  cert: SshCertificate,
  sourceIp: string,
): CertificateRefused | undefined {
  for (const [name, data] of cert.criticalOptions) {
    if (name !== SOURCE_ADDRESS) {
      return refuse(
        "unknown_critical_option",
        `unsupported critical option ${quoteName(name)}`,
        cert,
      );
    }
    const blocks = parseSourceAddressList(optionString(data));
    if (blocks === undefined)
      return refuse("malformed", "certificate source-address list is invalid", cert);
    if (!sourceAddressMatches(blocks, sourceIp)) {
      return refuse(
        "source_address_mismatch",
        `source address ${sourceIp} not allowed by certificate`,
        cert,
      );
    }
  }
  return undefined;
}

function checkRevocation(
  cert: SshCertificate,
  trust: CertificateTrust,
): CertificateRefused | undefined {
  if (!trust.revocation.isRevoked(cert.serial, cert.keyId)) return undefined;
  return refuse("revoked", "certificate is revoked", cert);
}

function groupsOf(cert: SshCertificate): readonly string[] {
  const data = cert.extensions.get(GROUPS_EXTENSION);
  if (data === undefined) return [];
  return Object.freeze(
    optionString(data)
      .split(",")
      .map((group) => group.trim())
      .filter(Boolean),
  );
}

function identityOf(cert: SshCertificate): CertificateIdentity {
  return Object.freeze({
    user: cert.principals[0] ?? "",
    groups: groupsOf(cert),
    keyId: cert.keyId,
    serial: cert.serial,
    caFingerprint: cert.signatureKey.fingerprint,
    keyFingerprint: cert.key.fingerprint,
    validBefore: secondsToDate(cert.validBefore),
    permitPty: cert.extensions.has(PERMIT_PTY),
    permitPortForwarding: cert.extensions.has(PERMIT_PORT_FORWARDING),
    unknownExtensions: Object.freeze(
      [...cert.extensions.keys()].filter((name) => !KNOWN_EXTENSIONS.has(name)),
    ),
  });
}

/** Every check except the session signature, in OpenSSH's order. */
function checkCertificate(
  attempt: CertificateAttempt,
  trust: CertificateTrust,
  now: Date,
): CertificateRefused | Checked {
  const parsed = parseAttempt(attempt);
  if ("code" in parsed) return parsed;
  const cert = parsed.certificate;
  const refusal =
    checkAuthority(cert, trust) ??
    checkValidity(cert, trust, now) ??
    checkPrincipals(cert) ??
    checkCriticalOptions(cert, attempt.sourceIp) ??
    checkRevocation(cert, trust);
  return refusal ?? { ...parsed, identity: identityOf(cert) };
}

function sessionSignatureVerifies(attempt: CertificateAttempt, checked: Checked): boolean {
  const { signature, signedData } = attempt;
  if (signature === undefined || signedData === undefined) return false;
  const expected = checked.algorithm.sessionSignatureAlgorithm;
  return verifySshSignature(checked.certificate.key, signature, signedData, expected);
}

/**
 * Decides a public-key authentication attempt. Without `signature` the
 * result is at best a probe ("key acceptable"); only `{ ok: true, probe: false }`
 * carries an AuthenticatedIdentity and may log the user in.
 */
export function decideUserCertificate(
  attempt: CertificateAttempt,
  trust: CertificateTrust,
  now: Date,
): CertificateDecision {
  const checked = checkCertificate(attempt, trust, now);
  if ("code" in checked) return checked;
  if (attempt.signature === undefined) return { ok: true, probe: true, identity: checked.identity };
  if (!sessionSignatureVerifies(attempt, checked)) {
    return refuse(
      "bad_signature",
      "session signature does not verify with the certified key",
      checked.certificate,
    );
  }
  return { ok: true, probe: false, identity: checked.identity as AuthenticatedIdentity };
}
