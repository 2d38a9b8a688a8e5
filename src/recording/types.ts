// The recording module's public shapes: a store of asciicast v2 files, one
// open recording per session channel, and the error every expected failure
// of this module is reported with.
import { PortcullisError } from "../util/errors.js";

export interface CastHeader {
  width: number;
  height: number;
  term?: string;
  title: string;
  startedAt: Date;
}

export interface ClosedRecording {
  relativePath: string;
  sha256: string;
  bytes: number;
}

export interface RecordingStore {
  /** Creates recordings/YYYY/MM/DD/<id>.cast (UTC date of startedAt), writes the header. Throws RecordingError (one-line message) if it cannot. */
  create(id: string, header: CastHeader): SessionRecording;
  /** Recordings left open by a crash: makes each a valid v2 file (drops a partial last line, appends an `m` "interrupted" marker), returns what it closed. */
  closeInterrupted(relativePaths: readonly string[]): Promise<ClosedRecording[]>;
  /** Reads a recording back for verification/playback. */
  absolutePath(relativePath: string): string;
  /**
   * Retention: deletes the recording's file, then the date directories it
   * leaves empty. Throws RecordingError (one line), deleting nothing, when the
   * path is not a regular file inside the store (a symlink, a directory that
   * leads elsewhere) or cannot be deleted.
   */
  remove(relativePath: string): Promise<void>;
  /**
   * Stops the thread that writes the recordings, for shutdown once the
   * sessions have ended; a recording still open fails and its file is closed
   * as a crash would leave it.
   */
  close(): Promise<void>;
}

export interface SessionRecording {
  /** e.g. "2026/11/22/20261122T031600Z-9f3a2c1b7e.cast" */
  readonly relativePath: string;
  /** `o` event; a UTF-8 character split across calls is joined. */
  output(data: Buffer): void;
  /** `i` event (the caller decides whether and what to record). */
  input(data: Buffer | string): void;
  /** `r` event "COLSxROWS". */
  resize(cols: number, rows: number): void;
  /** `m` event. */
  marker(label: string): void;
  /** Flushes everything, fsyncs, closes; resolves with the digest of the whole file. Idempotent. */
  close(): Promise<ClosedRecording>;
  /** Called at most once when writing failed (disk full, permissions, I/O error); later calls are no-ops. */
  onFailure(listener: (error: Error) => void): void;
  /** Bytes accepted but not yet written to the file. */
  readonly backlog: number;
  /** Resolves once the backlog is at most `bytes` (at once if it is, or once the recording failed or closed). */
  whenBelow(bytes: number): Promise<void>;
}

export interface LocalRecordingStoreOptions {
  /** Root directory of the recordings (`recordings/`). */
  dir: string;
  /** Unsynced data is fdatasync'ed at most this long after it was written. */
  fsyncIntervalMs: number;
  /** Clock in milliseconds since the epoch; event times come from it. */
  now: () => number;
  /** Unwritten data above this is a failure (fail closed). Default 8 MiB. */
  maxBufferedBytes?: number;
  /** Told of every write and fdatasync of the writer thread (e.g. for /metrics). */
  observer?: RecordingWriteObserver;
}

/** Called on the main thread for each write report; keep it cheap. */
export interface RecordingWriteObserver {
  /** `bytes` (asciicast lines) were written to a recording file in `seconds`. */
  written(bytes: number, seconds: number): void;
  /** An fdatasync of a recording file took `seconds`. */
  synced(seconds: number): void;
}

/** An expected recording failure; the message is one line, safe to show. */
export class RecordingError extends PortcullisError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = "RecordingError";
  }
}
