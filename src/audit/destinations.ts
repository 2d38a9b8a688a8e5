// Where the audit log's lines go (`logging`, docs/operations.md "Logs"): stdout (for
// journald, with `<N>` priority prefixes only when stdout is the journal),
// the audit file (rotated by pino-roll when `rotate` is set), a syslog
// collector and an HTTP collector. stdout and the file are written
// synchronously in this thread, so a line is in the kernel before the
// action it records goes on; the forwarders take a copy and deliver it in
// the background.

import { fstatSync } from "node:fs";
import pino from "pino";
import pinoRoll from "pino-roll";
import type { Config } from "../config/schema.js";
import { ConfigError, errorMessage } from "../util/errors.js";
import { HttpForwarder } from "./destinations-http.js";
import {
  type Forwarder,
  type ForwarderReport,
  type ForwardingTuning,
  type LineMeta,
  readSettingFile,
} from "./destinations-queue.js";
import { SyslogForwarder, syslogSeverity } from "./destinations-syslog.js";

export type LoggingConfig = Config["logging"];

export interface AuditDestinations {
  /** What pino writes each line to. */
  stream: pino.DestinationStream;
  /** Writes out what stdout and the file buffer. */
  flushSync(): void;
  /** Lets the forwarders deliver what they hold (bounded in time), reports what they could not, flushes. */
  close(): Promise<void>;
}

/** pino sets `lastLevel`, `lastTime` and `lastObj` on a stream carrying this symbol before each write. */
const PINO_METADATA = Symbol.for("pino.metadata");

const DATE_FORMATS = { hourly: "yyyy-MM-dd-HH", daily: "yyyy-MM-dd" } as const;

/**
 * Opens every configured destination. Files a setting names (the syslog CA,
 * the HTTP authorization) are read first, so a bad one fails start-up
 * before anything connects. `report` logs a forwarder's trouble.
 */
export async function openDestinations(
  logging: LoggingConfig,
  report: ForwarderReport,
  tuning: ForwardingTuning = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<AuditDestinations> {
  const { syslog, http } = logging;
  const ca =
    typeof syslog?.tls === "object"
      ? readSettingFile("logging.syslog.tls.ca", syslog.tls.ca)
      : undefined;
  const authorization =
    http?.authorization_file === undefined ? undefined : readAuthorization(http.authorization_file);
  const primaries: pino.DestinationStream[] = [];
  if (logging.stdout) primaries.push(stdoutStream(env));
  if (logging.audit_file !== undefined) {
    primaries.push(await openFile(logging.audit_file, logging.rotate));
  }
  const forwarders = new Map<string, Forwarder>();
  if (syslog !== undefined)
    forwarders.set("syslog", new SyslogForwarder(syslog, ca, report, tuning));
  if (http !== undefined)
    forwarders.set("http", new HttpForwarder(http, authorization, report, tuning));
  const stream = pino.multistream(
    [...primaries, ...[...forwarders.values()].map(forwarderStream)].map((destination) => ({
      level: "trace" as const, // the logger filters by `logging.level`; every stream takes what it writes
      stream: destination,
    })),
  );
  return {
    stream,
    flushSync: () => stream.flushSync(),
    close: async () => {
      const closing = [...forwarders].map(async ([sink, forwarder]) => {
        const undelivered = await forwarder.close();
        if (undelivered > 0) {
          report("log forwarding: lines not delivered at shutdown", { sink, undelivered });
        }
      });
      await Promise.all(closing);
      stream.flushSync();
    },
  };
}

/** The header's value: the file's content without surrounding whitespace; one line, not empty. */
function readAuthorization(path: string): string {
  const setting = "logging.http.authorization_file";
  const value = readSettingFile(setting, path).toString("utf8").trim();
  if (value === "" || /[\r\n]/.test(value)) {
    throw new ConfigError([`${setting}: ${path} must hold one non-empty line`]);
  }
  return value;
}

/**
 * Whether stdout is a journald stream: systemd sets $JOURNAL_STREAM to its
 * `device:inode` (systemd.exec(5)), and a pipe or file handed on by a
 * wrapper would not match.
 */
export function stdoutIsJournal(env: NodeJS.ProcessEnv): boolean {
  const expected = env.JOURNAL_STREAM;
  if (expected === undefined || expected === "") return false;
  try {
    const { dev, ino } = fstatSync(1, { bigint: true });
    return expected === `${dev}:${ino}`;
  } catch {
    return false;
  }
}

/** Plain JSON lines; `<N>` + the line when stdout is the journal (journald strips it and sets PRIORITY). */
function stdoutStream(env: NodeJS.ProcessEnv): pino.DestinationStream {
  const stdout = pino.destination({ dest: 1, sync: true });
  if (!stdoutIsJournal(env)) return stdout;
  return Object.assign(
    metadataStream((line, meta) => stdout.write(`<${syslogSeverity(meta.level)}>${line}`)),
    { flushSync: () => stdout.flushSync() },
  );
}

async function openFile(
  file: string,
  rotate: LoggingConfig["rotate"],
): Promise<pino.DestinationStream> {
  try {
    return await fileStream(file, rotate);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? errorMessage(error);
    throw new ConfigError([`logging.audit_file: cannot open ${file}: ${reason}`]);
  }
}

/**
 * The audit file, appended to synchronously. With `rotate`, pino-roll's
 * stream (built here, not in a worker) numbers the files, starts a new one
 * at the size limit and at each hour or day, and keeps `keep` old ones.
 */
async function fileStream(
  file: string,
  rotate: LoggingConfig["rotate"],
): Promise<pino.DestinationStream> {
  if (rotate === undefined) return pino.destination({ dest: file, sync: true, mkdir: true });
  return await pinoRoll({
    file,
    size: `${rotate.size}b`,
    ...(rotate.frequency === undefined
      ? {}
      : { frequency: rotate.frequency, dateFormat: DATE_FORMATS[rotate.frequency] }),
    // every numbered file in the directory counts (not only this process's), the current one too
    limit: { count: rotate.keep + 1, removeOtherLogFiles: true },
    symlink: true,
    sync: true,
    mkdir: true,
  });
}

function forwarderStream(forwarder: Forwarder): pino.DestinationStream {
  return metadataStream((line, meta) => forwarder.write(line, meta));
}

/** A stream that hands each line on with what pino knows of it. */
function metadataStream(write: (line: string, meta: LineMeta) => void): pino.DestinationStream {
  const stream = {
    [PINO_METADATA]: true,
    lastLevel: 30,
    lastTime: "",
    lastObj: undefined as unknown,
    write: (line: string) =>
      write(line, {
        level: stream.lastLevel,
        time: isoTime(stream.lastTime),
        event: eventName(stream.lastObj),
      }),
  };
  return stream;
}

/** pino's `lastTime` is the timestamp function's value after `"time":`, here a quoted ISO time. */
function isoTime(lastTime: string): string {
  return /^"([^"]+)"$/.exec(lastTime)?.[1] ?? new Date().toISOString();
}

function eventName(fields: unknown): string | undefined {
  const event = (fields as { event?: unknown } | undefined)?.event;
  return typeof event === "string" ? event : undefined;
}
