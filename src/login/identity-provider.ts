// The identity provider through openid-client: issuer discovery (plain
// http only on loopback) and the translation of every OAuth/OIDC failure
// into one clear line: unreachable, sign-in refused, code expired, clock
// skew, or what the provider said.

import * as client from "openid-client";
import { errorMessage, PortcullisError } from "../util/errors.js";
import { checkTokenClock } from "./clock.js";
import { networkReason, printable } from "./messages.js";
import { checkedUrl } from "./url-policy.js";

/** The scopes asked for: identity, email, and groups where the provider has that scope. */
export const LOGIN_SCOPES = ["openid", "email", "profile", "groups"];

export interface IdentityProvider {
  readonly issuer: string;
  readonly config: client.Configuration;
  /** The scope parameter to request (only scopes the provider announces, plus openid). */
  readonly scope: string;
}

export async function discoverIdentityProvider(
  issuer: string,
  clientId: string,
): Promise<IdentityProvider> {
  const { url, insecure } = checkedUrl(issuer, "the identity provider");
  let config: client.Configuration;
  try {
    config = await client.discovery(url, clientId, undefined, client.None(), {
      ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
    });
  } catch (error) {
    throw identityProviderError(issuer, error);
  }
  return { issuer, config, scope: requestedScope(config) };
}

function requestedScope(config: client.Configuration): string {
  const supported = config.serverMetadata().scopes_supported;
  if (supported === undefined) return LOGIN_SCOPES.slice(0, 3).join(" ");
  return LOGIN_SCOPES.filter((scope) => scope === "openid" || supported.includes(scope)).join(" ");
}

/** The ID token of a token response, checked against the local clock. */
export function idTokenOf(
  response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  now: Date,
): string {
  const claims = response.claims();
  if (response.id_token === undefined || claims === undefined) {
    throw new PortcullisError(
      "ERR_LOGIN_IDP",
      "the identity provider returned no ID token (is the openid scope allowed for this client?)",
    );
  }
  checkTokenClock(claims.iat, now);
  return response.id_token;
}

/** One line for a failure talking to the identity provider at `issuer`. */
export function identityProviderError(issuer: string, error: unknown): PortcullisError {
  if (error instanceof PortcullisError) return error;
  if (
    error instanceof client.ResponseBodyError ||
    error instanceof client.AuthorizationResponseError
  ) {
    return oauthError(error.error, error.error_description);
  }
  if (error instanceof TypeError) {
    return new PortcullisError(
      "ERR_LOGIN_IDP_UNREACHABLE",
      `cannot reach the identity provider at ${issuer}: ${networkReason(error)}`,
    );
  }
  const code = (error as { code?: string }).code;
  if (code === "OAUTH_JWT_TIMESTAMP_CHECK_FAILED") return clockError(error);
  if (code === "OAUTH_TIMEOUT") {
    return new PortcullisError(
      "ERR_LOGIN_IDP_UNREACHABLE",
      `cannot reach the identity provider at ${issuer}: timed out`,
    );
  }
  return new PortcullisError("ERR_LOGIN_IDP", `identity provider ${issuer}: ${describe(error)}`);
}

function oauthError(error: string, description: string | undefined): PortcullisError {
  const detail = description ? `: ${printable(description)}` : "";
  if (error === "access_denied") {
    return new PortcullisError(
      "ERR_LOGIN_DENIED",
      `sign-in was cancelled or refused at the identity provider (access_denied${detail})`,
    );
  }
  if (error === "expired_token") return codeExpired();
  return new PortcullisError(
    "ERR_LOGIN_IDP",
    `the identity provider refused: ${printable(error)}${detail}`,
  );
}

export function codeExpired(): PortcullisError {
  return new PortcullisError(
    "ERR_LOGIN_EXPIRED",
    "the sign-in code expired before sign-in finished: run portcullis login again",
  );
}

/** openid-client found `exp`/`iat`/`nbf` unacceptable by the local clock: say which clock. */
function clockError(error: unknown): PortcullisError {
  const details = (error as { cause?: { cause?: { claims?: { iat?: unknown }; now?: unknown } } })
    .cause?.cause;
  const iat = details?.claims?.iat;
  const now = details?.now;
  if (typeof iat === "number" && typeof now === "number") {
    checkTokenClock(iat, new Date(now * 1000));
  }
  return new PortcullisError(
    "ERR_LOGIN_CLOCK_SKEW",
    "the ID token is not valid by this machine's clock: check the clock (e.g. enable NTP) and run portcullis login again",
  );
}

function describe(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const base = printable(errorMessage(error));
  return cause instanceof Error ? `${base} (${printable(cause.message)})` : base;
}
