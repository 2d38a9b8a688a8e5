// Clock skew between this machine and the identity provider or the bastion:
// the server's Date header, the token's `iat` and the certificate's
// validity window compared with the local time, and durations written for people ("7h59m"). Pure: `now`
// is passed in.

import { PortcullisError } from "../util/errors.js";

/** More than this between a fresh token's `iat` and the local clock is reported as skew. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

const FIX = "fix this machine's clock (e.g. enable NTP) and run portcullis login again";

/** `1h02m`, `4m10s`, `35s`: at most two units, never negative. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  const pad = (value: number) => String(value).padStart(2, "0");
  if (hours > 0) return `${hours}h${pad(minutes)}m`;
  if (minutes > 0) return `${minutes}m${pad(rest)}s`;
  return `${rest}s`;
}

function skewError(offsetMs: number, reference: string, now: Date): PortcullisError {
  const direction = offsetMs > 0 ? "ahead of" : "behind";
  return new PortcullisError(
    "ERR_LOGIN_CLOCK_SKEW",
    `this machine's clock (${now.toISOString()}) is about ${formatDuration(Math.abs(offsetMs))} ${direction} ${reference}: ${FIX}`,
  );
}

/** Throws when `reference` (another machine's "now", e.g. a server's Date header) is too far from `now`. */
export function checkClock(reference: Date, now: Date, whose: string): void {
  const offsetMs = now.getTime() - reference.getTime();
  if (Math.abs(offsetMs) > MAX_CLOCK_SKEW_MS) throw skewError(offsetMs, whose, now);
}

/** Throws when a token issued just now (`iat`, seconds) is too far from the local clock. */
export function checkTokenClock(issuedAtSeconds: number, now: Date): void {
  checkClock(new Date(issuedAtSeconds * 1000), now, "the identity provider's");
}

/** Throws when a certificate issued just now is not valid by the local clock. */
export function checkCertificateClock(validAfter: Date, validBefore: Date, now: Date): void {
  if (now < validAfter) throw skewError(now.getTime() - validAfter.getTime(), "the bastion's", now);
  if (now >= validBefore) {
    throw skewError(now.getTime() - validBefore.getTime(), "the bastion's", now);
  }
}
