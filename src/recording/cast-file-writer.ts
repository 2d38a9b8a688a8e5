// One recording's file, in the writer thread: batches of events are encoded
// straight into whole asciicast lines in a fill buffer, written by a single
// asynchronous pump (two buffers take turns: one fills while the other is
// written), hashed as they are written, and fdatasync'ed on a timer beside
// the pump; each write and fdatasync reports its duration (for /metrics).
// A write error fails the file once (fail closed): it is cut back
// to its last whole line, and close() still reports the digest of what is in
// it. The descriptor belongs to the main thread, which opened it and closes
// it once the writer reports the file closed.
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { errorMessage } from "../util/errors.js";
import { type EventCode, eventPrefix, LINE_END } from "./cast-format.js";
import { datasyncFd, fsyncDirectory, fsyncFd, truncateFd, writeFully } from "./fd-io.js";
import { escapeJsonInto, maxLiteralLength, Utf8Joiner } from "./json-text.js";
import {
  type EventBatch,
  EventKind,
  type FromWriter,
  type OpenMessage,
} from "./writer-protocol.js";

const FILL_BYTES = 256 * 1024;
/** A fill buffer that grew beyond this (a huge event) is not kept for reuse. */
const KEEP_BYTES = 4 * 2 ** 20;
/** Room for `[seconds, "o", ` and `]\n` around a literal. */
const LINE_OVERHEAD = 48;

const CODES: Record<EventKind, EventCode> = ["o", "i", "i", "r", "m"];

type State = "open" | "closing" | "closed" | "failed";

function secondsSince(startedMs: number): number {
  return (performance.now() - startedMs) / 1000;
}

function writeAscii(text: string, out: Uint8Array, at: number): number {
  for (let index = 0; index < text.length; index++) out[at + index] = text.charCodeAt(index);
  return at + text.length;
}

export class CastFileWriter {
  private state: State = "open";
  private readonly hash = createHash("sha256");
  private readonly outputText = new Utf8Joiner();
  private readonly inputText = new Utf8Joiner();
  private fill: Uint8Array = new Uint8Array(FILL_BYTES);
  private spare: Uint8Array | undefined = new Uint8Array(FILL_BYTES);
  private fillLength = 0;
  /** Event bytes (before encoding) whose lines are in the fill buffer. */
  private fillEventBytes = 0;
  /** File length so far; always at the end of a whole line. */
  private writtenBytes: number;
  private pumpRunning = false;
  private pumpDone: Promise<void> = Promise.resolve();
  private syncTimer: NodeJS.Timeout | undefined;
  private syncRunning = false;
  private syncDone: Promise<void> = Promise.resolve();
  private directorySynced = false;
  private closing: Promise<void> | undefined;
  /** Settles once a failed file is cut back. */
  private released: Promise<void> = Promise.resolve();
  private lastEventSeconds = 0;

  constructor(
    private readonly file: OpenMessage,
    private readonly report: (message: FromWriter) => void,
  ) {
    this.hash.update(file.header);
    this.writtenBytes = file.header.length;
    this.scheduleSync();
  }

  append(batch: EventBatch): void {
    if (this.state !== "open") return;
    let offset = 0;
    for (let index = 0; index < batch.kinds.length; index++) {
      const length = batch.lengths[index] as number;
      const data = batch.data.subarray(offset, offset + length);
      this.encodeEvent(batch.kinds[index] as EventKind, batch.seconds[index] as number, data);
      offset += length;
    }
    this.fillEventBytes += batch.data.length;
    this.startPump();
  }

  /** Writes what is queued and fsyncs (or cuts a failed file back), then reports the digest. */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private encodeEvent(kind: EventKind, seconds: number, data: Uint8Array): void {
    this.lastEventSeconds = seconds;
    const text = this.completeText(kind, data);
    if (text !== undefined && text.length > 0) this.appendLine(seconds, CODES[kind], text);
  }

  /** The streams' bytes are joined into whole characters; other events are whole texts. */
  private completeText(kind: EventKind, data: Uint8Array): Uint8Array | undefined {
    if (kind === EventKind.output) return this.outputText.write(data);
    if (kind === EventKind.input) return this.inputText.write(data);
    return data;
  }

  private appendLine(seconds: number, code: EventCode, text: Uint8Array): void {
    this.reserve(LINE_OVERHEAD + maxLiteralLength(text.length));
    const fill = this.fill;
    let at = this.fillLength;
    at = writeAscii(eventPrefix(seconds, code), fill, at);
    at = escapeJsonInto(text, fill, at);
    fill.set(LINE_END, at);
    at += LINE_END.length;
    this.fillLength = at;
  }

  private reserve(bytes: number): void {
    if (this.fillLength + bytes <= this.fill.length) return;
    const larger = new Uint8Array(Math.max(this.fill.length * 2, this.fillLength + bytes));
    larger.set(this.fill.subarray(0, this.fillLength));
    this.fill = larger;
  }

  private startPump(): void {
    if (this.pumpRunning) return;
    this.pumpRunning = true;
    this.pumpDone = this.pump();
  }

  /** Runs while there is work; the flag is cleared in the same tick as the last check. */
  private async pump(): Promise<void> {
    try {
      while (this.state !== "failed" && (this.fillLength > 0 || this.fillEventBytes > 0))
        await this.writeFill();
    } catch (error) {
      this.fail(error);
    }
    this.pumpRunning = false;
  }

  /** Hands the fill buffer to the disk and goes on filling the other one. */
  private async writeFill(): Promise<void> {
    const full = this.fill;
    const lines = full.subarray(0, this.fillLength);
    const eventBytes = this.fillEventBytes;
    this.fill = this.spare ?? new Uint8Array(FILL_BYTES);
    this.spare = undefined;
    this.fillLength = 0;
    this.fillEventBytes = 0;
    const started = performance.now();
    await writeFully(this.file.fd, lines, this.writtenBytes);
    const seconds = secondsSince(started);
    this.hash.update(lines);
    this.writtenBytes += lines.length;
    if (full.length <= KEEP_BYTES) this.spare = full;
    this.report({
      type: "written",
      handle: this.file.handle,
      bytes: eventBytes,
      fileBytes: lines.length,
      seconds,
    });
    this.scheduleSync();
  }

  private scheduleSync(): void {
    if (this.syncTimer !== undefined) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.startSync();
    }, this.file.fsyncIntervalMs);
    this.syncTimer.unref();
  }

  /** Runs beside the write pump, so a slow fdatasync never holds writes back. */
  private startSync(): void {
    if (this.syncRunning || this.state !== "open") return;
    this.syncRunning = true;
    this.syncDone = this.syncData();
  }

  private async syncData(): Promise<void> {
    const syncedBytes = this.writtenBytes;
    try {
      const started = performance.now();
      await datasyncFd(this.file.fd);
      this.report({ type: "synced", handle: this.file.handle, seconds: secondsSince(started) });
      await this.syncDirectoryOnce();
    } catch (error) {
      this.fail(error);
    }
    this.syncRunning = false;
    if (this.state === "open" && this.writtenBytes > syncedBytes) this.scheduleSync();
  }

  private async syncDirectoryOnce(): Promise<void> {
    if (this.directorySynced) return;
    await fsyncDirectory(dirname(this.file.absolutePath));
    this.directorySynced = true;
  }

  private async finish(): Promise<void> {
    if (this.state === "open") {
      this.flushUnfinishedCharacters();
      this.state = "closing";
      this.startPump();
    }
    await this.waitForIdle();
    if (this.state === "closing") await this.syncForClose();
    await this.released;
    this.report({
      type: "closed",
      handle: this.file.handle,
      sha256: this.hash.digest("hex"),
      bytes: this.writtenBytes,
    });
  }

  /** Bytes of a character that never finished become U+FFFD, at the time of the last event. */
  private flushUnfinishedCharacters(): void {
    for (const [code, joiner] of [
      ["o", this.outputText],
      ["i", this.inputText],
    ] as const) {
      const rest = joiner.end();
      if (rest !== undefined) this.appendLine(this.lastEventSeconds, code, rest);
    }
  }

  private async syncForClose(): Promise<void> {
    this.stopSyncTimer();
    try {
      await fsyncFd(this.file.fd);
      await this.syncDirectoryOnce();
      this.state = "closed";
    } catch (error) {
      this.fail(error);
    }
  }

  /** Until neither a write nor an fdatasync is in flight on the descriptor. */
  private async waitForIdle(): Promise<void> {
    while (this.pumpRunning || this.syncRunning) await Promise.all([this.pumpDone, this.syncDone]);
  }

  /** Reports the failure once, drops whatever is not written yet and cuts the file back. */
  private fail(error: unknown): void {
    if (this.state === "failed") return;
    this.state = "failed";
    this.fillLength = 0;
    this.fillEventBytes = 0;
    this.stopSyncTimer();
    const reason = errorMessage(error).replace(/\s+/g, " ");
    this.report({
      type: "failed",
      handle: this.file.handle,
      code: "ERR_RECORDING_WRITE",
      message: `recording ${this.file.relativePath} could not be written: ${reason}`,
    });
    this.released = this.releaseFile();
  }

  /** After the pump stops: cut a torn write back to the last whole line and sync (best effort). */
  private async releaseFile(): Promise<void> {
    await this.waitForIdle();
    await truncateFd(this.file.fd, this.writtenBytes).catch(() => undefined);
    await datasyncFd(this.file.fd).catch(() => undefined);
  }

  private stopSyncTimer(): void {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
  }
}
