// The HTTP listener as `portcullis serve` runs it: built from the `http`,
// `oidc`, `ca`, `ssh` and `viewer` sections and the running bastion's parts
// (audit, policy, revocation list, database, recordings). Started only when
// both `http` and `oidc` are configured; the web viewer and /healthz,
// /readyz run on it then.

import { readFileSync } from "node:fs";
import type { Approvals } from "../approvals/index.js";
import type { AuditLog } from "../audit/log.js";
import { loadCertificateAuthority } from "../ca/authority.js";
import type { LoadedConfig } from "../config/index.js";
import { healthRoutes, type Readiness } from "../metrics/index.js";
import { TokenVerifier, trustedIssuers } from "../oidc/index.js";
import type { SshPublicKey } from "../openssh/keys.js";
import type { Policy } from "../policy/index.js";
import type { AuditKey, RecordingStore } from "../recording/index.js";
import type { AuditIndex } from "../store/index.js";
import { ConfigError, errorMessage } from "../util/errors.js";
import { configuredViewer } from "../viewer/from-config.js";
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
  /** The recordings and the key that signs them (the viewer plays and checks them). */
  readonly recordings: { readonly store: RecordingStore; readonly key: AuditKey };
  /** The approvals service (the viewer's approvals page decides through it). */
  readonly approvals: Approvals;
  /** Answers /readyz (with /healthz) on this listener too. */
  readonly readiness: () => Readiness;
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
  const verifier = new TokenVerifier(trustedIssuers(oidc), { clockSkewMs: ca.clock_skew });
  let listening = "";
  const viewer = configuredViewer(
    { ...loaded.config, http, oidc },
    {
      index: parts.store,
      recordings: parts.recordings,
      approvals: parts.approvals,
      verifier,
      publicUrl: () => http.public_url ?? listening,
      audit: parts.audit,
      now: parts.now,
    },
  );
  let server: RunningHttpServer;
  try {
    server = await startHttpServer({
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
        verifier,
        authority: loadCertificateAuthority(ca.user_key),
        revocation: parts.revocation,
        policy: parts.policy,
        store: parts.store,
        audit: parts.audit,
      },
      audit: parts.audit,
      now: parts.now,
      plugins: [viewer.plugin, healthRoutes(parts.readiness)],
    });
  } catch (error) {
    viewer.close();
    throw error;
  }
  listening = server.url;
  return {
    ...server,
    close: async () => {
      await server.close();
      viewer.close();
    },
  };
}
