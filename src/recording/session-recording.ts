// One open recording, on the main thread: events are timed here, as they
// pass, and sent in batches (5 ms after the first event, or sooner when one
// would outgrow its buffer) to the writer thread, which encodes, hashes and writes them
// (cast-file-writer.ts). This side keeps what the session needs to know: the
// bytes not yet written (for pacing, and a bound whose excess fails the
// recording), the failure (told once to each listener) and the digest at
// close.
import { resizeData } from "./cast-format.js";
import { type ClosedRecording, RecordingError, type SessionRecording } from "./types.js";
import { EventBatchBuilder, EventKind } from "./writer-protocol.js";
import type { RecordingWriterThread } from "./writer-thread.js";

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

/**
 * A batch goes to the writer this long after its first event (or sooner when
 * full): a bulk transfer then sends a few large messages instead of one per
 * network read. Event times are taken as events arrive, not when sent.
 */
const SEND_AFTER_MS = 5;

type State = "open" | "closing" | "closed" | "failed";

export class LocalSessionRecording implements SessionRecording {
  readonly relativePath: string;
  private state: State = "open";
  private readonly handle: number;
  private readonly batch: EventBatchBuilder;
  private sendScheduled = false;
  /** Event bytes accepted but not yet in the file (batched and in the writer). */
  private unwrittenBytes = 0;
  private lastSeconds = 0;
  private closeSent = false;
  private failure: RecordingError | undefined;
  private failureListeners: ((error: Error) => void)[] = [];
  private backlogWaiters: Array<{ bytes: number; wake: () => void }> = [];
  private readonly closed: Promise<ClosedRecording>;

  constructor(
    private readonly file: OpenedFile,
    private readonly settings: WriterSettings,
    private readonly writer: RecordingWriterThread,
  ) {
    this.relativePath = file.relativePath;
    this.batch = new EventBatchBuilder();
    let whenClosed: (result: ClosedRecording) => void = () => undefined;
    this.closed = new Promise((resolve) => {
      whenClosed = resolve;
    });
    this.handle = writer.open(
      {
        fd: file.fd,
        relativePath: file.relativePath,
        absolutePath: file.absolutePath,
        header: file.header,
        fsyncIntervalMs: settings.fsyncIntervalMs,
      },
      {
        written: (bytes) => this.written(bytes),
        failed: (error) => this.markFailed(error),
        closed: whenClosed,
      },
    );
  }

  output(data: Buffer): void {
    this.add(EventKind.output, data);
  }

  input(data: Buffer | string): void {
    if (typeof data === "string") this.add(EventKind.inputText, Buffer.from(data));
    else this.add(EventKind.input, data);
  }

  resize(cols: number, rows: number): void {
    this.add(EventKind.resize, Buffer.from(resizeData(cols, rows)));
  }

  marker(label: string): void {
    this.add(EventKind.marker, Buffer.from(label));
  }

  close(): Promise<ClosedRecording> {
    if (this.state === "open") this.state = "closing";
    this.send();
    this.sendClose();
    this.wakeBacklogWaiters();
    return this.closed.then((result) => {
      if (this.state === "closing") this.state = "closed";
      return result;
    });
  }

  get backlog(): number {
    return this.unwrittenBytes;
  }

  whenBelow(bytes: number): Promise<void> {
    if (this.unwrittenBytes <= bytes || this.state !== "open") return Promise.resolve();
    return new Promise((wake) => this.backlogWaiters.push({ bytes, wake }));
  }

  onFailure(listener: (error: Error) => void): void {
    const failure = this.failure;
    if (failure === undefined) this.failureListeners.push(listener);
    else queueMicrotask(() => listener(failure));
  }

  private add(kind: EventKind, data: Uint8Array): void {
    if (this.state !== "open" || data.length === 0) return;
    if (!this.batch.fits(data.length)) this.send();
    this.batch.add(kind, this.elapsedSeconds(), data);
    this.unwrittenBytes += data.length;
    if (this.unwrittenBytes > this.settings.maxBufferedBytes) {
      this.markFailed(this.backlogError());
      this.sendClose();
    } else this.scheduleSend();
  }

  /** Seconds since the start, never going backwards even if the clock does. */
  private elapsedSeconds(): number {
    const seconds = (this.settings.now() - this.file.startedMs) / 1000;
    this.lastSeconds = Math.max(this.lastSeconds, seconds);
    return this.lastSeconds;
  }

  private scheduleSend(): void {
    if (this.sendScheduled) return;
    this.sendScheduled = true;
    setTimeout(() => {
      this.sendScheduled = false;
      this.send();
    }, SEND_AFTER_MS);
  }

  private send(): void {
    const batch = this.batch.take();
    if (batch !== undefined && this.state !== "failed") this.writer.append(this.handle, batch);
  }

  private sendClose(): void {
    if (this.closeSent) return;
    this.closeSent = true;
    this.writer.close(this.handle);
  }

  private written(bytes: number): void {
    this.unwrittenBytes -= bytes;
    this.wakeBacklogWaiters();
  }

  /** Wakes the waiters whose threshold the backlog is now under (all of them once it cannot shrink). */
  private wakeBacklogWaiters(): void {
    const open = this.state === "open";
    const waiting = this.backlogWaiters;
    this.backlogWaiters = waiting.filter((waiter) => open && this.unwrittenBytes > waiter.bytes);
    for (const waiter of waiting) if (!this.backlogWaiters.includes(waiter)) waiter.wake();
  }

  /** Records the failure, drops batched events and tells each listener once. */
  private markFailed(error: RecordingError): void {
    if (this.state === "failed") return;
    this.state = "failed";
    this.failure = error;
    this.batch.discard();
    this.wakeBacklogWaiters();
    const listeners = this.failureListeners;
    this.failureListeners = [];
    for (const listener of listeners) queueMicrotask(() => listener(error));
  }

  private backlogError(): RecordingError {
    const mib = (this.settings.maxBufferedBytes / 2 ** 20).toFixed(1);
    return new RecordingError(
      "ERR_RECORDING_BACKLOG",
      `recording ${this.relativePath} could not be written: more than ${mib} MiB waiting for the disk`,
    );
  }
}
