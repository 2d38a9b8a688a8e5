// `host:port` parsing for target addresses (policy) and listen addresses
// (config). IPv6 hosts are written in brackets: `[2001:db8::5]:22`.
import { ipFamily } from "./cidr.js";

export interface HostPort {
  /** Host name or IP address; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

export interface HostPortOptions {
  /** Port used when the text has none; without it a port is required. */
  readonly defaultPort?: number;
  /** Accept port 0 (an ephemeral port, for listeners in tests). */
  readonly allowPortZero?: boolean;
}

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;
const BRACKETED = /^\[([^\]]*)\](?::(.*))?$/;

export function parseHostPort(text: string, options: HostPortOptions = {}): HostPort {
  const { host, portText } = splitHostPort(text);
  const isValidHost = portText === undefined || !portText.includes(":") ? isHost(host) : false;
  if (!isValidHost) {
    throw new RangeError(
      `invalid address ${JSON.stringify(text)}: expected host:port (IPv6 as [::1]:22)`,
    );
  }
  return { host, port: parsePort(text, portText, options) };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function splitHostPort(text: string): { host: string; portText: string | undefined } {
  const bracketed = BRACKETED.exec(text);
  if (bracketed !== null) {
    const host = bracketed[1] ?? "";
    return { host: ipFamily(host) === "ipv6" ? host : "", portText: bracketed[2] };
  }
  const colon = text.indexOf(":");
  return colon === -1
    ? { host: text, portText: undefined }
    : { host: text.slice(0, colon), portText: text.slice(colon + 1) };
}

function isHost(host: string): boolean {
  return ipFamily(host) === "ipv6" || HOST_NAME.test(host);
}

function parsePort(text: string, portText: string | undefined, options: HostPortOptions): number {
  if (portText === undefined && options.defaultPort !== undefined) return options.defaultPort;
  const port = Number(portText);
  const minimum = options.allowPortZero === true ? 0 : 1;
  if (portText === undefined || !/^\d{1,5}$/.test(portText) || port < minimum || port > 65_535) {
    throw new RangeError(
      `invalid address ${JSON.stringify(text)}: expected a port ${minimum}-65535 after the host`,
    );
  }
  return port;
}
