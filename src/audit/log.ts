// The audit log: one JSON line per event (pino), with an ISO `time`, the
// event name and the session fields. Written synchronously so that an event
// is on disk (or on stdout for journald) before the action it records goes on.

import pino from "pino";
import type { AuditEventName, SessionAuditFields } from "./events.js";

export type AuditFields = SessionAuditFields & Record<string, unknown>;

export interface AuditLog {
  emit(event: AuditEventName, fields?: AuditFields): void;
  /** Operational (non-audit) messages, e.g. "listening on …". */
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  flush(): void;
}

export interface AuditLogOptions {
  level?: string;
  /** Append to this file; stdout when absent. */
  file?: string;
}

export function createAuditLog(options: AuditLogOptions = {}): AuditLog {
  const destination = pino.destination({
    dest: options.file ?? 1,
    sync: true,
    mkdir: options.file !== undefined,
  });
  const logger = pino(
    {
      level: options.level ?? "info",
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return {
    emit: (event, fields = {}) => logger.info({ event, ...fields }),
    info: (message, fields = {}) => logger.info(fields, message),
    error: (message, fields = {}) => logger.error(fields, message),
    flush: () => destination.flushSync(),
  };
}
