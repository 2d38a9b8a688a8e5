// The signing keys of each trusted issuer: OpenID discovery once (the
// document's `issuer` must match exactly, its `jwks_uri` must be https or
// loopback http), then jose's remote JWK set, which caches the keys and
// fetches them again when a token names an unknown `kid` (at most once per
// cooldown). A failed discovery is retried on the next token.

import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import { errorMessage } from "../util/errors.js";
import { isSecureOrLoopbackUrl } from "./loopback.js";
import { reject } from "./rejection.js";

export interface IssuerKeyOptions {
  /** Least time between two JWKS fetches caused by unknown key ids (default 30 s). */
  readonly cooldownMs?: number;
  /** Per request to the issuer (default 5 s). */
  readonly timeoutMs?: number;
}

const DEFAULT_COOLDOWN_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 5_000;

function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
}

async function fetchJwksUri(issuer: string, timeoutMs: number): Promise<URL> {
  const response = await fetch(discoveryUrl(issuer), { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (document.issuer !== issuer) throw new Error("its issuer does not match the configured one");
  const jwksUri = typeof document.jwks_uri === "string" && URL.canParse(document.jwks_uri);
  const url = jwksUri ? new URL(document.jwks_uri as string) : undefined;
  if (url === undefined || !isSecureOrLoopbackUrl(url)) {
    throw new Error("its jwks_uri is missing or not https");
  }
  return url;
}

export class IssuerKeys {
  readonly #sets = new Map<string, Promise<JWTVerifyGetKey>>();
  readonly #cooldownMs: number;
  readonly #timeoutMs: number;

  constructor(options: IssuerKeyOptions = {}) {
    this.#cooldownMs = options.cooldownMs ?? DEFAULT_COOLDOWN_MS;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The issuer's key set; throws TokenRejectedError("jwks_unavailable") when discovery fails. */
  async keysFor(issuer: string): Promise<JWTVerifyGetKey> {
    let keys = this.#sets.get(issuer);
    if (keys === undefined) {
      keys = this.#discover(issuer);
      this.#sets.set(issuer, keys);
    }
    try {
      return await keys;
    } catch (error) {
      this.#sets.delete(issuer);
      throw reject(
        "jwks_unavailable",
        `cannot read the OpenID configuration of ${issuer}: ${errorMessage(error)}`,
      );
    }
  }

  async #discover(issuer: string): Promise<JWTVerifyGetKey> {
    const jwksUri = await fetchJwksUri(issuer, this.#timeoutMs);
    return createRemoteJWKSet(jwksUri, {
      cooldownDuration: this.#cooldownMs,
      timeoutDuration: this.#timeoutMs,
    });
  }
}
