// Which URLs `portcullis login` talks to: https everywhere, plain http only
// to a loopback host (the demo and tests), for both the Portcullis server
// and the identity provider.

import { isIP } from "node:net";
import { PortcullisError } from "../util/errors.js";

const LOOPBACK_NAMES = new Set(["localhost", "[::1]", "::1"]);

export function isLoopbackHost(hostname: string): boolean {
  if (LOOPBACK_NAMES.has(hostname)) return true;
  return isIP(hostname) === 4 && hostname.startsWith("127.");
}

/**
 * Parses `text` and checks its scheme; `what` names it in errors.
 * Returns the URL and whether it is plain http (allowed on loopback only).
 */
export function checkedUrl(text: string, what: string): { url: URL; insecure: boolean } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PortcullisError("ERR_LOGIN_URL", `${what} ${JSON.stringify(text)} is not a URL`, 2);
  }
  if (url.protocol === "https:") return { url, insecure: false };
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return { url, insecure: true };
  throw new PortcullisError(
    "ERR_LOGIN_URL",
    `${what} ${url.origin} must use https:// (plain http only on a loopback address)`,
    2,
  );
}
