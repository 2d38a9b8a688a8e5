// The main thread's side of the recording writer thread: starts the worker
// when the first recording opens, sends each recording's events and close
// request to it, and routes its reports back by handle (write and fdatasync
// times also to an optional observer, for /metrics). The worker keeps the
// process alive only while a recording is open or closing. Descriptors stay
// with this thread, which opened them: it closes each file once the worker
// reports it done. If the worker dies, every recording it had fails (fail
// closed) and its file is closed the way a crash leaves it
// (closeInterruptedFile); the next recording starts a new worker.
import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";
import { errorMessage } from "../util/errors.js";
import { closeFd } from "./fd-io.js";
import { closeInterruptedFile } from "./interrupted.js";
import { type ClosedRecording, RecordingError, type RecordingWriteObserver } from "./types.js";
import {
  type EventBatch,
  type FromWriter,
  type OpenMessage,
  transferList,
} from "./writer-protocol.js";

export interface WriterListener {
  /** `bytes` of event data are in the file now. */
  written(bytes: number): void;
  failed(error: RecordingError): void;
  closed(result: ClosedRecording): void;
}

interface OpenRecording {
  readonly fd: number;
  readonly relativePath: string;
  readonly absolutePath: string;
  readonly listener: WriterListener;
}

const WORKER_URL = new URL("./writer-worker.js", import.meta.url);

export class RecordingWriterThread {
  private worker: Worker | undefined;
  private nextHandle = 1;
  private readonly recordings = new Map<number, OpenRecording>();

  constructor(private readonly observer?: RecordingWriteObserver) {}

  /** Hands an open file (header written) to the writer; returns its handle. */
  open(file: Omit<OpenMessage, "type" | "handle">, listener: WriterListener): number {
    const handle = this.nextHandle++;
    this.recordings.set(handle, {
      fd: file.fd,
      relativePath: file.relativePath,
      absolutePath: file.absolutePath,
      listener,
    });
    this.running().postMessage({ type: "open", handle, ...file } satisfies OpenMessage);
    return handle;
  }

  append(handle: number, batch: EventBatch): void {
    if (this.recordings.has(handle))
      this.worker?.postMessage({ type: "append", handle, batch }, transferList(batch));
  }

  close(handle: number): void {
    if (this.recordings.has(handle)) this.worker?.postMessage({ type: "close", handle });
  }

  /** Stops the worker now (its recordings fail as if it had died); for shutdown and tests. */
  async terminate(): Promise<void> {
    await this.worker?.terminate();
  }

  private running(): Worker {
    if (this.worker === undefined) this.worker = this.startWorker();
    this.worker.ref();
    return this.worker;
  }

  private startWorker(): Worker {
    const worker = new Worker(WORKER_URL);
    worker.on("message", (message: FromWriter) => this.dispatch(message));
    worker.on("error", (error) => this.stopped(worker, errorMessage(error)));
    worker.on("exit", (code) => this.stopped(worker, `exited with code ${code}`));
    return worker;
  }

  private dispatch(message: FromWriter): void {
    const recording = this.recordings.get(message.handle);
    if (recording === undefined) return;
    const { listener, relativePath } = recording;
    if (message.type === "written") {
      listener.written(message.bytes);
      this.observer?.written(message.fileBytes, message.seconds);
    } else if (message.type === "synced") this.observer?.synced(message.seconds);
    else if (message.type === "failed")
      listener.failed(new RecordingError(message.code, message.message));
    else {
      this.forget(message.handle);
      const result = { relativePath, sha256: message.sha256, bytes: message.bytes };
      void closeFd(recording.fd).then(
        () => listener.closed(result),
        (error: unknown) => {
          listener.failed(closeError(relativePath, error));
          listener.closed(result);
        },
      );
    }
  }

  private forget(handle: number): void {
    this.recordings.delete(handle);
    if (this.recordings.size === 0) this.worker?.unref();
  }

  /** The worker is gone: every recording it had fails and is closed as a crash would leave it. */
  private stopped(worker: Worker, reason: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    const orphans = [...this.recordings.values()];
    this.recordings.clear();
    for (const recording of orphans) {
      const message = `recording ${recording.relativePath} could not be written: the writer thread stopped (${reason})`;
      recording.listener.failed(new RecordingError("ERR_RECORDING_WRITE", message));
      void closeOrphan(recording).then((result) => recording.listener.closed(result));
    }
  }
}

function closeError(relativePath: string, error: unknown): RecordingError {
  const reason = errorMessage(error).replace(/\s+/g, " ");
  return new RecordingError(
    "ERR_RECORDING_WRITE",
    `recording ${relativePath} could not be closed: ${reason}`,
  );
}

/** What a recovery after a crash would make of the file; its digest is what it holds now. */
async function closeOrphan(recording: OpenRecording): Promise<ClosedRecording> {
  await closeFd(recording.fd).catch(() => undefined);
  const closed = await closeInterruptedFile(recording.absolutePath, recording.relativePath).catch(
    () => undefined,
  );
  return (
    closed ?? {
      relativePath: recording.relativePath,
      sha256: createHash("sha256").digest("hex"),
      bytes: 0,
    }
  );
}
