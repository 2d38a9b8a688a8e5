// The closed set of audit event names (SPEC §10). Every audit line carries
// one of these in its `event` field; nothing else may emit an event name.

export const AUDIT_EVENTS = [
  "auth.success",
  "auth.failure",
  "session.start",
  "session.end",
  "session.denied",
  "upstream.host_key_rejected",
  "upstream.error",
  "command",
  "approval.requested",
  "approval.approved",
  "approval.denied",
  "approval.expired",
  "approval.withdrawn",
  "approval.vote",
  "approval.reused",
  "approval.webhook_failed",
  "grant.revoked",
  "file.transfer",
  "file.op",
  "tunnel.open",
  "tunnel.close",
  "recording.pruned",
  "policy.reload",
  "policy.error",
  "ca.revocation_reload",
  "ca.revocation_error",
  "cert.issued",
  "cert.rejected",
  "signal",
  "signal.alert",
  "signal.alert_failed",
  "mask",
  "server.start",
  "server.stop",
  "share.created",
  "share.used",
  "share.revoked",
] as const;

export type AuditEventName = (typeof AUDIT_EVENTS)[number];

/** Fields every session-scoped event carries (SPEC §10). */
export interface SessionAuditFields {
  session?: string;
  user?: string;
  target?: string;
  login?: string;
  source_ip?: string;
}
