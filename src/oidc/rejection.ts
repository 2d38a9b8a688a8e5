// Why a token was refused: a closed list of reason codes and the error type
// that carries one. Messages are one line and never contain the token or its
// claim values (only the names of configured claims).

import { PortcullisError } from "../util/errors.js";

export const TOKEN_REJECTION_CODES = [
  /** Not a compact JWS, unreadable header or claims, too long. */
  "malformed",
  /** `alg` outside the allow-list (including `none` and HMAC). */
  "unsupported_algorithm",
  /** A `typ` other than JWT (e.g. an `at+jwt` access token). */
  "wrong_token_type",
  /** `iss` is none of the trusted issuers. */
  "unknown_issuer",
  /** `aud` does not name the issuer's configured audience. */
  "wrong_audience",
  /** The issuer publishes no key with the token's `kid` (even after a refresh). */
  "unknown_key",
  /** The signature does not verify (tampered header or claims). */
  "bad_signature",
  "expired",
  "not_yet_valid",
  /** Issued (`iat`) longer ago than the issuer's `max_token_age`. */
  "too_old",
  /** A required claim (exp, iat, sub, the username claim) is absent or of the wrong type. */
  "missing_claim",
  /** A `required_claims` value does not match. */
  "claim_mismatch",
  "email_not_verified",
  /** The username cannot be a certificate key id (commas, control characters, spaces around). */
  "bad_username",
  /** The groups claim is not a list of names, or a group cannot go into a certificate. */
  "bad_groups",
  /** The issuer's discovery document or JWKS could not be fetched (fail closed). */
  "jwks_unavailable",
] as const;

export type TokenRejectionCode = (typeof TOKEN_REJECTION_CODES)[number];

export const TOKEN_REJECTED = "ERR_OIDC_TOKEN";

export class TokenRejectedError extends PortcullisError {
  readonly reason: TokenRejectionCode;

  constructor(reason: TokenRejectionCode, message: string) {
    super(TOKEN_REJECTED, message);
    this.name = "TokenRejectedError";
    this.reason = reason;
  }
}

export function reject(reason: TokenRejectionCode, message: string): TokenRejectedError {
  return new TokenRejectedError(reason, message);
}
