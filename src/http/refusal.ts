// A refused HTTP request: the status, a reason code (the `error` field of the
// JSON answer and the `code` of the `cert.rejected` audit event) and a
// one-line message. Token rejections map to 401, or 503 when the issuer's
// keys could not be fetched.

import type { TokenRejectedError } from "../oidc/index.js";
import { PortcullisError } from "../util/errors.js";

export interface RefusalContext {
  /** The trusted issuer, once the token named one. */
  readonly issuer?: string;
  /** The user, once the token verified. */
  readonly user?: string;
}

export class RequestRefused extends PortcullisError {
  readonly status: number;
  readonly reason: string;
  readonly context: RefusalContext;
  /** False for repeats that are answered but not audited again (rate limiting). */
  readonly audited: boolean;

  constructor(
    status: number,
    reason: string,
    message: string,
    options: { context?: RefusalContext; audited?: boolean } = {},
  ) {
    super("ERR_HTTP_REFUSED", message);
    this.name = "RequestRefused";
    this.status = status;
    this.reason = reason;
    this.context = options.context ?? {};
    this.audited = options.audited ?? true;
  }
}

export function tokenRefusal(error: TokenRejectedError): RequestRefused {
  const status = error.reason === "jwks_unavailable" ? 503 : 401;
  return new RequestRefused(status, error.reason, error.message);
}
