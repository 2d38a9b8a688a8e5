// Forwarding to a syslog collector (`logging.syslog`): each line becomes an
// RFC 5424 message (PRI from the facility and the line's level, the line's
// own timestamp, this host, APP-NAME, the pid, the event name as MSGID, no
// structured data, the JSON line as MSG), framed by octet counting (RFC 6587
// §3.4.1, as RFC 5425 requires over TLS) and sent over TCP, or TLS when
// `tls` is set. The connection is retried with backoff whenever it fails;
// meanwhile lines wait in a bounded buffer (oldest dropped and counted).
// Nothing here blocks or throws into the caller.

import { isIP, type Socket, connect as tcpConnect } from "node:net";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { connect as tlsConnect } from "node:tls";
import type { HostPort } from "../policy/address.js";
import {
  closeDeadline,
  type Forwarder,
  type ForwarderReport,
  type ForwardingTuning,
  type LineMeta,
  LineQueue,
  OutageReports,
  retryDelayMs,
} from "./destinations-queue.js";

export const SYSLOG_FACILITIES = {
  auth: 4,
  daemon: 3,
  authpriv: 10,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;

export interface SyslogOptions {
  address: HostPort;
  /** true: verify against the system's CAs; `{ ca }`: against this PEM file. */
  tls: boolean | { ca: string };
  app_name: string;
  facility: keyof typeof SYSLOG_FACILITIES;
}

/** Bytes handed to the socket but not yet to the kernel before new lines wait in the buffer instead. */
const SOCKET_HIGH_WATER = 64 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;
const KEEPALIVE_MS = 30_000;

/** RFC 5424 severity of a pino level: fatal 2 (crit), error 3, warn 4, info 6, debug and trace 7. */
export function syslogSeverity(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

/** A header field: printable US-ASCII only, at most `max` characters, `-` (NILVALUE) when empty. */
function headerField(text: string, max: number): string {
  const printable = text.replace(/[^\x21-\x7e]/g, "_").slice(0, max);
  return printable === "" ? "-" : printable;
}

/** The JSON line as pure ASCII (non-ASCII as \uXXXX escapes: the same JSON value), without its newline. */
function asciiJson(line: string): string {
  return line
    .trimEnd()
    .replace(
      /[\u0080-\uffff]/g,
      (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
}

/** `ca` is the content of `tls.ca` (read by the caller, before anything connects). */
export class SyslogForwarder implements Forwarder {
  private readonly queue: LineQueue;
  /** The facility's part of PRI. */
  private readonly priBase: number;
  /** `HOSTNAME APP-NAME PROCID`. */
  private readonly header: string;
  private socket: Socket | undefined;
  private connected = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly outage: OutageReports;
  private closing = false;
  private closed = false;

  constructor(
    private readonly options: SyslogOptions,
    private readonly ca: Buffer | undefined,
    report: ForwarderReport,
    private readonly tuning: ForwardingTuning,
  ) {
    this.queue = new LineQueue(tuning);
    this.outage = new OutageReports("syslog", this.queue, report);
    this.priBase = SYSLOG_FACILITIES[options.facility] * 8;
    this.header = `${headerField(hostname(), 255)} ${headerField(options.app_name, 48)} ${process.pid}`;
    this.connect();
  }

  write(line: string, meta: LineMeta): void {
    if (this.closed) return;
    this.queue.push(this.frame(line, meta));
    this.pump();
  }

  /** `MSG-LEN SP SYSLOG-MSG`; everything is ASCII, so its length is its octet count. */
  private frame(line: string, meta: LineMeta): string {
    const pri = this.priBase + syslogSeverity(meta.level);
    const msgId = meta.event === undefined ? "-" : headerField(meta.event, 32);
    const message = `<${pri}>1 ${meta.time} ${this.header} ${msgId} - ${asciiJson(line)}`;
    return `${message.length} ${message}`;
  }

  async close(): Promise<number> {
    const deadline = closeDeadline(this.tuning);
    this.closing = true;
    this.socket?.ref();
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.connect();
    }
    while (Date.now() < deadline && !this.delivered()) await sleep(20);
    this.closed = true;
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    if (socket !== undefined) {
      socket.end();
      const timeLeft = Math.max(0, deadline - Date.now());
      // not events.once: it rejects when the socket fails first (a reset, a refused connect)
      const closed = new Promise((resolve) => socket.once("close", resolve));
      await Promise.race([closed, sleep(timeLeft, undefined, { ref: false })]);
      socket.destroy();
    }
    return this.queue.length + this.queue.takeDropped();
  }

  private delivered(): boolean {
    return this.queue.length === 0 && (this.socket?.writableLength ?? 0) === 0;
  }

  private connect(): void {
    this.retryTimer = undefined;
    const { host, port } = this.options.address;
    const secure = this.options.tls !== false;
    const socket = secure
      ? tlsConnect({
          host,
          port,
          ...(this.ca === undefined ? {} : { ca: this.ca }),
          ...(isIP(host) === 0 ? { servername: host } : {}),
        })
      : tcpConnect({ host, port });
    this.socket = socket;
    if (!this.closing) socket.unref();
    let reason = "closed";
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error("timed out")));
    socket.once(secure ? "secureConnect" : "connect", () => {
      socket.setTimeout(0);
      socket.setKeepAlive(true, KEEPALIVE_MS);
      this.connected = true;
      this.attempt = 0;
      this.pump(); // first, so that the report below finds room in the buffer
      this.outage.recovered();
    });
    socket.on("drain", () => this.pump());
    /** Nothing more is written to a socket that failed, even before it is closed. */
    const lost = () => {
      if (socket === this.socket) this.connected = false;
    };
    socket.on("error", (error: NodeJS.ErrnoException) => {
      reason = error.code ?? error.message;
      lost();
    });
    socket.on("end", () => {
      lost();
      socket.destroy(); // the collector closed its side: it is gone
    });
    socket.on("close", () => this.disconnected(socket, reason));
    socket.resume(); // read (and ignore) whatever the collector sends, to see its end
  }

  private pump(): void {
    const socket = this.socket;
    if (!this.connected || socket === undefined) return;
    while (socket.writableLength < SOCKET_HIGH_WATER) {
      const message = this.queue.shift();
      if (message === undefined) return;
      socket.write(message);
    }
  }

  private disconnected(socket: Socket, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.connected = false;
    if (this.closed) return;
    this.outage.failed(reason);
    const timer = setTimeout(() => this.connect(), retryDelayMs(this.attempt++, this.tuning));
    if (!this.closing) timer.unref();
    this.retryTimer = timer;
  }
}
