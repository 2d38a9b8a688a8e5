// Masking a terminal output stream as it passes (issue 8 item 2). The
// detectors see only the plain text (terminal escape sequences removed, so a
// secret coloured by `grep --color` is still one match), with some text
// already sent before it as context (a secret split across reads is still
// found). Each character of a match is replaced by `*` (same width; line
// breaks and escape sequences inside a match are kept, so the screen layout
// does not move). What could still become (or grow) a secret with the next
// read is held back, within bounds: a small read (typed echo) is never held,
// and the caller flushes what is held after a few milliseconds without more
// data. Typed input (recorded, not shown) is held a whole line instead. An
// escape sequence or a UTF-8 character is never split.
//
// Detection of a large read may run elsewhere (a worker thread: `findElsewhere`)
// and so finish later; the masker still owns the stream's state, and keeps
// its order: a read waits behind the one being detected. A small read with
// nothing in flight is detected at once, on the calling thread (typed echo
// never makes a thread round trip). `push` and `flush` return the bytes now,
// or a promise of them when detection runs elsewhere or a read is in flight.

import { Transform } from "node:stream";

export interface FoundSecret {
  /** Offsets in UTF-16 code units of the text given to `find`. */
  readonly start: number;
  readonly end: number;
  readonly detector: string;
  /** It runs to the end of the text and may go on (a private key block without its END yet). */
  readonly open?: boolean;
}

export interface StreamMaskerOptions {
  /** All secrets in a text (the detectors, merged; non-overlapping, sorted). */
  find(text: string): readonly FoundSecret[];
  /**
   * The same detection off the calling thread, for reads with more than
   * `inlineBytes` of text: every secret in `context` followed by `text` (one
   * byte per character; transferred). A rejection fails the stream (fail
   * closed): every later push and flush rejects too.
   */
  findElsewhere?(context: string, text: Uint8Array): Promise<readonly FoundSecret[]>;
  /** Reads with up to this much text are detected with `find` (default INLINE_DETECTION_BYTES). */
  readonly inlineBytes?: number;
  /** Called once per masked secret (after it was masked). */
  masked?(detector: string): void;
  /**
   * Hold back the unfinished last line, not only a trailing token, and small
   * reads too: for typed input, whose keystrokes arrive one by one and which
   * nobody waits to see (only the recording gets it).
   */
  readonly wholeLines?: boolean;
}

const ESC = 0x1b;
const BEL = 0x07;
const MASK = 0x2a; // "*"
const CR = 0x0d;
const LF = 0x0a;
/** Reads up to this many bytes are passed at once (typed echo, a prompt). */
const NEVER_HOLD_BYTES = 16;
/** The most text held back waiting for a match to end (the longest a detector matches: a private key block). */
const MAX_HOLD_CHARS = 32 * 1024;
/** Plain text already sent, kept as context for the next read's detection. */
const CONTEXT_CHARS = 512;
const EMPTY = Buffer.alloc(0);
/** Reads with up to this much text are detected on the calling thread, even when `findElsewhere` is given. */
export const INLINE_DETECTION_BYTES = 4096;

/** Masked bytes now, or once detection running elsewhere has finished. */
export type Masked = Buffer | Promise<Buffer>;

/**
 * A run of text bytes between escape sequences. Text is read as latin1 (one
 * character per byte), so offsets in the text are byte offsets in the run:
 * secrets are ASCII, and a multi-byte character only ever needs masking as a
 * whole (see maskRun).
 */
interface TextRun {
  /** Byte offset in the pending buffer. */
  readonly from: number;
  /** Character offset of the run in the plain text. */
  readonly at: number;
  readonly length: number;
}

export class StreamMasker {
  private held: Buffer = EMPTY;
  /** Plain text sent already, for detection across reads. */
  private context = "";
  /** Plain-text characters sent so far: the stream position where the next read's text starts. */
  private sentChars = 0;
  /** The stream position where the last counted secret starts (a secret seen again is not counted again). */
  private countedFrom = -1;
  /** The last step waiting for detection elsewhere (later steps wait behind it); undefined when none. */
  private inFlight: Promise<Buffer> | undefined;

  constructor(private readonly options: StreamMaskerOptions) {}

  /** Bytes that can go to the user (masked); the rest is held. */
  push(chunk: Buffer): Masked {
    return this.inTurn(() => this.pushNow(chunk));
  }

  /** Everything held, masked as it stands (no more data is coming soon). */
  flush(): Masked {
    return this.inTurn(() => this.flushNow());
  }

  /** Bytes are held back (meaningful when nothing is in flight). */
  get holding(): boolean {
    return this.held.length > 0;
  }

  /** Runs `step` now, or after the steps in flight; a failed step fails every later one. */
  private inTurn(step: () => Masked): Masked {
    const result = this.inFlight === undefined ? step() : this.inFlight.then(step);
    if (result instanceof Promise) {
      this.inFlight = result;
      result.then(
        () => {
          if (this.inFlight === result) this.inFlight = undefined;
        },
        () => undefined, // stays in flight, rejected: later steps fail the same way
      );
    }
    return result;
  }

  private pushNow(chunk: Buffer): Masked {
    const small =
      this.options.wholeLines !== true &&
      chunk.length <= NEVER_HOLD_BYTES &&
      this.held.length === 0;
    const pending = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    return this.process(pending, small);
  }

  private flushNow(): Masked {
    const pending = this.held;
    this.held = EMPTY;
    if (pending.length === 0) return pending;
    return andThen(this.process(pending, true), (out) => {
      const unfinished = this.held; // an escape sequence or character cut short: sent as it is
      this.held = EMPTY;
      return unfinished.length === 0 ? out : Buffer.concat([out, unfinished]);
    });
  }

  private process(pending: Buffer, sendAll: boolean): Masked {
    const { runs, complete } = readRuns(pending);
    const finish = (text: string, secrets: readonly FoundSecret[]) => {
      const sendChars = sendAll ? text.length : holdFrom(text, secrets, this.options.wholeLines);
      const sendBytes = sendChars >= text.length ? complete : byteOffset(runs, sendChars);
      const out = maskBytes(pending.subarray(0, sendBytes), runs, secrets);
      this.held = Buffer.from(pending.subarray(sendBytes));
      this.remember(text.slice(0, sendChars), secrets, sendChars);
      return out;
    };
    const { findElsewhere, inlineBytes = INLINE_DETECTION_BYTES } = this.options;
    if (findElsewhere === undefined || textLength(runs) <= inlineBytes) {
      const text = runs
        .map((run) => pending.toString("latin1", run.from, run.from + run.length))
        .join("");
      return finish(text, this.secretsIn(text));
    }
    const plain = plainBytes(pending, runs);
    const text = plain.toString("latin1");
    const shift = this.context.length;
    return findElsewhere(this.context, plain).then((found) =>
      finish(text, relativeTo(found, shift)),
    );
  }

  /** Secrets in `text`, found with the context before it; offsets into `text` (may start < 0). */
  private secretsIn(text: string): FoundSecret[] {
    return relativeTo(this.options.find(this.context + text), this.context.length);
  }

  /**
   * Counts the secrets whose end was sent now (once each, also one that began
   * in text sent before) and keeps the context for the next read: the last
   * CONTEXT_CHARS, or from the start of a secret that was sent still open (so
   * that the rest of it is recognised and masked too).
   */
  private remember(sent: string, secrets: readonly FoundSecret[], sentChars: number): void {
    for (const secret of secrets) {
      const from = this.sentChars + secret.start;
      if (secret.end > sentChars || from <= this.countedFrom) continue;
      this.countedFrom = from;
      this.options.masked?.(secret.detector);
    }
    this.sentChars += sentChars;
    const all = this.context + sent;
    const open = secrets.find((secret) => secret.open === true && secret.end >= sentChars);
    const keepFrom =
      open === undefined ? all.length - CONTEXT_CHARS : open.start + this.context.length;
    this.context = all.slice(Math.max(0, keepFrom, all.length - MAX_HOLD_CHARS));
  }
}

/** Secrets found in context + text, with offsets into the text (those wholly in the context dropped). */
function relativeTo(found: readonly FoundSecret[], shift: number): FoundSecret[] {
  return found
    .filter((secret) => secret.end > shift)
    .map((secret) => ({ ...secret, start: secret.start - shift, end: secret.end - shift }));
}

function andThen(result: Masked, next: (out: Buffer) => Buffer): Masked {
  return result instanceof Promise ? result.then(next) : next(result);
}

function textLength(runs: readonly TextRun[]): number {
  const last = runs.at(-1);
  return last === undefined ? 0 : last.at + last.length;
}

/** The text runs' bytes, one after the other, in a buffer of their own (so that it can be transferred). */
function plainBytes(pending: Buffer, runs: readonly TextRun[]): Buffer {
  const plain = Buffer.allocUnsafeSlow(textLength(runs));
  for (const run of runs) pending.copy(plain, run.at, run.from, run.from + run.length);
  return plain;
}

/**
 * Where the text stops being safe to send: a secret touching the end, a
 * trailing token (or line), or a trailing group of digits and capitals
 * with single spaces or dashes (`4111 1111 `, `DE89 3704 `: the start of a
 * card, an IBAN or an SSN whose next group is still on its way).
 */
function holdFrom(text: string, secrets: readonly FoundSecret[], wholeLines = false): number {
  let from = text.length;
  const last = secrets.at(-1);
  if (last !== undefined && last.end >= text.length) from = Math.max(0, last.start);
  const ends = wholeLines ? isLineBreak : isSpace;
  let token = text.length;
  while (token > 0 && !ends(text.charCodeAt(token - 1))) token--;
  const held = Math.min(from, token, trailingNumberGroups(text));
  return Math.max(held, text.length - MAX_HOLD_CHARS);
}

/** The longest grouped number a detector matches (an IBAN written in groups of four). */
const MAX_GROUPED_NUMBER = 48;

/** The start of a trailing run of digits and capitals with single spaces or dashes, if it has a digit. */
function trailingNumberGroups(text: string): number {
  const limit = Math.max(0, text.length - MAX_GROUPED_NUMBER);
  let start = text.length;
  let digits = false;
  let separatorAfter = false;
  while (start > limit) {
    const code = text.charCodeAt(start - 1);
    if (isSeparator(code)) {
      if (separatorAfter) break; // two in a row end the group
      separatorAfter = true;
    } else if (isDigitOrCapital(code)) {
      digits ||= code <= 0x39;
      separatorAfter = false;
    } else break;
    start--;
  }
  return digits ? start : text.length;
}

function isSeparator(code: number): boolean {
  return code === 0x20 || code === 0x2d;
}

function isDigitOrCapital(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a);
}

function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

function isLineBreak(code: number): boolean {
  return code === CR || code === LF;
}

/** The pending-buffer offset of plain-text character `chars` (inside or at the start of a run). */
function byteOffset(runs: readonly TextRun[], chars: number): number {
  for (const run of runs) if (chars < run.at + run.length) return run.from + (chars - run.at);
  return 0;
}

/**
 * Copies `bytes`, each character inside a secret as one `*`: the continuation
 * bytes of a multi-byte character are dropped (same width); line breaks are
 * kept (the layout does not move); escape sequences are not text.
 */
function maskBytes(
  bytes: Buffer,
  runs: readonly TextRun[],
  secrets: readonly FoundSecret[],
): Buffer {
  if (secrets.length === 0) return Buffer.from(bytes);
  const out: number[] = [];
  let copiedTo = 0;
  const parts: Buffer[] = [];
  for (const run of runs) {
    for (const secret of secrets) {
      const start = Math.max(secret.start, run.at);
      const end = Math.min(secret.end, run.at + run.length);
      if (start >= end) continue;
      const from = run.from + (start - run.at);
      const to = Math.min(run.from + (end - run.at), bytes.length);
      if (from >= bytes.length) continue;
      parts.push(bytes.subarray(copiedTo, from));
      out.length = 0;
      for (let i = from; i < to; i++) {
        const byte = bytes[i] ?? 0;
        if (byte === CR || byte === LF) out.push(byte);
        else if ((byte & 0xc0) !== 0x80) out.push(MASK);
      }
      parts.push(Buffer.from(out));
      copiedTo = to;
    }
  }
  parts.push(bytes.subarray(copiedTo));
  return Buffer.concat(parts);
}

/** The text runs of `bytes` and where its complete part ends (an unfinished escape or character is not). */
function readRuns(bytes: Buffer): { runs: TextRun[]; complete: number } {
  const runs: TextRun[] = [];
  let at = 0;
  let chars = 0;
  while (at < bytes.length) {
    if (bytes[at] === ESC) {
      const end = escapeEnd(bytes, at);
      if (end === undefined) return { runs, complete: at };
      at = end;
      continue;
    }
    const next = bytes.indexOf(ESC, at);
    const end = next === -1 ? completeCharacters(bytes) : next;
    if (end > at) runs.push({ from: at, at: chars, length: end - at });
    chars += end - at;
    if (next === -1) return { runs, complete: end };
    at = end;
  }
  return { runs, complete: at };
}

/** The length of `bytes` without a multi-byte character cut off at its end. */
function completeCharacters(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

/** End of the escape sequence at `at`: CSI, OSC/DCS (to BEL or ESC \), or ESC + one byte. */
function escapeEnd(bytes: Buffer, at: number): number | undefined {
  const kind = bytes[at + 1];
  if (kind === undefined) return undefined;
  if (kind === 0x5b) {
    for (let i = at + 2; i < bytes.length; i++) {
      const byte = bytes[i] ?? 0;
      if (byte >= 0x40 && byte <= 0x7e) return i + 1;
    }
    return undefined;
  }
  if (kind === 0x5d || kind === 0x50) {
    for (let i = at + 2; i < bytes.length; i++) {
      if (bytes[i] === BEL) return i + 1;
      if (bytes[i] === ESC && bytes[i + 1] === 0x5c) return i + 2;
    }
    return undefined;
  }
  return at + 2;
}

/** `text` with every character of `secrets` replaced by `*` (line breaks kept). */
export function maskText(text: string, secrets: readonly FoundSecret[]): string {
  let masked = "";
  let copiedTo = 0;
  for (const { start, end } of secrets) {
    masked += text.slice(copiedTo, start) + text.slice(start, end).replace(/[^\r\n]/g, "*");
    copiedTo = end;
  }
  return masked + text.slice(copiedTo);
}

/** A masker fed by calls: masked bytes go to a callback, now or once held bytes are due. */
export interface MaskingTap {
  /**
   * Takes `data`. Undefined: more may follow now; a promise: too much is
   * waiting for detection, write more once it resolves.
   */
  write(data: Buffer): Promise<void> | undefined;
  /** Sends what is held; no more writes follow. Resolves once all was emitted, or the masking failed. */
  end(): Promise<void>;
}

export interface MaskingTapOptions {
  /** How long held bytes wait for more data before they are sent as they stand. */
  readonly holdMs: number;
  emit(data: Buffer): void;
  /** Detection failed: nothing more is emitted (fail closed). Called once. */
  failed(error: unknown): void;
}

/** Writes that arrive while a detection is in flight wait, up to this much, then go as one read. */
export const MAX_QUEUED_BYTES = 64 * 1024;

/**
 * The masker as a tap: what it can send goes to `emit` as soon as it is
 * masked, in order; what it holds back goes `holdMs` after the last write if
 * nothing follows, or at `end()`. Writes that come while a detection runs
 * elsewhere are masked together once it is done (one thread round trip for
 * all of them; the output does not depend on how a stream is cut into reads).
 */
export function maskingTap(masker: StreamMasker, options: MaskingTapOptions): MaskingTap {
  return new QueueingTap(masker, options);
}

class QueueingTap implements MaskingTap {
  private timer: NodeJS.Timeout | undefined;
  private due: NodeJS.Immediate | undefined;
  private broken = false;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  /** Settles once the detection in flight, and the queued writes after it, are masked; undefined when idle. */
  private settled: Promise<void> | undefined;

  constructor(
    private readonly masker: StreamMasker,
    private readonly options: MaskingTapOptions,
  ) {}

  write(data: Buffer): Promise<void> | undefined {
    if (this.broken) return undefined;
    if (this.settled === undefined) {
      this.track(this.mask(() => this.masker.push(data)));
      return undefined;
    }
    this.queued.push(data);
    this.queuedBytes += data.length;
    return this.queuedBytes >= MAX_QUEUED_BYTES ? this.settled : undefined;
  }

  end(): Promise<void> {
    const flush = () => this.mask(() => this.masker.flush()) ?? Promise.resolve();
    return this.settled === undefined ? flush() : this.settled.then(flush);
  }

  private track(work: Promise<void> | undefined): void {
    if (work === undefined) {
      this.holdTail();
      return;
    }
    const settled: Promise<void> = work.then(() => {
      if (this.settled === settled) this.settled = undefined;
      this.holdTail();
    });
    this.settled = settled;
  }

  /** Masks `step`'s bytes and then what was queued meanwhile; a promise when it waits for detection. */
  private mask(step: () => Masked): Promise<void> | undefined {
    this.cancelHold();
    if (this.broken) return undefined;
    let result: Masked;
    try {
      result = step();
    } catch (error) {
      this.fail(error);
      return undefined;
    }
    if (!(result instanceof Promise)) {
      this.emit(result);
      return undefined;
    }
    return result.then(
      (out) => {
        this.emit(out);
        return this.maskQueued();
      },
      (error: unknown) => this.fail(error),
    );
  }

  private emit(out: Buffer): void {
    if (!this.broken && out.length > 0) this.options.emit(out);
  }

  private maskQueued(): Promise<void> | undefined {
    if (this.queued.length === 0) return undefined;
    const batch = Buffer.concat(this.queued);
    this.queued = [];
    this.queuedBytes = 0;
    return this.mask(() => this.masker.push(batch));
  }

  /**
   * Held bytes go out after holdMs when nothing follows. The flush waits for
   * the event loop's next check phase, after its I/O: when the loop was busy
   * past holdMs, the rest of a secret may already be waiting in the socket,
   * and its read comes first (and cancels the flush).
   */
  private holdTail(): void {
    if (!this.broken && this.settled === undefined && this.masker.holding)
      this.timer = setTimeout(() => {
        this.due = setImmediate(() => this.track(this.mask(() => this.masker.flush())));
      }, this.options.holdMs);
  }

  private cancelHold(): void {
    clearTimeout(this.timer);
    clearImmediate(this.due);
  }

  private fail(error: unknown): void {
    if (this.broken) return;
    this.broken = true;
    this.cancelHold();
    this.queued = [];
    this.options.failed(error);
  }
}

/**
 * The masker as a stream step (see maskingTap): a chunk is done at once
 * unless too much is waiting for detection (back-pressure), and the stream
 * ends once all was masked and pushed. When the masking fails, `failed` is
 * called and the step passes nothing more (it stalls until it is destroyed).
 */
export function maskingTransform(
  masker: StreamMasker,
  holdMs: number,
  failed: (error: unknown) => void,
): Transform {
  let broken = false;
  const whenMasked = (result: Promise<void> | undefined, done: () => void) => {
    if (result === undefined) {
      if (!broken) done();
    } else void result.then(() => (broken ? undefined : done()));
  };
  const stream: Transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      whenMasked(tap.write(chunk), done);
    },
    flush(done) {
      whenMasked(tap.end(), done);
    },
  });
  const tap = maskingTap(masker, {
    holdMs,
    emit: (data) => {
      if (!stream.destroyed) stream.push(data);
    },
    failed: (error) => {
      broken = true;
      if (!stream.destroyed) failed(error); // a destroyed stream has nobody left to protect
    },
  });
  stream.once("close", () => void tap.end()); // a destroyed stream's held bytes go nowhere
  return stream;
}
