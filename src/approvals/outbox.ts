// The audit log of a process that has no audit log of its own (the local
// CLI): approval events go into the database's outbox, in the same file as
// the requests, and the running server emits them into its audit log and
// index (one writer keeps the index's hash chain whole). Every event carries
// the process's extra fields (e.g. the unix user).
import type { AuditLog } from "../audit/log.js";
import type { ApprovalStore } from "./store.js";

export function outboxAuditLog(
  store: ApprovalStore,
  now: () => Date,
  extra: Record<string, unknown>,
  report: (line: string) => void,
): AuditLog {
  return {
    emit: (event, fields = {}) =>
      store.appendEvent({ time: now(), event, fields: { ...fields, ...extra } }),
    info: () => {},
    error: (message) => report(message),
    flush: () => {},
  };
}
