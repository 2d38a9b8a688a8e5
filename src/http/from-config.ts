// The HTTP listener as `portcullis serve` runs it: built from the `http`,
// `oidc`, `ca` and `ssh` sections and the running bastion's parts (audit,
// policy, revocation list, database). Started only when both `http` and
// `oidc` are configured.

import { readFileSync } from "node:fs";
import type { AuditLog } from "../audit/log.js";
import { loadCertificateAuthority } from "../ca/authority.js";
import type { LoadedConfig } from "../config/index.js";
import { TokenVerifier, trustedIssuers } from "../oidc/index.js";
import type { SshPublicKey } from "../openssh/keys.js";
import type { Policy } from "../policy/index.js";
import type { AuditIndex } from "../store/index.js";
import { ConfigError, errorMessage } from "../util/errors.js";
import { type RunningHttpServer, startHttpServer } from "./server.js";

export interface BastionParts {
  readonly audit: AuditLog;
  readonly now: () => Date;
  readonly policy: () => Policy;
  readonly revocation: { isRevoked(serial: bigint, keyId: string): boolean };
  readonly store: AuditIndex;
  /** Every trusted user CA (published in the discovery document). */
  readonly caKeys: readonly SshPublicKey[];
  /** The port the SSH listener is on. */
  readonly sshPort: number;
  /** The bastion's host public key line. */
  readonly hostKey: string;
  /** The `@cert-authority` line of the bastion's host CA, when there is one. */
  readonly hostCaLine?: () => string | undefined;
}

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", ""]);

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? errorMessage(error);
    throw new ConfigError([`${key}: cannot read ${path}: ${reason}`]);
  }
}

/** The SSH host to advertise: `http.public_url`'s host, else a specific `ssh.listen` host. */
function advertisedSshHost(loaded: LoadedConfig): string | undefined {
  const { http, ssh } = loaded.config;
  if (http?.public_url !== undefined) return new URL(http.public_url).hostname;
  return WILDCARD_HOSTS.has(ssh.listen.host) ? undefined : ssh.listen.host;
}

/** Starts the listener, or resolves undefined when `http` or `oidc` is not configured. */
export async function startConfiguredHttpServer(
  loaded: LoadedConfig,
  parts: BastionParts,
): Promise<RunningHttpServer | undefined> {
  const { http, oidc, ca } = loaded.config;
  if (http === undefined || oidc === undefined) return undefined;
  const tls =
    http.tls === undefined
      ? undefined
      : {
          cert: readPem(http.tls.cert, "http.tls.cert"),
          key: readPem(http.tls.key, "http.tls.key"),
        };
  const sshHost = advertisedSshHost(loaded);
  return startHttpServer({
    listen: http.listen,
    ...(tls === undefined ? {} : { tls }),
    rateLimit: { max: http.rate_limit.max, windowMs: http.rate_limit.window },
    discovery: {
      issuer: oidc.issuer,
      clientId: oidc.client_id,
      userCaPublicKeys: parts.caKeys,
      ...(sshHost === undefined ? {} : { sshHost }),
      sshPort: parts.sshPort,
      hostKey: parts.hostKey,
      ...(parts.hostCaLine === undefined ? {} : { hostCaLine: parts.hostCaLine }),
    },
    issuance: {
      verifier: new TokenVerifier(trustedIssuers(oidc), { clockSkewMs: ca.clock_skew }),
      authority: loadCertificateAuthority(ca.user_key),
      revocation: parts.revocation,
      policy: parts.policy,
      store: parts.store,
      audit: parts.audit,
    },
    audit: parts.audit,
    now: parts.now,
  });
}
