// The Prometheus metrics of one running bastion: a Registry of its own (no
// module globals: two servers in one process never share a counter), every
// collector with its HELP text, and Node's default metrics (`process_*`,
// `nodejs_*`, event-loop lag among them) under their standard names, so
// that existing Node.js dashboards and rules apply. Portcullis's own are
// `portcullis_*`. Labels take small fixed sets of values: never a user, a
// session id or a command line (docs/operations.md "Metrics").

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Disk writes: from half a millisecond to seconds (a stalled disk). */
const DISK_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** People deciding: from seconds to hours. */
const DECISION_SECONDS = [5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400];

export type BastionMetrics = ReturnType<typeof createBastionMetrics>;

/**
 * `ready`: whether /readyz answers 200; `pendingApprovals`: the requests
 * pending in the database. Both are read at each scrape.
 */
export function createBastionMetrics(ready: () => boolean, pendingApprovals: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const counter = <L extends string = never>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers });
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    buckets: number[],
  ) => new Histogram<L>({ name, help, labelNames, buckets, registers });
  return {
    registry,
    ready: new Gauge({
      name: "portcullis_ready",
      help: "1 when /readyz answers 200 (SSH listener up, policy loaded, audit index writable), else 0.",
      registers,
      collect() {
        this.set(ready() ? 1 : 0);
      },
    }),
    activeSessions: gauge("portcullis_active_sessions", "SSH sessions connected to a target now."),
    sessionsStarted: counter(
      "portcullis_sessions_started_total",
      "SSH sessions that connected to a target.",
    ),
    sessionsEnded: counter(
      "portcullis_sessions_ended_total",
      "SSH sessions by how they ended (outcome); `denied`: refused before reaching a target.",
      ["outcome"],
    ),
    commands: counter(
      "portcullis_commands_total",
      "Command lines decided by the policy, by decision (allow, warn, approve, deny).",
      ["decision"],
    ),
    approvalsPending: new Gauge({
      name: "portcullis_approvals_pending",
      help: "Approval requests in the database (made by any bastion sharing it) not yet approved, denied, expired or withdrawn.",
      registers,
      collect() {
        this.set(pendingApprovals());
      },
    }),
    approvalSeconds: histogram(
      "portcullis_approval_duration_seconds",
      "Time from an approval request to its outcome (approved, denied, expired, withdrawn).",
      ["outcome"],
      DECISION_SECONDS,
    ),
    authFailures: counter(
      "portcullis_auth_failures_total",
      "Refused authentications by reason code (docs/certificates.md) and listener (ssh, viewer).",
      ["code", "via"],
    ),
    policyReloads: counter(
      "portcullis_policy_reloads_total",
      "Policy reloads that took effect, by trigger (file_change, signal).",
      ["trigger"],
    ),
    policyErrors: counter(
      "portcullis_policy_reload_errors_total",
      "Policy reloads refused (the running policy was kept), by trigger.",
      ["trigger"],
    ),
    recordingBytes: counter(
      "portcullis_recording_bytes_written_total",
      "Bytes of asciicast lines written to recording files.",
    ),
    recordingSeconds: histogram(
      "portcullis_recording_write_duration_seconds",
      "Duration of the recording writer's disk operations (write, fdatasync).",
      ["op"],
      DISK_SECONDS,
    ),
    signals: counter(
      "portcullis_signals_total",
      "Insider-threat signals raised, by source (policy, behaviour, integrity).",
      ["source"],
    ),
    alerts: counter(
      "portcullis_alerts_total",
      "Sessions whose risk score reached the alert threshold.",
    ),
    webhookFailures: counter(
      "portcullis_webhook_failures_total",
      "Webhook deliveries given up after their retries, by webhook (approvals, alerts).",
      ["webhook"],
    ),
    upstreamFailures: counter(
      "portcullis_upstream_failures_total",
      "Failed connections to targets, by kind (error, host_key_rejected).",
      ["kind"],
    ),
    auditIndexFailures: counter(
      "portcullis_audit_index_failures_total",
      "Failed writes to the audit index (the events stay in the audit log; see the log line).",
    ),
  };
}
