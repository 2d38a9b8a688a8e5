// An in-process HTTP listener for the tests: a real CA key, revocation list
// and SQLite index in a private temp directory, an audit log captured in
// memory, a policy the test can swap, and the trusted issuers it is given.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditLog } from "../../src/audit/log.js";
import { type CertificateAuthority, loadCertificateAuthority } from "../../src/ca/authority.js";
import { RevocationList } from "../../src/ca/revocation.js";
import { type RunningHttpServer, startHttpServer } from "../../src/http/index.js";
import { TokenVerifier, type TrustedIssuer } from "../../src/oidc/index.js";
import type { Policy } from "../../src/policy/index.js";
import { type AuditIndex, openAuditIndex } from "../../src/store/index.js";
import { generateTestKey } from "../harness/keys.js";
import { policyFrom } from "../policy/fixtures.js";

export type AuditEntry = Record<string, unknown> & { event: string };

export interface CertServer {
  readonly url: string;
  readonly dir: string;
  readonly authority: CertificateAuthority;
  /** The host public key line the discovery document publishes. */
  readonly hostKey: string;
  readonly revocation: RevocationList;
  readonly revocationFile: string;
  readonly index: AuditIndex;
  readonly audit: AuditEntry[];
  policy: Policy;
  /** A fresh user key's public line. */
  newPublicKey(): string;
  post(body: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export const EMPTY_POLICY = policyFrom("targets: {}\n");

function memoryAudit(entries: AuditEntry[]): AuditLog {
  return {
    emit: (event, fields = {}) => {
      entries.push({ event, ...fields });
    },
    info: () => {},
    error: (message, fields = {}) => {
      entries.push({ event: "error", message, ...fields });
    },
    flush: () => {},
  };
}

export async function startCertServer(
  issuers: TrustedIssuer[],
  options: {
    rateLimitMax?: number;
    sshHost?: string;
    hostCaLine?: string;
    now?: () => Date;
  } = {},
): Promise<CertServer> {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-http-"));
  const authority = loadCertificateAuthority(generateTestKey(dir, "ed25519").privatePath);
  const hostKey = generateTestKey(dir, "ed25519");
  const revocationFile = join(dir, "revoked.txt");
  writeFileSync(revocationFile, "");
  const revocation = new RevocationList(revocationFile);
  const index = openAuditIndex({ path: join(dir, "portcullis.db") });
  const audit: AuditEntry[] = [];
  const log = memoryAudit(audit);
  const state = { policy: EMPTY_POLICY };
  let server: RunningHttpServer;
  try {
    server = await startHttpServer({
      listen: { host: "127.0.0.1", port: 0 },
      rateLimit: { max: options.rateLimitMax ?? 100, windowMs: 60_000 },
      discovery: {
        issuer: issuers[0]?.issuer ?? "",
        clientId: issuers[0]?.audience ?? "",
        userCaPublicKeys: [authority.publicKey],
        ...(options.sshHost === undefined ? {} : { sshHost: options.sshHost }),
        sshPort: 2222,
        hostKey: hostKey.publicLine,
        ...(options.hostCaLine === undefined ? {} : { hostCaLine: () => options.hostCaLine }),
      },
      issuance: {
        verifier: new TokenVerifier(issuers, { clockSkewMs: 120_000, cooldownMs: 0 }),
        authority,
        revocation,
        policy: () => state.policy,
        store: index,
        audit: log,
      },
      audit: log,
      now: options.now ?? (() => new Date()),
    });
  } catch (error) {
    revocation.close();
    index.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: server.url,
    dir,
    authority,
    hostKey: hostKey.publicLine,
    revocation,
    revocationFile,
    index,
    audit,
    get policy() {
      return state.policy;
    },
    set policy(policy: Policy) {
      state.policy = policy;
    },
    newPublicKey: () => generateTestKey(dir, "ed25519").publicLine,
    post: (body, headers = {}) =>
      fetch(`${server.url}/v1/certs`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    close: async () => {
      await server.close();
      revocation.close();
      index.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
