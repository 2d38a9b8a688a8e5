// Metrics derived from the audit event stream: an AuditLog that passes every
// event on unchanged, then counts it, so that nothing in the data path needs
// to know about metrics. Its state is per server and bounded by what is live:
// the sessions connected now, the approval requests still pending (with the
// time each was requested) and the sessions recently counted as denied.

import type { AuditEventName } from "../audit/events.js";
import type { AuditFields, AuditLog } from "../audit/log.js";
import { CodeLabel, oneOf } from "./labels.js";
import type { BastionMetrics } from "./registry.js";
import { sessionOutcome } from "./session-outcome.js";

const DECISIONS = ["allow", "warn", "approve", "deny"] as const;
const SIGNAL_SOURCES = ["policy", "behaviour", "integrity"] as const;
const APPROVAL_OUTCOMES = {
  "approval.approved": "approved",
  "approval.denied": "denied",
  "approval.expired": "expired",
  "approval.withdrawn": "withdrawn",
} as const;
/** Pending approvals remembered at most (each ends by expiring: this is only a safety bound). */
const MAX_PENDING = 10_000;
/** Refused sessions remembered so that each counts once however many refusals it gets. */
const DENIED_REMEMBERED = 1_000;

type Observer = (fields: AuditFields) => void;

/** The audit log, with every event also counted into `metrics`; `now` in milliseconds. */
export function meteredAuditLog(
  log: AuditLog,
  metrics: BastionMetrics,
  now: () => number = Date.now,
): AuditLog {
  const observers = eventObservers(metrics, now);
  return {
    info: (message, fields) => log.info(message, fields),
    error: (message, fields) => log.error(message, fields),
    emit: (event, fields = {}) => {
      log.emit(event, fields);
      try {
        observers[event]?.(fields);
      } catch {
        // A metric must never fail the action being audited.
      }
    },
    flush: () => log.flush(),
  };
}

function eventObservers(
  metrics: BastionMetrics,
  now: () => number,
): Partial<Record<AuditEventName, Observer>> {
  const sessions = sessionObservers(metrics);
  const approvals = approvalObservers(metrics, now);
  const authCodes = new CodeLabel();
  const trigger = (fields: AuditFields) => ({
    trigger: fields.trigger === "signal" ? "signal" : "file_change",
  });
  return {
    ...sessions,
    ...approvals,
    command: (fields) => metrics.commands.inc({ decision: oneOf(fields.decision, DECISIONS) }),
    "auth.failure": (fields) =>
      metrics.authFailures.inc({
        code: authCodes.value(fields.code),
        via: fields.via === "viewer" ? "viewer" : "ssh",
      }),
    "policy.reload": (fields) => metrics.policyReloads.inc(trigger(fields)),
    "policy.error": (fields) => metrics.policyErrors.inc(trigger(fields)),
    // Older signal events have no `source`: they are integrity checks (docs/audit.md).
    signal: (fields) =>
      metrics.signals.inc({ source: oneOf(fields.source ?? "integrity", SIGNAL_SOURCES) }),
    "signal.alert": () => metrics.alerts.inc(),
    "signal.alert_failed": () => metrics.webhookFailures.inc({ webhook: "alerts" }),
    "approval.webhook_failed": () => metrics.webhookFailures.inc({ webhook: "approvals" }),
    "upstream.error": () => metrics.upstreamFailures.inc({ kind: "error" }),
    "upstream.host_key_rejected": () => metrics.upstreamFailures.inc({ kind: "host_key_rejected" }),
  };
}

/** Active sessions and how they end; a session refused several times counts as denied once. */
function sessionObservers(metrics: BastionMetrics): Partial<Record<AuditEventName, Observer>> {
  const active = new Set<string>();
  const denied = new RecentSet(DENIED_REMEMBERED);
  return {
    "session.start": ({ session }) => {
      if (session === undefined || active.has(session)) return;
      active.add(session);
      metrics.activeSessions.inc();
      metrics.sessionsStarted.inc();
    },
    "session.end": ({ session, reason }) => {
      if (session !== undefined && active.delete(session)) metrics.activeSessions.dec();
      metrics.sessionsEnded.inc({ outcome: sessionOutcome(reason) });
    },
    // Also audited for refusals inside a connected session (a tunnel, sftp): not an outcome.
    "session.denied": ({ session }) => {
      if (session === undefined || active.has(session) || !denied.add(session)) return;
      metrics.sessionsEnded.inc({ outcome: "denied" });
    },
  };
}

/** The time from a request to its outcome (requests made before a restart, or by another bastion, are not timed). */
function approvalObservers(
  metrics: BastionMetrics,
  now: () => number,
): Partial<Record<AuditEventName, Observer>> {
  const requestedAt = new Map<string, number>();
  const settled =
    (outcome: string): Observer =>
    ({ id }) => {
      const started = typeof id === "string" ? requestedAt.get(id) : undefined;
      if (started === undefined) return;
      requestedAt.delete(id as string);
      metrics.approvalSeconds.observe({ outcome }, (now() - started) / 1000);
    };
  const observers: Partial<Record<AuditEventName, Observer>> = {
    "approval.requested": ({ id }) => {
      if (typeof id !== "string" || requestedAt.size >= MAX_PENDING) return;
      requestedAt.set(id, now());
    },
  };
  for (const [event, outcome] of Object.entries(APPROVAL_OUTCOMES))
    observers[event as keyof typeof APPROVAL_OUTCOMES] = settled(outcome);
  return observers;
}

/** A set that forgets its oldest member beyond `limit`. */
class RecentSet {
  readonly #members = new Set<string>();

  constructor(private readonly limit: number) {}

  /** False when `member` is already there. */
  add(member: string): boolean {
    if (this.#members.has(member)) return false;
    this.#members.add(member);
    if (this.#members.size > this.limit) {
      const oldest = this.#members.values().next().value as string;
      this.#members.delete(oldest);
    }
    return true;
  }
}
