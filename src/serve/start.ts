// Assembles a running bastion from a loaded configuration: audit log, trust
// anchors (user CA + extra CAs + revocation list), policy, vault, the SSH
// listener, the HTTP listener (certificate issuance and the web viewer, when
// `http` and `oidc` are configured), the operations listener (metrics and
// health, when `metrics` is configured) and the recordings' retention. Used by `portcullis serve`
// and `portcullis demo`.

import { readFileSync } from "node:fs";
import { approvalsFromConfig } from "../approvals/from-config.js";
import type { Approvals } from "../approvals/types.js";
import { type AuditLog, openAuditLog } from "../audit/log.js";
import type { CertificateTrust } from "../auth/certificate-check.js";
import { secondsToDate } from "../auth/validity.js";
import { loadCertificateAuthority } from "../ca/authority.js";
import { hostCaKnownHostsLine, loadHostCertificate } from "../ca/host-ca.js";
import { RevocationList } from "../ca/revocation.js";
import type { LoadedConfig } from "../config/index.js";
import { type RunningHttpServer, startConfiguredHttpServer } from "../http/index.js";
import { DetectionPool } from "../masking/detection-pool.js";
import type { BastionHealth } from "../metrics/index.js";
import { parsePrivateKey, publicKeyFromBlob } from "../openssh/keys.js";
import { createLocalRecordingStore, loadAuditKey } from "../recording/index.js";
import { signalsFromConfig } from "../signals/from-config.js";
import type { BastionContext } from "../ssh/context.js";
import { type RunningBastion, type SshListen, startBastion } from "../ssh/server.js";
import { upgradeDatabase } from "../store/connection.js";
import { openAuditIndex } from "../store/index.js";
import { ConfigError, errorMessage } from "../util/errors.js";
import { openVault, resolveMasterKey } from "../vault/index.js";
import { operationsFor, type RunningOpsListener } from "./ops-listener.js";
import { type PolicyReloadStats, startPolicyReloader } from "./policy-reload.js";
import {
  createSessionRecordings,
  indexedAuditLog,
  type RecordingsSetup,
  recoverInterrupted,
} from "./recordings.js";
import { type RetentionPruner, startRetentionPruner } from "./retention.js";

export interface StartedServer {
  ssh: RunningBastion;
  /** The HTTP listener (certificate issuance), when `http` and `oidc` are configured. */
  http?: RunningHttpServer;
  audit: AuditLog;
  /** Loads the policy again; keeps the running one when the new one is broken. */
  reloadPolicy(): boolean;
  /** Reads the revocation list again; keeps the loaded one when the file is broken. */
  reloadRevocations(): boolean;
  /** Policy reload counters (for /metrics). */
  policyStats: Readonly<PolicyReloadStats>;
  /** Readiness (/readyz): `stopping()` when shutdown starts. */
  health: BastionHealth;
  /** The operations listener (/metrics, /healthz, /readyz), when `metrics` is configured. */
  ops?: RunningOpsListener;
  close(reason: string): Promise<void>;
}

export interface StartOptions {
  listen?: SshListen;
  audit?: AuditLog;
}

export async function startServer(
  loaded: LoadedConfig,
  options: StartOptions = {},
): Promise<StartedServer> {
  const { config } = loaded;
  const log = options.audit ?? (await openAuditLog(config.logging));
  const now = () => new Date();
  const upgrade = upgradeDatabase(config.database.path);
  if (upgrade !== undefined) log.info("database schema upgraded", { ...upgrade });
  const ops = operationsFor(config);
  const index = openAuditIndex({ path: config.database.path, checkpointIntervalMs: 1000 });
  index.onFailure((error) => {
    log.error("audit index write failed", { reason: errorMessage(error) });
    ops.auditIndexFailed(error);
  });
  const audit = ops.metered(indexedAuditLog(log, index, now));
  const approvals = openApprovals(loaded, audit, now, index);
  ops.countPendingApprovals(() => approvals.pending().length);
  const recordings: RecordingsSetup = {
    store: createLocalRecordingStore({
      dir: config.recordings.dir,
      fsyncIntervalMs: config.recordings.fsync_interval_ms,
      now: () => Date.now(),
      observer: ops.recordingObserver,
    }),
    index,
    key: loadAuditKey(config.recordings.signing_key),
    required: config.recordings.mode === "required",
    recordInput: config.recordings.record_input,
    now,
  };
  await recoverInterrupted(recordings, audit);
  const hostKey = readKeyFile(config.ssh.host_key, "ssh.host_key");
  const hostCertificate = checkedHostCertificate(loaded, hostKey, audit, now());
  const vault = openVault(
    config.vault.path,
    resolveMasterKey({ masterKeyFile: config.vault.master_key_file }),
  );
  const policy = startPolicyReloader({
    dir: config.policy.dir,
    audit,
    vaultEntries: () => new Set(vault.list().map((entry) => entry.name)),
  });
  ops.health.policyLoaded();
  const trust = loadTrust(loaded, audit);

  const servedRecordings = createSessionRecordings(recordings);
  const signals = signalsFromConfig(config, index, audit, now);
  const context: BastionContext = {
    audit,
    now,
    trust: () => trust.current,
    policy: policy.current,
    credential: (name) => vault.getPrivateKey(name),
    clockSkewMs: config.ca.clock_skew,
    loginTimeoutMs: config.ssh.login_timeout,
    upstreamTimeoutMs: config.ssh.upstream_timeout,
    shellStartupTimeoutMs: config.ssh.shell_startup_timeout,
    recordings: servedRecordings,
    approvals,
    approvalTimeoutMs: config.approvals.timeout,
    maskingDetection: new DetectionPool(), // its threads start with the first masked channel
    signals: signals.service,
  };
  let opsListener: RunningOpsListener | undefined;
  const release = () => {
    void opsListener?.close();
    void context.maskingDetection.terminate();
    trust.revocation.close(); // its watcher would keep the process alive
    policy.close();
    approvals.close();
    signals.close();
    index.close();
    if (options.audit === undefined) void log.close?.(); // the forwarders' sockets and timers
  };
  let ssh: RunningBastion;
  try {
    opsListener = await ops.listen();
    ssh = await startBastion(
      { key: hostKey, ...(hostCertificate ? { certificate: hostCertificate } : {}) },
      options.listen ?? config.ssh.listen,
      context,
    );
  } catch (error) {
    release();
    throw error;
  }
  ops.health.sshListening();
  let http: RunningHttpServer | undefined;
  try {
    http = await startConfiguredHttpServer(loaded, {
      audit,
      now,
      policy: policy.current,
      revocation: trust.revocation,
      store: index,
      caKeys: trust.current.caKeys,
      sshPort: ssh.port,
      hostKey: parsePrivateKey(hostKey.toString("utf8"), "ssh.host_key").public.toLine(),
      hostCaLine: () => hostCaKnownHostsLine(config),
      recordings: { store: recordings.store, key: recordings.key },
      approvals,
      readiness: () => ops.health.readiness(),
    });
  } catch (error) {
    await ssh.close("the HTTP listener could not start");
    release();
    throw error;
  }
  audit.emit("server.start", {
    ssh_listen: `${ssh.host}:${ssh.port}`,
    ...(http === undefined ? {} : { http_listen: `${http.host}:${http.port}` }),
  });
  const retention = startRetention(config.recordings.retention, recordings, audit);

  return {
    ssh: ops.unreadyWhenStopping(ssh),
    ...(http === undefined ? {} : { http }),
    audit,
    reloadPolicy: () => policy.reload("signal"),
    reloadRevocations: () => trust.revocation.reload(),
    policyStats: policy.stats,
    health: ops.health,
    ...(opsListener === undefined ? {} : { ops: opsListener }),
    close: async (reason) => {
      ops.health.stopping();
      await ssh.close(reason);
      await servedRecordings.drain();
      await context.maskingDetection.terminate();
      await recordings.store.close();
      await http?.close();
      await retention?.close();
      trust.revocation.close();
      policy.close();
      approvals.close();
      signals.close();
      audit.emit("server.stop", { reason });
      audit.flush();
      index.close();
      await opsListener?.close();
      await log.close?.(); // the syslog / HTTP forwarders deliver what they hold
    },
  };
}

/** The approvals service on the database file; the index is closed if it cannot start. */
function openApprovals(
  loaded: LoadedConfig,
  audit: AuditLog,
  now: () => Date,
  index: { close(): void },
): Approvals {
  try {
    return approvalsFromConfig(loaded.config, audit, now);
  } catch (error) {
    index.close();
    throw error;
  }
}

/** Prunes at start-up (the interrupted recordings are closed by now) and every 24 h; none without a retention. */
function startRetention(
  retentionMs: number | undefined,
  recordings: RecordingsSetup,
  audit: AuditLog,
): RetentionPruner | undefined {
  if (retentionMs === undefined) return undefined;
  return startRetentionPruner({ ...recordings, audit, retentionMs });
}

function readKeyFile(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError([
      `${key}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}`,
    ]);
  }
}

/** The host certificate's blob once checked against the host key and host CA; undefined (logged) without one. */
function checkedHostCertificate(
  loaded: LoadedConfig,
  hostKey: Buffer,
  audit: AuditLog,
  now: Date,
): Buffer | undefined {
  const { ssh, ca } = loaded.config;
  const certificate = loadHostCertificate(ssh, { hostKey, now, clockSkewMs: ca.clock_skew });
  if (certificate === undefined) {
    audit.info("no host certificate: serving the plain host key only", {
      host_certificate: ssh.host_certificate,
    });
    return undefined;
  }
  audit.info("presenting host certificate", {
    key_id: certificate.keyId,
    principals: certificate.principals.join(","),
    valid_before: secondsToDate(certificate.validBefore).toISOString(),
  });
  return certificate.blob;
}

function loadTrust(
  loaded: LoadedConfig,
  audit: AuditLog,
): { current: CertificateTrust; revocation: RevocationList } {
  const { ca } = loaded.config;
  const caKeys = [
    loadCertificateAuthority(ca.user_key).publicKey,
    ...ca.extra_trusted.map((key) => publicKeyFromBlob(key.blob)),
  ];
  const revocation = new RevocationList(ca.revocation_file, {
    onReload: (count) => audit.emit("ca.revocation_reload", { entries: count }),
    onError: (error) => audit.emit("ca.revocation_error", { reason: errorMessage(error) }),
  });
  return { current: { caKeys, revocation, clockSkewMs: ca.clock_skew }, revocation };
}
