// IP address and CIDR handling for access entries' `from` lists. The only
// file in src/policy that touches node:net, and only its pure BlockList.
// IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) are treated as IPv4.
import { BlockList } from "node:net";

export type IpFamily = "ipv4" | "ipv6";

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: IpFamily;
}

const MAX_PREFIX: Readonly<Record<IpFamily, number>> = { ipv4: 32, ipv6: 128 };

/** The family of a literal IP address (no zone id), or undefined if it is not one. */
export function ipFamily(address: string): IpFamily | undefined {
  if (address.includes("%")) return undefined;
  const family: IpFamily = address.includes(":") ? "ipv6" : "ipv4";
  try {
    new BlockList().addAddress(address, family);
    return family;
  } catch {
    return undefined;
  }
}

/** Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a single host). */
export function parseCidr(text: string): Cidr {
  const [address = "", prefixText, ...rest] = text.trim().split("/");
  const family = ipFamily(address);
  if (family === undefined || rest.length > 0) {
    throw new RangeError(
      `invalid CIDR ${JSON.stringify(text)}: expected e.g. 10.0.0.0/8 or 2001:db8::/32`,
    );
  }
  const prefix = prefixText === undefined ? MAX_PREFIX[family] : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? "0") || prefix > MAX_PREFIX[family]) {
    throw new RangeError(
      `invalid CIDR ${JSON.stringify(text)}: prefix must be 0-${MAX_PREFIX[family]}`,
    );
  }
  return { address, prefix, family };
}

/** Normalizes a client address: IPv4-mapped IPv6 becomes IPv4; undefined if not an IP. */
export function normalizeIp(address: string): { address: string; family: IpFamily } | undefined {
  const family = ipFamily(address);
  if (family !== "ipv6") return family === undefined ? undefined : { address, family };
  const mapped = mappedIpv4(address);
  return mapped === undefined ? { address, family } : { address: mapped, family: "ipv4" };
}

/** A set of CIDR ranges answering "is this address inside?". */
export class CidrSet {
  readonly cidrs: readonly Cidr[];
  readonly #blockList = new BlockList();

  constructor(cidrs: readonly Cidr[]) {
    this.cidrs = cidrs;
    for (const cidr of cidrs) this.#blockList.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }

  contains(address: string): boolean {
    const ip = normalizeIp(address);
    return ip !== undefined && this.#blockList.check(ip.address, ip.family);
  }

  toString(): string {
    return this.cidrs.map((cidr) => `${cidr.address}/${cidr.prefix}`).join(", ");
  }
}

/** `::ffff:a.b.c.d` (in any spelling) → `a.b.c.d`; undefined for other IPv6 addresses. */
function mappedIpv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  const isMapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (!isMapped) return undefined;
  const [high = 0, low = 0] = groups.slice(6);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}

/** The eight 16-bit groups of a valid IPv6 address (with `::` and a trailing IPv4 part expanded). */
function ipv6Groups(address: string): number[] {
  const [head = "", tail] = address.split("::");
  const parseGroups = (part: string): number[] =>
    part === ""
      ? []
      : part
          .split(":")
          .flatMap((group) =>
            group.includes(".") ? ipv4Groups(group) : [Number.parseInt(group, 16)],
          );
  const left = parseGroups(head);
  const right = tail === undefined ? [] : parseGroups(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function ipv4Groups(dotted: string): number[] {
  const [a = 0, b = 0, c = 0, d = 0] = dotted.split(".").map(Number);
  return [(a << 8) | b, (c << 8) | d];
}
