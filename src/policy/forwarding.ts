// Port forwarding policy (an access entry's `forwarding:`, docs/forwarding.md):
// destination patterns (`db.internal:5432`, `*.internal:443`,
// `10.0.0.0/8:443`, `[fd00::/8]:*`), the decision for one tunnel request
// (`ssh -L`/`-W` or `ssh -R`), and whether an entry could allow any forwarding
// at all (for the certificate's `permit-port-forwarding`). Pure; anything
// that cannot be read with certainty is a deny.
import { parseHostPort } from "./address.js";
import { type Cidr, CidrSet, ipFamily, normalizeIp, parseCidr } from "./cidr.js";
import type { AccessEntry } from "./types.js";

/** A host as the client names it: a host-name glob (`*` matches any run of characters) or an address range. */
export type HostPattern =
  | { readonly kind: "name"; readonly glob: string; readonly regex: RegExp }
  | { readonly kind: "cidr"; readonly cidr: Cidr; readonly range: CidrSet };

export interface DestinationPattern {
  /** As written in the policy, e.g. `db.internal:5432`. */
  readonly text: string;
  readonly host: HostPattern;
  /** Absent: any port (`:*`). */
  readonly port?: number;
}

/** The object form of `forwarding:`. */
export interface ForwardingRules {
  /** Destinations `ssh -L`/`-W` may reach, as the target sees them; empty: none. */
  readonly allow: readonly DestinationPattern[];
  /** `ssh -R`: the target listens and its connections come back through the client. */
  readonly remote: boolean;
}

/** `deny` (the default), `allow` (any destination, no `-R`), or the object form. */
export type ForwardingSetting = "allow" | "deny" | ForwardingRules;

export interface TunnelRequest {
  /** `local`: a direct-tcpip channel (`-L`, `-W`); `remote`: a tcpip-forward request (`-R`). */
  readonly kind: "local" | "remote";
  /** local: the destination host as the client named it; remote: the address the target would listen on. */
  readonly host: string;
  readonly port: number;
  /** The user's certificate carries `permit-port-forwarding`. */
  readonly certificatePermits: boolean;
}

export interface TunnelDecision {
  readonly decision: "allow" | "deny";
  readonly reason: string;
  /** The destination pattern (or `forwarding: allow`, `remote: allow`) that allowed it. */
  readonly matched?: string;
}

type ForwardingEntry = Pick<AccessEntry, "name" | "forwarding">;

const BRACKETED = /^\[([^\]]+)\]:([^:]+)$/;
/** A last label that a resolver may read as a number (`127.1`, `0x7f`, `2130706433`). */
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/i;

/** Parses one `allow:` destination; throws RangeError with a one-line reason. */
export function parseDestinationPattern(text: string): DestinationPattern {
  const { hostText, portText } = splitDestination(text);
  const port = portText === "*" ? undefined : parsePort(portText, text);
  return { text, host: parseHostPattern(hostText, text), ...(port === undefined ? {} : { port }) };
}

/** Decides one tunnel request under the entry that opened the session. */
export function decideTunnel(entry: ForwardingEntry, request: TunnelRequest): TunnelDecision {
  if (!request.certificatePermits) {
    return deny("the certificate lacks permit-port-forwarding");
  }
  const rules = rulesOf(entry.forwarding);
  if (rules === undefined) return deny(`forwarding is denied by ${entry.name}`);
  return request.kind === "remote"
    ? decideRemote(entry.name, rules)
    : decideLocal(entry.name, rules, request);
}

/** Whether the setting could allow some tunnel (certificates carry `permit-port-forwarding` only then). */
export function forwardsAnything(setting: ForwardingSetting): boolean {
  const rules = rulesOf(setting);
  return rules !== undefined && (rules.allow.length > 0 || rules.remote);
}

/** Whether every destination `narrow` names is also named by `wide` (for lint; conservative). */
export function destinationCovers(wide: DestinationPattern, narrow: DestinationPattern): boolean {
  if (wide.port !== undefined && wide.port !== narrow.port) return false;
  const [outer, inner] = [wide.host, narrow.host];
  if (outer.kind === "name") {
    if (outer.glob === "*" || outer.glob === narrowGlob(inner)) return true;
    return inner.kind === "name" && !inner.glob.includes("*") && outer.regex.test(inner.glob);
  }
  return (
    inner.kind === "cidr" &&
    inner.cidr.family === outer.cidr.family &&
    inner.cidr.prefix >= outer.cidr.prefix &&
    outer.range.contains(inner.cidr.address)
  );
}

/** `host:port` as written in audit lines (IPv6 in brackets). */
export function formatDestination(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

const ALLOW_ALL: ForwardingRules = {
  allow: [parseDestinationPattern("*:*")],
  remote: false,
};

function rulesOf(setting: ForwardingSetting): ForwardingRules | undefined {
  if (setting === "deny") return undefined;
  return setting === "allow" ? ALLOW_ALL : setting;
}

function decideRemote(entryName: string, rules: ForwardingRules): TunnelDecision {
  return rules.remote
    ? { decision: "allow", reason: `remote forwarding allowed by ${entryName}`, matched: "remote" }
    : deny(`remote forwarding (-R) is not allowed by ${entryName}`);
}

function decideLocal(
  entryName: string,
  rules: ForwardingRules,
  request: TunnelRequest,
): TunnelDecision {
  const host = requestedHost(request.host);
  const destination = formatDestination(request.host, request.port);
  if (host === undefined)
    return deny(`${JSON.stringify(request.host)} is not a host name or address`);
  const pattern = rules.allow.find((candidate) => matches(candidate, host, request.port));
  if (pattern === undefined) {
    return deny(`${destination} is not an allowed forwarding destination of ${entryName}`);
  }
  return {
    decision: "allow",
    reason: `${destination} allowed by ${entryName}`,
    matched: pattern.text,
  };
}

interface RequestedHost {
  /** Lower case, without a trailing dot; IPv4-mapped IPv6 as IPv4. */
  readonly text: string;
  readonly isAddress: boolean;
}

/** The host as the target will resolve it, or undefined when it is not plainly a name or an address. */
function requestedHost(host: string): RequestedHost | undefined {
  const ip = normalizeIp(host);
  if (ip !== undefined) return { text: ip.address.toLowerCase(), isAddress: true };
  const name = host.toLowerCase().replace(/\.$/, "");
  const lastLabel = name.split(".").at(-1) ?? "";
  if (NUMERIC_LABEL.test(lastLabel) || !isHostName(name)) return undefined;
  return { text: name, isAddress: false };
}

function matches(pattern: DestinationPattern, host: RequestedHost, port: number): boolean {
  if (pattern.port !== undefined && pattern.port !== port) return false;
  const { host: hostPattern } = pattern;
  if (hostPattern.kind === "name") return hostPattern.regex.test(host.text);
  return host.isAddress && hostPattern.range.contains(host.text);
}

function splitDestination(text: string): { hostText: string; portText: string } {
  const bracketed = BRACKETED.exec(text);
  if (bracketed !== null) return { hostText: bracketed[1] ?? "", portText: bracketed[2] ?? "" };
  const colon = text.lastIndexOf(":");
  const hostText = text.slice(0, colon);
  if (colon <= 0 || hostText.includes(":")) {
    throw new RangeError(
      `invalid destination ${JSON.stringify(text)}: expected host:port (IPv6 as [::1]:22, any port as :*)`,
    );
  }
  return { hostText, portText: text.slice(colon + 1) };
}

function parseHostPattern(hostText: string, text: string): HostPattern {
  if (hostText.includes("/") || ipFamily(hostText) !== undefined) {
    const cidr = parseCidr(hostText);
    return { kind: "cidr", cidr, range: new CidrSet([cidr]) };
  }
  const glob = hostText.toLowerCase().replace(/\.$/, "");
  const lastLabel = glob.split(".").at(-1) ?? "";
  if (NUMERIC_LABEL.test(lastLabel) || !isHostName(glob.replaceAll("*", "x"))) {
    throw new RangeError(
      `invalid destination ${JSON.stringify(text)}: the host must be a host name (with * wildcards), an address or a CIDR range`,
    );
  }
  const source = glob.split("*").map(escapeRegex).join(".*");
  return { kind: "name", glob, regex: new RegExp(`^${source}$`) };
}

function parsePort(portText: string, text: string): number {
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65_535) {
    throw new RangeError(
      `invalid destination ${JSON.stringify(text)}: the port must be 1-65535 or *`,
    );
  }
  return port;
}

function narrowGlob(host: HostPattern): string | undefined {
  return host.kind === "name" ? host.glob : undefined;
}

function isHostName(name: string): boolean {
  if (name.includes(":")) return false;
  try {
    parseHostPort(`${name}:1`);
    return true;
  } catch {
    return false;
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

function deny(reason: string): TunnelDecision {
  return { decision: "deny", reason };
}
