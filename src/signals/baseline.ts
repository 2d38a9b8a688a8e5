// A user's behavioural baseline (docs/signals.md "Behavioural signals"):
// what their sessions in the lookback say is usual — targets and their
// labels, source networks, start hours, download volume. Pure: the caller
// reads the history from the index (AuditIndex.userHistory) and passes it in.
import { normalizeIp } from "../policy/cidr.js";
import { localClock } from "../policy/schedule.js";
import type { HistorySession } from "../store/types.js";
import type { Baseline } from "./types.js";

export interface BaselineOptions {
  /** The span the history covers, ms (kept for reasons: "in 30 days"). */
  readonly lookbackMs: number;
  /** IANA zone the start hours are counted in (`signals.business_hours`' zone); default UTC. */
  readonly timeZone?: string;
}

/** A target's labels as the policy has them now (undefined: the target is gone). */
export type LabelsOf = (target: string) => ReadonlyMap<string, string> | undefined;

const HOURS_PER_DAY = 24;
const P90 = 0.9;

export function buildBaseline(
  history: readonly HistorySession[],
  labelsOf: LabelsOf,
  options: BaselineOptions,
): Baseline {
  const targets = new Set(history.flatMap((session) => session.target ?? []));
  const networks = new Set(history.flatMap((session) => networkOf(session.sourceIp ?? "") ?? []));
  const startHours = new Array<number>(HOURS_PER_DAY).fill(0);
  for (const session of history) {
    const { hour } = localClock(session.startedAt, options.timeZone);
    startHours[hour] = (startHours[hour] ?? 0) + 1;
  }
  return {
    sessions: history.length,
    targets,
    labels: labelsOfTargets(targets, labelsOf),
    networks,
    startHours,
    downloadP90: percentile(
      history.map((session) => session.bytesDown),
      P90,
    ),
    lookbackMs: options.lookbackMs,
  };
}

/** `key=value` for every label of the targets (as the policy labels them now). */
function labelsOfTargets(targets: ReadonlySet<string>, labelsOf: LabelsOf): Set<string> {
  const labels = new Set<string>();
  for (const target of targets) {
    for (const [key, value] of labelsOf(target) ?? []) labels.add(labelText(key, value));
  }
  return labels;
}

export function labelText(key: string, value: string): string {
  return `${key}=${value}`;
}

/** Nearest-rank percentile (`fraction` in (0, 1]): the smallest value ≥ that share of the values; 0 for none. */
export function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(fraction * sorted.length) - 1] ?? 0;
}

/**
 * The network an address belongs to for "new network": its IPv4 /24
 * (`10.1.2.0/24`) or IPv6 /64 (`2001:db8:1:2::/64`, canonical text); an
 * IPv4-mapped IPv6 address counts as IPv4. Undefined when `ip` is not an address.
 */
export function networkOf(ip: string): string | undefined {
  const normalized = normalizeIp(ip);
  if (normalized === undefined) return undefined;
  if (normalized.family === "ipv4") {
    return `${normalized.address.split(".").slice(0, 3).join(".")}.0/24`;
  }
  const prefix = ipv6Hextets(normalized.address).slice(0, 4);
  return `${canonicalIpv6([...prefix, "0", "0", "0", "0"].join(":"))}/64`;
}

/** RFC 5952 text (lower case, longest zero run as `::`), by the WHATWG URL host serializer. */
function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** The eight hextets of an IPv6 address (its canonical text has no embedded IPv4 part). */
function ipv6Hextets(address: string): string[] {
  const [head = "", tail] = canonicalIpv6(address).split("::");
  const split = (part: string | undefined) => (part ? part.split(":") : []);
  const left = split(head);
  const right = split(tail);
  return [...left, ...new Array<string>(8 - left.length - right.length).fill("0"), ...right];
}
