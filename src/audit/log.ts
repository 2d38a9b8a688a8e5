// The audit log: one JSON line per event (pino), with an ISO `time`, the
// event name and the session fields. stdout and the audit file are written
// synchronously so that an event is on disk (or on stdout for journald)
// before the action it records goes on; syslog and HTTP collectors get a
// copy in the background (destinations.ts, docs/operations.md "Logs").

import pino, { type Logger } from "pino";
import { type LoggingConfig, openDestinations } from "./destinations.js";
import type { ForwardingTuning } from "./destinations-queue.js";
import type { AuditEventName, SessionAuditFields } from "./events.js";

export type AuditFields = SessionAuditFields & Record<string, unknown>;

export interface AuditLog {
  emit(event: AuditEventName, fields?: AuditFields): void;
  /** Operational (non-audit) messages, e.g. "listening on …". */
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  flush(): void;
  /**
   * At shutdown, after the last event: lets the forwarders deliver what they
   * hold (a few seconds at most). stdout and the file stay open.
   */
  close?(): Promise<void>;
}

export interface AuditLogOptions {
  level?: string;
  /** Append to this file; stdout when absent. */
  file?: string;
}

/** The audit log on one synchronous destination: a file, or stdout. */
export function createAuditLog(options: AuditLogOptions = {}): AuditLog {
  const destination = pino.destination({
    dest: options.file ?? 1,
    sync: true,
    mkdir: options.file !== undefined,
  });
  return auditLogOn(auditLogger(options.level, destination), () => destination.flushSync());
}

/** The audit log on every destination `logging` configures (stdout, file, syslog, HTTP). */
export async function openAuditLog(
  logging: LoggingConfig,
  tuning: ForwardingTuning = {},
): Promise<AuditLog> {
  let logger: Logger | undefined;
  const destinations = await openDestinations(
    logging,
    (message, fields) => logger?.warn(fields, message),
    tuning,
  );
  logger = auditLogger(logging.level, destinations.stream);
  return {
    ...auditLogOn(logger, destinations.flushSync),
    close: destinations.close,
  };
}

function auditLogger(level: string | undefined, destination: pino.DestinationStream): Logger {
  return pino(
    {
      level: level ?? "info",
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

function auditLogOn(logger: Logger, flush: () => void): AuditLog {
  return {
    emit: (event, fields = {}) => logger.info({ event, ...fields }),
    info: (message, fields = {}) => logger.info(fields, message),
    error: (message, fields = {}) => logger.error(fields, message),
    flush,
  };
}
