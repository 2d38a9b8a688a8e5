// What the forwarding sinks (syslog, HTTP) share: their interface, a bounded
// FIFO of lines that drops the oldest when full and counts what it dropped,
// the retry delays, the tuning a test (or an embedder) may change, and the
// reading of the files their settings name.

import { readFileSync } from "node:fs";
import { ConfigError } from "../util/errors.js";

export interface ForwardingTuning {
  /** Bytes a forwarder holds while its collector is away; default 8 MiB. */
  bufferBytes?: number;
  /** The first retry's delay; it doubles up to `retryMaxMs`. Default 500 ms. */
  retryBaseMs?: number;
  /** Default 30 s. */
  retryMaxMs?: number;
  /** How long `close` waits for a forwarder to deliver what it holds; default 5 s. */
  closeTimeoutMs?: number;
}

const DEFAULT_BUFFER_BYTES = 8 * 2 ** 20;
const DEFAULT_RETRY_BASE_MS = 500;
const DEFAULT_RETRY_MAX_MS = 30_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

/** The delay before retry number `attempt` (0-based): doubling, capped. */
export function retryDelayMs(attempt: number, tuning: ForwardingTuning): number {
  const base = tuning.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
  return Math.min(tuning.retryMaxMs ?? DEFAULT_RETRY_MAX_MS, base * 2 ** Math.min(attempt, 30));
}

export function closeDeadline(tuning: ForwardingTuning): number {
  return Date.now() + (tuning.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
}

/** Reports a forwarder's trouble as a `warn` line (called from timers and socket events only). */
export type ForwarderReport = (message: string, fields: Record<string, unknown>) => void;

/** What pino knows of a line besides its text (its metadata, see destinations.ts). */
export interface LineMeta {
  /** pino's numeric level. */
  level: number;
  /** The line's `time` (ISO 8601). */
  time: string;
  /** The audit event's name; undefined on operational lines. */
  event: string | undefined;
}

/** A sink that forwards lines in the background; `write` never blocks and never throws. */
export interface Forwarder {
  write(line: string, meta: LineMeta): void;
  /**
   * Delivers what it holds (until the close timeout), then stops; resolves
   * with the lines left undelivered (still buffered, or dropped since the last report).
   */
  close(): Promise<number>;
}

/** FIFO of strings bounded in bytes (lines are ASCII or counted as UTF-16 units: a bound, not an exact size). */
export class LineQueue {
  private items: string[] = [];
  private head = 0;
  private size = 0;
  private droppedCount = 0;
  private readonly maxBytes: number;

  constructor(tuning: ForwardingTuning) {
    this.maxBytes = tuning.bufferBytes ?? DEFAULT_BUFFER_BYTES;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(line: string): void {
    this.items.push(line);
    this.size += line.length;
    this.dropOverflow();
  }

  /** Puts lines taken earlier back in front (a failed delivery), then drops the oldest if over the bound. */
  putBack(lines: readonly string[]): void {
    this.items = [...lines, ...this.items.slice(this.head)];
    this.head = 0;
    for (const line of lines) this.size += line.length;
    this.dropOverflow();
  }

  shift(): string | undefined {
    if (this.length === 0) return undefined;
    const line = this.items[this.head++] as string;
    this.size -= line.length;
    this.compact();
    return line;
  }

  /** Up to `maxLines` lines and about `maxBytes` (at least one line), oldest first. */
  take(maxLines: number, maxBytes: number): string[] {
    const taken: string[] = [];
    let bytes = 0;
    while (this.length > 0 && taken.length < maxLines) {
      const next = this.items[this.head] as string;
      if (taken.length > 0 && bytes + next.length > maxBytes) break;
      bytes += next.length;
      taken.push(this.shift() as string);
    }
    return taken;
  }

  /** Lines dropped since the last call. */
  takeDropped(): number {
    const dropped = this.droppedCount;
    this.droppedCount = 0;
    return dropped;
  }

  private dropOverflow(): void {
    while (this.size > this.maxBytes && this.length > 0) {
      this.shift();
      this.droppedCount++;
    }
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/** A file a setting names (a CA, a header), read at start-up; a one-line ConfigError when it cannot be. */
export function readSettingFile(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError([`${setting}: cannot read ${path}: ${code}`]);
  }
}

/**
 * A forwarder's reports: once when its collector becomes unreachable, the
 * lines dropped since the last report at every failed retry, and once when
 * the collector is back.
 */
export class OutageReports {
  private active = false;

  constructor(
    private readonly sink: "syslog" | "http",
    private readonly queue: LineQueue,
    private readonly report: ForwarderReport,
  ) {}

  failed(reason: string): void {
    if (!this.active) {
      this.active = true;
      this.report(`${this.sink} forwarding: the collector is unreachable; buffering`, {
        sink: this.sink,
        reason,
      });
    }
    const dropped = this.queue.takeDropped();
    if (dropped > 0) {
      this.report(`${this.sink} forwarding: buffer full, dropped the oldest lines`, {
        sink: this.sink,
        dropped,
      });
    }
  }

  recovered(): void {
    if (!this.active) return;
    this.active = false;
    this.report(`${this.sink} forwarding: the collector is reachable again`, {
      sink: this.sink,
      dropped: this.queue.takeDropped(),
    });
  }
}
