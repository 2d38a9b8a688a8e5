// Doctor: each configured OIDC issuer answers its discovery document (with
// its own issuer in it, as token verification requires), and this machine's
// clock agrees with the first issuer's HTTP Date header within ca.clock_skew.
// `fetchDiscovery` does the request; the judges are pure.

import type { Config } from "../config/index.js";
import { formatDuration } from "../login/clock.js";
import { errorMessage } from "../util/errors.js";
import { type CheckResult, fail, ok, skip, warn } from "./check.js";

const TIMEOUT_MS = 5_000;
/** The Date header counts whole seconds. */
const DATE_RESOLUTION_MS = 1_000;

export interface DiscoveryAnswer {
  readonly issuer: string;
  /** Local clock when the request left and when the answer arrived (ms since the epoch). */
  readonly sentAt: number;
  readonly receivedAt: number;
  readonly status?: number;
  /** The Date header. */
  readonly date?: string;
  readonly document?: unknown;
  /** Why there is no answer (network error, timeout, not JSON). */
  readonly error?: string;
}

export async function fetchDiscovery(
  issuer: string,
  timeoutMs = TIMEOUT_MS,
  now: () => number = Date.now,
): Promise<DiscoveryAnswer> {
  const url = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  const sentAt = now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const receivedAt = now();
    const date = response.headers.get("date") ?? undefined;
    const answer = { issuer, sentAt, receivedAt, status: response.status, date };
    if (!response.ok) return answer;
    return { ...answer, document: await response.json() };
  } catch (error) {
    return { issuer, sentAt, receivedAt: now(), error: fetchProblem(error, timeoutMs) };
  }
}

/** `ECONNREFUSED`, `ENOTFOUND`, `no answer within 5 s`: fetch's own message is only "fetch failed". */
function fetchProblem(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === "TimeoutError") {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? errorMessage(error);
}

/** Every issuer the bastion trusts: the people's (`oidc.issuer`), then the workloads'. */
export function configuredIssuers(config: Config): string[] {
  const { oidc } = config;
  if (oidc === undefined) return [];
  return [...new Set([oidc.issuer, ...oidc.workloads.map((workload) => workload.issuer)])];
}

export function judgeDiscovery(answer: DiscoveryAnswer): CheckResult {
  const check = `identity provider ${answer.issuer}`;
  const fix = "check the URL, DNS, the firewall and any proxy between the bastion and the IdP";
  if (answer.error !== undefined) return fail(check, `unreachable (${answer.error}): ${fix}`);
  if (answer.document === undefined) {
    return fail(check, `discovery document answered HTTP ${answer.status}: ${fix}`);
  }
  const published = (answer.document as { issuer?: unknown }).issuer;
  if (published !== answer.issuer) {
    return fail(
      check,
      `its discovery document names the issuer ${JSON.stringify(published)}: set the issuer exactly so (trailing slash included)`,
    );
  }
  return ok(check, `discovery document in ${answer.receivedAt - answer.sentAt} ms`);
}

/** Compares the local clock with the issuer's Date header; the margin covers the round trip and the header's rounding. */
export function judgeClockSkew(
  answer: DiscoveryAnswer | undefined,
  toleranceMs: number,
): CheckResult {
  const check = "clock";
  if (answer === undefined) return skip(check, "no oidc issuer to compare with");
  if (answer.error !== undefined) return skip(check, `${answer.issuer} unreachable, not compared`);
  const serverTime = answer.date === undefined ? Number.NaN : Date.parse(answer.date);
  if (Number.isNaN(serverTime)) {
    return warn(check, `${answer.issuer} sent no usable Date header; compare with NTP by hand`);
  }
  const localMidpoint = (answer.sentAt + answer.receivedAt) / 2;
  const offset = localMidpoint - (serverTime + DATE_RESOLUTION_MS / 2);
  const margin = (answer.receivedAt - answer.sentAt) / 2 + DATE_RESOLUTION_MS / 2;
  const skew = Math.max(0, Math.abs(offset) - margin);
  const direction = offset > 0 ? "ahead of" : "behind";
  if (skew > toleranceMs) {
    return warn(
      check,
      `about ${formatDuration(skew)} ${direction} ${answer.issuer}, more than ca.clock_skew (${formatDuration(toleranceMs)}): enable NTP (timedatectl set-ntp true)`,
    );
  }
  return ok(check, `within ${formatDuration(Math.abs(offset) + margin)} of ${answer.issuer}`);
}
