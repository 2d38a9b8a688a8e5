// A certificate's validity window with clock skew tolerated at both ends,
// shared by the user and host certificate decisions (OpenSSH's order: not
// before, then not after).

import type { SshCertificate } from "../openssh/certificate.js";

const MAX_DATE_MS = 8_640_000_000_000_000n;

export function secondsToDate(seconds: bigint): Date {
  const ms = seconds * 1000n;
  return new Date(Number(ms > MAX_DATE_MS ? MAX_DATE_MS : ms));
}

/** Why `cert` is not valid at `now`, or undefined when it is. */
export function validityProblem(
  cert: SshCertificate,
  now: Date,
  clockSkewMs: number,
): "not_yet_valid" | "expired" | undefined {
  const nowMs = BigInt(now.getTime());
  const skewMs = BigInt(Math.max(0, Math.floor(clockSkewMs)));
  if (cert.validAfter * 1000n > nowMs + skewMs) return "not_yet_valid";
  if (nowMs - skewMs >= cert.validBefore * 1000n) return "expired";
  return undefined;
}
