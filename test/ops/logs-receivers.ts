// Real collectors for the log forwarding tests: a syslog receiver over TCP
// or TLS that splits RFC 6587 octet-counted frames and parses each RFC 5424
// message, can be stopped and started again on the same port; a
// self-signed certificate for 127.0.0.1 made by openssl; an audit log on a
// file of its own plus the forwarding under test; and a reader for the
// audit file's JSON lines.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { createServer as createTlsServer } from "node:tls";
import type { LoggingConfig } from "../../src/audit/destinations.js";
import type { ForwardingTuning } from "../../src/audit/destinations-queue.js";
import { type AuditLog, openAuditLog } from "../../src/audit/log.js";

/** Quick retries and a short close, for tests. */
export const FAST: ForwardingTuning = { retryBaseMs: 50, retryMaxMs: 200, closeTimeoutMs: 1000 };

/** A private directory removed after the tests. */
export function testDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `portcullis-${label}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let logFiles = 0;

/** An audit log on a file of its own in `dir` (not stdout) and `forwarding`'s sinks; closed after the test. */
export async function forwardingLog(
  dir: string,
  forwarding: Pick<LoggingConfig, "syslog" | "http">,
  tuning: ForwardingTuning = FAST,
): Promise<{ log: AuditLog; file: string }> {
  const file = join(dir, `audit-${++logFiles}.log`);
  const log = await openAuditLog(
    { level: "info", stdout: false, audit_file: file, ...forwarding },
    tuning,
  );
  after(() => log.close?.());
  return { log, file };
}

export interface SyslogMessage {
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  structuredData: string;
  /** The MSG part, parsed as JSON. */
  json: Record<string, unknown>;
  /** The octet count the frame announced. */
  length: number;
}

const RFC5424 = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) (.*)$/s;

function parseMessage(text: string, length: number): SyslogMessage {
  const match = RFC5424.exec(text);
  if (match === null) throw new Error(`not an RFC 5424 message: ${text.slice(0, 200)}`);
  const [, pri, version, timestamp, hostname, appName, procId, msgId, structuredData, msg] =
    match as unknown as string[];
  return {
    pri: Number(pri),
    version: Number(version),
    timestamp: timestamp as string,
    hostname: hostname as string,
    appName: appName as string,
    procId: procId as string,
    msgId: msgId as string,
    structuredData: structuredData as string,
    json: JSON.parse(msg as string) as Record<string, unknown>,
    length,
  };
}

/** Splits `MSG-LEN SP SYSLOG-MSG` frames off `buffer`; returns the messages and what is left. */
function splitFrames(buffer: Buffer): { messages: SyslogMessage[]; rest: Buffer } {
  const messages: SyslogMessage[] = [];
  let rest = buffer;
  for (;;) {
    const space = rest.indexOf(0x20);
    if (space === -1) return { messages, rest };
    const lengthText = rest.subarray(0, space).toString("ascii");
    if (!/^[1-9]\d*$/.test(lengthText)) throw new Error(`bad frame length ${lengthText}`);
    const length = Number(lengthText);
    if (rest.length < space + 1 + length) return { messages, rest };
    const text = rest.subarray(space + 1, space + 1 + length).toString("utf8");
    messages.push(parseMessage(text, length));
    rest = rest.subarray(space + 1 + length);
  }
}

export interface SyslogReceiver {
  readonly port: number;
  readonly messages: SyslogMessage[];
  /** Frames that did not parse (should stay empty). */
  readonly errors: string[];
  /** Closes the listener and every connection (the collector goes away). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Waits until a message satisfies `predicate`. */
  waitFor(
    predicate: (message: SyslogMessage) => boolean,
    timeoutMs?: number,
  ): Promise<SyslogMessage>;
}

export async function startSyslogReceiver(
  tls?: { cert: Buffer; key: Buffer },
  port = 0,
): Promise<SyslogReceiver> {
  const messages: SyslogMessage[] = [];
  const errors: string[] = [];
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    let pending: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      try {
        const split = splitFrames(Buffer.concat([pending, chunk]));
        messages.push(...split.messages);
        pending = split.rest;
      } catch (error) {
        errors.push(String(error));
        socket.destroy();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  };
  let server: Server;
  const listen = async (onPort: number) => {
    server = tls === undefined ? createTcpServer(onConnection) : createTlsServer(tls, onConnection);
    await new Promise<void>((resolve) => server.listen(onPort, "127.0.0.1", resolve));
    return (server.address() as { port: number }).port;
  };
  const boundPort = await listen(port);
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  after(() => (server.listening ? stop() : undefined));
  return {
    port: boundPort,
    messages,
    errors,
    stop,
    start: async () => {
      await listen(boundPort);
    },
    waitFor: async (predicate, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(predicate);
        if (found !== undefined) return found;
        if (Date.now() > deadline) {
          throw new Error(`no such syslog message among ${messages.length}; errors: ${errors}`);
        }
        await new Promise((wake) => setTimeout(wake, 20));
      }
    },
  };
}

/** A self-signed certificate for 127.0.0.1 (cert.pem, key.pem in `dir`). */
export function selfSignedCertificate(dir: string): {
  cert: Buffer;
  key: Buffer;
  certPath: string;
} {
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
      ...["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1"],
      ...["-keyout", keyPath, "-out", certPath],
    ],
    { stdio: "ignore" },
  );
  return { cert: readFileSync(certPath), key: readFileSync(keyPath), certPath };
}

/** The JSON lines of a log file (none when it does not exist yet). */
export function logLines(path: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
