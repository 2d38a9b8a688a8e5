// Which addresses and URLs count as loopback: plain http is allowed only
// there (an OIDC issuer or JWKS on http, the HTTP listener without TLS).

import { isIP } from "node:net";

/** `localhost`, 127.0.0.0/8, `::1` (and IPv4-mapped 127.x). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const lower = bare.toLowerCase();
  if (lower === "localhost" || lower === "::1") return true;
  const ipv4 = lower.startsWith("::ffff:") ? lower.slice("::ffff:".length) : lower;
  return isIP(ipv4) === 4 && ipv4.startsWith("127.");
}

/** https anywhere, http only on a loopback host. */
export function isSecureOrLoopbackUrl(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}
