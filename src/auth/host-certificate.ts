// The one place that decides whether an upstream target's OpenSSH *host*
// certificate is good, for targets trusted by `host_ca` instead of a pinned
// key (SPEC §1, §5.1). Checks in OpenSSH's order (sshkey_cert_check_host):
// parses → is a host certificate → signed by the target's host CA → CA
// signature verifies → within its validity window → names the target →
// carries no critical option. The key-exchange signature itself is checked
// by the (patched) ssh2 client with the certified key. Pure: time is passed in.

import { parseCertificate, type SshCertificate } from "../openssh/certificate.js";
import type { SshPublicKey } from "../openssh/keys.js";
import { verifySshSignature } from "../openssh/signature.js";
import { errorMessage } from "../util/errors.js";
import { validityProblem } from "./validity.js";

export interface HostCertificateTrust {
  readonly hostCa: SshPublicKey;
  /** Names the certificate must list one of as a principal (address host, target name). */
  readonly hostNames: readonly string[];
  readonly clockSkewMs: number;
}

export type HostCertificateDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string };

export function decideHostCertificate(
  blob: Buffer,
  trust: HostCertificateTrust,
  now: Date,
): HostCertificateDecision {
  let cert: SshCertificate;
  try {
    cert = parseCertificate(blob);
  } catch (error) {
    return { ok: false, reason: `host certificate does not parse: ${errorMessage(error)}` };
  }
  const reason =
    authorityProblem(cert, trust) ?? validityText(cert, trust, now) ?? nameProblem(cert, trust);
  return reason === undefined ? { ok: true } : { ok: false, reason };
}

function authorityProblem(cert: SshCertificate, trust: HostCertificateTrust): string | undefined {
  if (cert.type !== "host") return "the target presented a user certificate as its host key";
  if (!cert.signatureKey.blob.equals(trust.hostCa.blob)) {
    return `host certificate is signed by ${cert.signatureKey.fingerprint}, not by the target's host_ca`;
  }
  if (!verifySshSignature(cert.signatureKey, cert.signature, cert.signedData)) {
    return "host certificate's CA signature does not verify";
  }
  return undefined;
}

function validityText(
  cert: SshCertificate,
  trust: HostCertificateTrust,
  now: Date,
): string | undefined {
  const problem = validityProblem(cert, now, trust.clockSkewMs);
  if (problem === "not_yet_valid") return "host certificate is not yet valid";
  if (problem === "expired") return "host certificate has expired";
  return undefined;
}

function nameProblem(cert: SshCertificate, trust: HostCertificateTrust): string | undefined {
  if (cert.criticalOptions.size > 0) return "host certificate carries critical options";
  if (!cert.principals.some((principal) => trust.hostNames.includes(principal))) {
    return `host certificate is not valid for ${trust.hostNames.join(" or ")}`;
  }
  return undefined;
}
