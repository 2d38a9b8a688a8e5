// One open recording: events are encoded into whole asciicast lines,
// queued in memory and written by a single asynchronous pump (never a
// synchronous fs call on the data path), fdatasync'ed on a timer beside the
// pump, hashed as they are written. A write error or an unbounded backlog fails the recording
// once (fail closed): the file is cut back to its last whole line and closed,
// and close() still resolves with the digest of what is in it.
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { errorMessage } from "../util/errors.js";
import { type EventCode, eventBytes, resizeData } from "./cast-format.js";
import { closeFd, datasyncFd, fsyncDirectory, fsyncFd, truncateFd, writeFully } from "./fd-io.js";
import { JsonTextEncoder, jsonStringBytes } from "./json-text.js";
import { type ClosedRecording, RecordingError, type SessionRecording } from "./types.js";

export interface OpenedFile {
  readonly fd: number;
  readonly relativePath: string;
  readonly absolutePath: string;
  /** The header line already written at offset 0. */
  readonly header: Buffer;
  readonly startedMs: number;
}

export interface WriterSettings {
  readonly fsyncIntervalMs: number;
  readonly maxBufferedBytes: number;
  readonly now: () => number;
}

type State = "open" | "closing" | "closed" | "failed";

export class LocalSessionRecording implements SessionRecording {
  readonly relativePath: string;
  private state: State = "open";
  private readonly hash = createHash("sha256");
  private readonly outputEncoder = new JsonTextEncoder();
  private readonly inputEncoder = new JsonTextEncoder();
  private pending: Buffer[] = [];
  /** Bytes formatted but not yet written (queued and in flight). */
  private unwrittenBytes = 0;
  /** File length so far; always at the end of a whole line. */
  private writtenBytes: number;
  private lastSeconds = 0;
  private pumpRunning = false;
  private pumpDone: Promise<void> = Promise.resolve();
  private syncTimer: NodeJS.Timeout | undefined;
  private syncRunning = false;
  private syncDone: Promise<void> = Promise.resolve();
  private directorySynced = false;
  private failure: RecordingError | undefined;
  private failureListeners: ((error: Error) => void)[] = [];
  private closing: Promise<ClosedRecording> | undefined;
  /** Settles once a failed recording's file is cut back and closed. */
  private released: Promise<void> = Promise.resolve();
  private backlogWaiters: Array<{ bytes: number; wake: () => void }> = [];

  constructor(
    private readonly file: OpenedFile,
    private readonly settings: WriterSettings,
  ) {
    this.relativePath = file.relativePath;
    this.hash.update(file.header);
    this.writtenBytes = file.header.length;
    this.scheduleSync();
  }

  output(data: Buffer): void {
    if (this.state === "open") this.append("o", this.outputEncoder.write(data));
  }

  input(data: Buffer | string): void {
    if (this.state !== "open") return;
    if (typeof data === "string") this.appendText("i", data);
    else this.append("i", this.inputEncoder.write(data));
  }

  resize(cols: number, rows: number): void {
    this.appendText("r", resizeData(cols, rows));
  }

  marker(label: string): void {
    this.appendText("m", label);
  }

  close(): Promise<ClosedRecording> {
    this.closing ??= this.finish();
    return this.closing;
  }

  get backlog(): number {
    return this.unwrittenBytes;
  }

  whenBelow(bytes: number): Promise<void> {
    if (this.unwrittenBytes <= bytes || this.state !== "open") return Promise.resolve();
    return new Promise((wake) => this.backlogWaiters.push({ bytes, wake }));
  }

  /** Wakes the waiters whose threshold the backlog is now under (all of them once it cannot shrink). */
  private wakeBacklogWaiters(): void {
    const open = this.state === "open";
    const waiting = this.backlogWaiters;
    this.backlogWaiters = waiting.filter((waiter) => open && this.unwrittenBytes > waiter.bytes);
    for (const waiter of waiting) if (!this.backlogWaiters.includes(waiter)) waiter.wake();
  }

  onFailure(listener: (error: Error) => void): void {
    const failure = this.failure;
    if (failure === undefined) this.failureListeners.push(listener);
    else queueMicrotask(() => listener(failure));
  }

  private appendText(code: EventCode, text: string): void {
    if (this.state === "open") this.append(code, jsonStringBytes(Buffer.from(text)));
  }

  /** `literal` is a JSON string literal; `""` and undefined (nothing yet) are skipped. */
  private append(code: EventCode, literal: Buffer | undefined): void {
    if (this.state !== "open" || literal === undefined || literal.length === 2) return;
    const line = eventBytes(this.elapsedSeconds(), code, literal);
    this.pending.push(line);
    this.unwrittenBytes += line.length;
    if (this.unwrittenBytes > this.settings.maxBufferedBytes) {
      this.fail(this.backlogError());
      return;
    }
    this.startPump();
  }

  /** Seconds since the start, never going backwards even if the clock does. */
  private elapsedSeconds(): number {
    const seconds = (this.settings.now() - this.file.startedMs) / 1000;
    this.lastSeconds = Math.max(this.lastSeconds, seconds);
    return this.lastSeconds;
  }

  private startPump(): void {
    if (this.pumpRunning) return;
    this.pumpRunning = true;
    this.pumpDone = this.pump();
  }

  /** Runs while there is work; the flag is cleared in the same tick as the last check. */
  private async pump(): Promise<void> {
    try {
      for (;;) {
        if (this.state === "failed" || this.pending.length === 0) break;
        await this.writePending();
      }
    } catch (error) {
      this.fail(this.writeError(error));
    }
    this.pumpRunning = false;
  }

  private async writePending(): Promise<void> {
    const buffer =
      this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [];
    await writeFully(this.file.fd, buffer, this.writtenBytes);
    this.hash.update(buffer);
    this.writtenBytes += buffer.length;
    this.unwrittenBytes -= buffer.length;
    this.wakeBacklogWaiters();
    this.scheduleSync();
  }

  private scheduleSync(): void {
    if (this.syncTimer !== undefined) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.startSync();
    }, this.settings.fsyncIntervalMs);
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
      await datasyncFd(this.file.fd);
      await this.syncDirectoryOnce();
    } catch (error) {
      this.fail(this.writeError(error));
    }
    this.syncRunning = false;
    if (this.state === "open" && this.writtenBytes > syncedBytes) this.scheduleSync();
  }

  private async syncDirectoryOnce(): Promise<void> {
    if (this.directorySynced) return;
    await fsyncDirectory(dirname(this.file.absolutePath));
    this.directorySynced = true;
  }

  /** Never rejects: after a failure it resolves with what was written as whole lines. */
  private async finish(): Promise<ClosedRecording> {
    this.append("o", this.outputEncoder.end());
    this.append("i", this.inputEncoder.end());
    if (this.state === "open") this.state = "closing";
    this.wakeBacklogWaiters();
    await this.waitForIdle();
    if (this.state === "closing") await this.syncAndClose();
    await this.released;
    return {
      relativePath: this.relativePath,
      sha256: this.hash.digest("hex"),
      bytes: this.writtenBytes,
    };
  }

  private async syncAndClose(): Promise<void> {
    this.stopSyncTimer();
    try {
      await fsyncFd(this.file.fd);
      await this.syncDirectoryOnce();
    } catch (error) {
      this.fail(this.writeError(error));
      return;
    }
    this.state = "closed";
    await closeFd(this.file.fd).catch((error: unknown) => this.markFailed(this.writeError(error)));
  }

  /** Until neither a write nor an fdatasync is in flight on the descriptor. */
  private async waitForIdle(): Promise<void> {
    while (this.pumpRunning || this.syncRunning) await Promise.all([this.pumpDone, this.syncDone]);
  }

  private fail(error: RecordingError): void {
    if (this.state === "failed") return;
    this.markFailed(error);
    this.released = this.releaseFile();
  }

  /** Records the failure, drops queued data and tells each listener once. */
  private markFailed(error: RecordingError): void {
    this.state = "failed";
    this.failure = error;
    this.pending = [];
    this.stopSyncTimer();
    this.wakeBacklogWaiters();
    const listeners = this.failureListeners;
    this.failureListeners = [];
    for (const listener of listeners) queueMicrotask(() => listener(error));
  }

  /** After the pump stops: cut a torn write back to the last whole line, sync, close (best effort). */
  private async releaseFile(): Promise<void> {
    await this.waitForIdle();
    await truncateFd(this.file.fd, this.writtenBytes).catch(() => undefined);
    await datasyncFd(this.file.fd).catch(() => undefined);
    await closeFd(this.file.fd).catch(() => undefined);
  }

  private stopSyncTimer(): void {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
  }

  private writeError(error: unknown): RecordingError {
    const reason = errorMessage(error).replace(/\s+/g, " ");
    return new RecordingError(
      "ERR_RECORDING_WRITE",
      `recording ${this.relativePath} could not be written: ${reason}`,
    );
  }

  private backlogError(): RecordingError {
    const mib = (this.settings.maxBufferedBytes / 2 ** 20).toFixed(1);
    return new RecordingError(
      "ERR_RECORDING_BACKLOG",
      `recording ${this.relativePath} could not be written: more than ${mib} MiB waiting for the disk`,
    );
  }
}
