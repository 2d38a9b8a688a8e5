// A user's behavioural baseline (docs/signals.md "Behavioural signals"):
// what their sessions in the lookback say is usual — targets and their
// labels, source networks (grouped as `new_network` says), start hours,
// download volume. Pure: the caller reads the history from the index
// (AuditIndex.userHistory) and passes it in.
import { type Cidr, CidrSet, type IpFamily, normalizeIp } from "../policy/cidr.js";
import { localClock } from "../policy/schedule.js";
import type { NewNetworkSettings } from "../policy/types.js";
import type { HistorySession } from "../store/types.js";
import type { Baseline } from "./types.js";

export interface BaselineOptions {
  /** The span the history covers, ms (kept for reasons: "in 30 days"). */
  readonly lookbackMs: number;
  /** IANA zone the start hours are counted in (`signals.business_hours`' zone); default UTC. */
  readonly timeZone?: string;
  /** How source addresses group into networks (`signals.behaviour.new_network`). */
  readonly networkGrouping: NetworkGrouping;
}

/** The part of `signals.behaviour.new_network` that says what one network is. */
export type NetworkGrouping = Pick<NewNetworkSettings, "networks" | "ipv4_prefix" | "ipv6_prefix">;

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
  const network = networkOf(options.networkGrouping);
  const networks = new Set(history.flatMap((session) => network(session.sourceIp ?? "") ?? []));
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

/** Bits per group of an address's text: IPv4 octets, IPv6 hextets. */
const GROUP_BITS: Readonly<Record<IpFamily, number>> = { ipv4: 8, ipv6: 16 };

/**
 * The network an address belongs to for "new network" under `grouping`: the
 * most specific of its `networks` holding the address, else the address's
 * IPv4 /`ipv4_prefix` or IPv6 /`ipv6_prefix` (by default `10.1.2.0/24`,
 * `2001:db8:1:2::/64`). Named in canonical CIDR text, host bits cleared; an
 * IPv4-mapped IPv6 address counts as IPv4. Undefined when `ip` is not an address.
 */
export function networkOf(grouping: NetworkGrouping): (ip: string) => string | undefined {
  const named = [...grouping.networks]
    .sort((a, b) => b.prefix - a.prefix)
    .map((cidr) => ({ name: cidrText(cidr), cidrs: new CidrSet([cidr]) }));
  const prefix: Readonly<Record<IpFamily, number>> = {
    ipv4: grouping.ipv4_prefix,
    ipv6: grouping.ipv6_prefix,
  };
  return (ip) => {
    const address = normalizeIp(ip);
    if (address === undefined) return undefined;
    const network = named.find(({ cidrs }) => cidrs.contains(ip));
    return network?.name ?? cidrText({ ...address, prefix: prefix[address.family] });
  };
}

/** `address/prefix` with the host bits cleared, in canonical text: `10.8.0.0/16`, `2001:db8::/48`. */
function cidrText({ address, family, prefix }: Cidr): string {
  const bits = GROUP_BITS[family];
  const groups = family === "ipv4" ? address.split(".").map(Number) : ipv6Groups(address);
  const network = groups.map((group, index) => {
    const hostBits = bits - Math.min(Math.max(prefix - index * bits, 0), bits);
    return (group >> hostBits) << hostBits;
  });
  const text =
    family === "ipv4"
      ? network.join(".")
      : canonicalIpv6(network.map((group) => group.toString(16)).join(":"));
  return `${text}/${prefix}`;
}

/** RFC 5952 text (lower case, longest zero run as `::`), by the WHATWG URL host serializer. */
function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** The eight 16-bit groups of an IPv6 address (its canonical text has no embedded IPv4 part). */
function ipv6Groups(address: string): number[] {
  const [head = "", tail] = canonicalIpv6(address).split("::");
  const split = (part: string | undefined) =>
    part ? part.split(":").map((group) => Number.parseInt(group, 16)) : [];
  const left = split(head);
  const right = split(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
