// The messages between the recordings (main thread) and the writer thread
// that encodes, hashes and writes their files, and the compact batch in which
// a recording's events cross over: one buffer of event bytes (transferred,
// to the writer, not copied again) with the kind, time and length of each event beside it.

/** How the writer turns an event's bytes into a line. */
export const EventKind = {
  /** `o`: part of the output stream (a character may be split across events). */
  output: 0,
  /** `i`: part of the typed input stream. */
  input: 1,
  /** `i`: a complete text (a placeholder for input that is not recorded). */
  inputText: 2,
  /** `r`: "COLSxROWS". */
  resize: 3,
  /** `m`: a marker label. */
  marker: 4,
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

export interface EventBatch {
  readonly kinds: Uint8Array;
  /** Seconds since the start of the recording. */
  readonly seconds: Float64Array;
  readonly lengths: Uint32Array;
  /** The events' bytes, one after the other. */
  readonly data: Uint8Array;
}

export interface OpenMessage {
  readonly type: "open";
  readonly handle: number;
  readonly fd: number;
  readonly relativePath: string;
  readonly absolutePath: string;
  /** The header line already written at offset 0 (the digest starts with it). */
  readonly header: Uint8Array;
  readonly fsyncIntervalMs: number;
}

export type ToWriter =
  | OpenMessage
  | { readonly type: "append"; readonly handle: number; readonly batch: EventBatch }
  | { readonly type: "close"; readonly handle: number };

export type FromWriter =
  /** `bytes` of event data (as appended, before encoding) are now in the file, as `fileBytes` written in `seconds`. */
  | {
      readonly type: "written";
      readonly handle: number;
      readonly bytes: number;
      readonly fileBytes: number;
      readonly seconds: number;
    }
  /** An fdatasync of the file took `seconds`. */
  | { readonly type: "synced"; readonly handle: number; readonly seconds: number }
  | {
      readonly type: "failed";
      readonly handle: number;
      readonly code: string;
      readonly message: string;
    }
  | {
      readonly type: "closed";
      readonly handle: number;
      readonly sha256: string;
      readonly bytes: number;
    };

/** The size of a batch's data buffer; a batch is sent before it would grow past it. */
export const BATCH_BYTES = 256 * 1024;

/** Memory of its own (never a slice of Buffer's shared pool, so it can be transferred); not zeroed. */
function ownBuffer(bytes: number): Uint8Array {
  return Buffer.allocUnsafeSlow(Math.max(bytes, BATCH_BYTES));
}

/** Collects one recording's events, copied as they come, until they are sent. */
export class EventBatchBuilder {
  private kinds: EventKind[] = [];
  private seconds: number[] = [];
  private lengths: number[] = [];
  private data: Uint8Array | undefined;
  private bytes = 0;

  /** Whether `bytes` more fit without outgrowing the buffer (an empty batch takes anything). */
  fits(bytes: number): boolean {
    return this.bytes === 0 || this.bytes + bytes <= BATCH_BYTES;
  }

  add(kind: EventKind, seconds: number, data: Uint8Array): void {
    const buffer = this.reserve(data.length);
    buffer.set(data, this.bytes);
    this.bytes += data.length;
    this.kinds.push(kind);
    this.seconds.push(seconds);
    this.lengths.push(data.length);
  }

  get size(): number {
    return this.bytes;
  }

  /** The batch so far (in buffers of its own, safe to transfer), or undefined if empty. */
  take(): EventBatch | undefined {
    if (this.data === undefined || this.kinds.length === 0) return undefined;
    const batch: EventBatch = {
      kinds: Uint8Array.from(this.kinds),
      seconds: Float64Array.from(this.seconds),
      lengths: Uint32Array.from(this.lengths),
      data: this.data.subarray(0, this.bytes),
    };
    this.kinds = [];
    this.seconds = [];
    this.lengths = [];
    this.data = undefined;
    this.bytes = 0;
    return batch;
  }

  /** Drops what is batched. */
  discard(): void {
    this.take();
  }

  private reserve(more: number): Uint8Array {
    if (this.data !== undefined && this.bytes + more <= this.data.length) return this.data;
    const larger = ownBuffer(this.bytes + more);
    if (this.data !== undefined) larger.set(this.data.subarray(0, this.bytes));
    this.data = larger;
    return larger;
  }
}

/** The buffer a batch's message hands over instead of copying (the small arrays are copied). */
export function transferList(batch: EventBatch): ArrayBuffer[] {
  return [batch.data.buffer as ArrayBuffer];
}
