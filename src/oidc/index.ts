// Public API of the OIDC token verification module.
export { type MappedIdentity, mapClaims } from "./claims.js";
export { type IssuerKind, type TrustedIssuer, trustedIssuers } from "./issuers.js";
export { isLoopbackHost, isSecureOrLoopbackUrl } from "./loopback.js";
export {
  TOKEN_REJECTED,
  TOKEN_REJECTION_CODES,
  TokenRejectedError,
  type TokenRejectionCode,
} from "./rejection.js";
export {
  ALLOWED_ALGORITHMS,
  MAX_TOKEN_LENGTH,
  TokenVerifier,
  type TokenVerifierOptions,
  type VerifiedToken,
} from "./verify.js";
