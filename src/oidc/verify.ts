// The one place that decides whether an OIDC token is good for a
// certificate. In order: shape and size, header (`alg` on the allow-list:
// asymmetric only, never `none` or HMAC; `typ` absent or JWT), the trusted
// issuer named by `iss` whose audience the token carries, the signature
// against that issuer's JWKS, `exp`/`nbf` with the clock skew, `iat` and the
// issuer's max token age, then the claim mapping. Time is passed in.

import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import { errorMessage } from "../util/errors.js";
import { mapClaims } from "./claims.js";
import type { TrustedIssuer } from "./issuers.js";
import { type IssuerKeyOptions, IssuerKeys } from "./jwks.js";
import { reject, TokenRejectedError } from "./rejection.js";

export const ALLOWED_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;

/** Longer tokens are refused before any parsing (large Entra ID tokens are ~8 KB). */
export const MAX_TOKEN_LENGTH = 16_384;
const REQUIRED_CLAIMS = ["exp", "iat", "sub"];

export interface VerifiedToken {
  readonly issuer: TrustedIssuer;
  /** The token's `sub`. */
  readonly subject: string;
  readonly username: string;
  readonly groups: readonly string[];
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

export interface TokenVerifierOptions extends IssuerKeyOptions {
  /** Tolerance for `exp`, `nbf` and `iat` (config `ca.clock_skew`). */
  readonly clockSkewMs: number;
}

interface Unverified {
  readonly iss: string;
  readonly aud: readonly string[];
}

function peek(token: string): Unverified {
  if (token.length > MAX_TOKEN_LENGTH) throw reject("malformed", "the token is too long");
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    throw reject("malformed", "the token is not a signed JWT");
  }
  if (!(ALLOWED_ALGORITHMS as readonly unknown[]).includes(header.alg)) {
    throw reject("unsupported_algorithm", "the token's signature algorithm is not accepted");
  }
  if (
    header.typ !== undefined &&
    header.typ.toLowerCase().replace(/^application\//, "") !== "jwt"
  ) {
    throw reject("wrong_token_type", "the token is not an ID token (typ)");
  }
  if (typeof claims.iss !== "string") throw reject("missing_claim", 'the "iss" claim is missing');
  const aud = typeof claims.aud === "string" ? [claims.aud] : (claims.aud ?? []);
  return { iss: claims.iss, aud };
}

function chooseIssuer(issuers: readonly TrustedIssuer[], token: Unverified): TrustedIssuer {
  const candidates = issuers.filter((issuer) => issuer.issuer === token.iss);
  if (candidates.length === 0) throw reject("unknown_issuer", "the token's issuer is not trusted");
  const chosen = candidates.find((issuer) => token.aud.includes(issuer.audience));
  if (chosen === undefined) {
    throw reject("wrong_audience", `the token is not meant for this bastion (aud) at ${token.iss}`);
  }
  return chosen;
}

function claimFailure(error: errors.JWTClaimValidationFailed): TokenRejectedError {
  if (error.reason === "missing")
    return reject("missing_claim", `the "${error.claim}" claim is missing`);
  switch (error.claim) {
    case "nbf":
    case "iat":
      return reject("not_yet_valid", "the token is not valid yet");
    case "aud":
      return reject("wrong_audience", "the token is not meant for this bastion (aud)");
    case "iss":
      return reject("unknown_issuer", "the token's issuer is not trusted");
    default:
      return reject("malformed", `the "${error.claim}" claim is invalid`);
  }
}

/** Maps jose's errors to reasons; anything unexpected (network) means the keys were unavailable. */
function rejection(error: unknown, issuer: string): TokenRejectedError {
  if (error instanceof TokenRejectedError) return error;
  if (error instanceof errors.JWTExpired) {
    return error.claim === "iat"
      ? reject("too_old", "the token was issued too long ago (max_token_age)")
      : reject("expired", "the token has expired");
  }
  if (error instanceof errors.JWTClaimValidationFailed) return claimFailure(error);
  if (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return reject("unknown_key", `no signing key of ${issuer} matches the token's key id`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return reject("bad_signature", "the token's signature does not verify");
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return reject("unsupported_algorithm", "the token's signature algorithm is not accepted");
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return reject("malformed", "the token is not a valid signed JWT");
  }
  return reject(
    "jwks_unavailable",
    `cannot fetch the signing keys of ${issuer}: ${errorMessage(error)}`,
  );
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

export class TokenVerifier {
  readonly #issuers: readonly TrustedIssuer[];
  readonly #keys: IssuerKeys;
  readonly #clockSkewSeconds: number;

  constructor(issuers: readonly TrustedIssuer[], options: TokenVerifierOptions) {
    this.#issuers = issuers;
    this.#keys = new IssuerKeys(options);
    this.#clockSkewSeconds = seconds(options.clockSkewMs);
  }

  /** The identity a token stands for; throws TokenRejectedError with the reason. */
  async verify(token: string, now: Date): Promise<VerifiedToken> {
    const issuer = chooseIssuer(this.#issuers, peek(token));
    const keys = await this.#keys.keysFor(issuer.issuer);
    const claims = await this.#verifySignedClaims(token, issuer, keys, now);
    const identity = mapClaims(claims, issuer);
    return {
      issuer,
      subject: claims.sub as string,
      ...identity,
      issuedAt: new Date((claims.iat as number) * 1000),
      expiresAt: new Date((claims.exp as number) * 1000),
    };
  }

  async #verifySignedClaims(
    token: string,
    issuer: TrustedIssuer,
    keys: JWTVerifyGetKey,
    now: Date,
  ): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: issuer.issuer,
        audience: issuer.audience,
        algorithms: [...ALLOWED_ALGORITHMS],
        clockTolerance: this.#clockSkewSeconds,
        currentDate: now,
        requiredClaims: REQUIRED_CLAIMS,
        ...(issuer.maxTokenAgeMs === undefined
          ? {}
          : { maxTokenAge: seconds(issuer.maxTokenAgeMs) }),
      });
      return payload;
    } catch (error) {
      throw rejection(error, issuer.issuer);
    }
  }
}
