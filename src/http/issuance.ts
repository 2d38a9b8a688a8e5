// `POST /v1/certs`: from a verified OIDC token and a public key to an
// OpenSSH user certificate (SPEC §4). Key id = principal = the username;
// validity now−1 min … now+cert_ttl (capped by the token's expiry when the
// issuer says so); `permit-port-forwarding` only when some access entry for
// this user or one of their groups allows forwarding; a key id on the
// revocation list gets nothing. The serial is recorded with the issuing
// identity before the certificate is handed out, and audited.

import type { AuditLog } from "../audit/log.js";
import type { CertificateAuthority, IssuedCertificate } from "../ca/authority.js";
import { TokenRejectedError, type VerifiedToken } from "../oidc/index.js";
import { parsePublicKeyLine, type SshPublicKey } from "../openssh/keys.js";
import { mayForward, type Policy } from "../policy/index.js";
import type { AuditIndex } from "../store/index.js";
import { errorMessage, PortcullisError } from "../util/errors.js";
import { RequestRefused, tokenRefusal } from "./refusal.js";

/** A new random serial is drawn this many times if the serial is already recorded. */
const SERIAL_ATTEMPTS = 3;

export interface IssuanceDependencies {
  readonly verifier: { verify(token: string, now: Date): Promise<VerifiedToken> };
  readonly authority: CertificateAuthority;
  readonly revocation: { isRevoked(serial: bigint, keyId: string): boolean };
  readonly policy: () => Policy;
  readonly store: Pick<AuditIndex, "recordIssuedCertificate">;
  readonly audit: AuditLog;
}

export interface CertificateRequest {
  readonly token: string;
  readonly publicKey: string;
  readonly sourceIp: string;
  readonly now: Date;
}

/** The JSON answer of `POST /v1/certs`. */
export interface CertificateResponse {
  certificate: string;
  serial: string;
  key_id: string;
  principals: string[];
  groups: string[];
  valid_after: string;
  valid_before: string;
}

function parseKey(line: string): SshPublicKey {
  try {
    return parsePublicKeyLine(line);
  } catch (error) {
    const message = error instanceof PortcullisError ? error.message : "unreadable public key";
    throw new RequestRefused(400, "bad_public_key", `public_key: ${message}`);
  }
}

function certificateTtlMs(identity: VerifiedToken, now: Date): number {
  const { certTtlMs, capToTokenLifetime } = identity.issuer;
  if (!capToTokenLifetime) return certTtlMs;
  const remaining = identity.expiresAt.getTime() - now.getTime();
  if (remaining < 1000) {
    throw new RequestRefused(401, "expired", "the token expires too soon to issue a certificate");
  }
  return Math.min(certTtlMs, remaining);
}

async function verifiedIdentity(
  dependencies: IssuanceDependencies,
  request: CertificateRequest,
): Promise<VerifiedToken> {
  try {
    return await dependencies.verifier.verify(request.token, request.now);
  } catch (error) {
    if (error instanceof TokenRejectedError) throw tokenRefusal(error);
    throw error;
  }
}

function recordOrRetry(
  dependencies: IssuanceDependencies,
  identity: VerifiedToken,
  key: SshPublicKey,
  request: CertificateRequest,
  sign: () => IssuedCertificate,
): IssuedCertificate {
  const context = { issuer: identity.issuer.issuer, user: identity.username };
  for (let attempt = 0; attempt < SERIAL_ATTEMPTS; attempt++) {
    const issued = sign();
    if (dependencies.revocation.isRevoked(issued.serial, issued.keyId)) {
      throw new RequestRefused(403, "revoked", "this user's certificates are revoked", { context });
    }
    let recorded: boolean;
    try {
      recorded = dependencies.store.recordIssuedCertificate({
        serial: issued.serial,
        keyId: issued.keyId,
        principals: [identity.username],
        groups: [...identity.groups],
        issuer: identity.issuer.issuer,
        subject: identity.subject,
        keyFingerprint: key.fingerprint,
        sourceIp: request.sourceIp,
        issuedAt: request.now,
        validAfter: issued.validAfter,
        validBefore: issued.validBefore,
      });
    } catch (error) {
      throw new RequestRefused(
        500,
        "store_failed",
        `cannot record the certificate: ${errorMessage(error)}`,
        {
          context,
        },
      );
    }
    if (recorded) return issued;
  }
  throw new RequestRefused(500, "store_failed", "no unused certificate serial was found", {
    context,
  });
}

/** Verifies the token and issues, records and audits a certificate; throws RequestRefused. */
export async function issueCertificate(
  dependencies: IssuanceDependencies,
  request: CertificateRequest,
): Promise<CertificateResponse> {
  const key = parseKey(request.publicKey);
  const identity = await verifiedIdentity(dependencies, request);
  const { username, groups } = identity;
  const ttlMs = certificateTtlMs(identity, request.now);
  const permitPortForwarding = mayForward(dependencies.policy(), { user: username, groups });
  const issued = recordOrRetry(dependencies, identity, key, request, () =>
    dependencies.authority.signUserCertificate({
      publicKeyLine: key.toLine(),
      user: username,
      groups,
      ttlMs,
      now: request.now,
      permitPortForwarding,
    }),
  );
  dependencies.audit.emit("cert.issued", {
    user: username,
    source_ip: request.sourceIp,
    serial: issued.serial.toString(),
    key_id: issued.keyId,
    groups: [...groups],
    issuer: identity.issuer.issuer,
    issuer_kind: identity.issuer.kind,
    subject: identity.subject,
    key_fingerprint: key.fingerprint,
    permit_port_forwarding: permitPortForwarding,
    valid_before: issued.validBefore.toISOString(),
  });
  return {
    certificate: issued.certificateLine,
    serial: issued.serial.toString(),
    key_id: issued.keyId,
    principals: [username],
    groups: [...groups],
    valid_after: issued.validAfter.toISOString(),
    valid_before: issued.validBefore.toISOString(),
  };
}
