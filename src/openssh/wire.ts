// SSH wire encoding (RFC 4251 §5): a reader that fails closed and a writer.
// The reader checks every length before reading, consumes nothing when a read
// fails, rejects NULs and invalid UTF-8 in text, and `end()` refuses trailing
// bytes. Every failure is a PortcullisError with code ERR_SSH_FORMAT.

import { PortcullisError } from "../util/errors.js";

export const SSH_FORMAT_ERROR = "ERR_SSH_FORMAT";

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function sshFormatError(message: string): PortcullisError {
  return new PortcullisError(SSH_FORMAT_ERROR, message);
}

/** Left-pads a big-endian magnitude with zero bytes to exactly `length` bytes. */
export function padMagnitude(magnitude: Buffer, length: number): Buffer {
  if (magnitude.length > length) throw sshFormatError("integer too large for its field");
  return Buffer.concat([Buffer.alloc(length - magnitude.length), magnitude]);
}

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export class SshReader {
  readonly #buffer: Buffer;
  #offset = 0;

  constructor(buffer: Buffer) {
    this.#buffer = buffer;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#buffer.length - this.#offset;
  }

  byte(): number {
    return this.#take(1).readUInt8(0);
  }

  bool(): boolean {
    return this.byte() !== 0;
  }

  uint32(): number {
    return this.#take(4).readUInt32BE(0);
  }

  uint64(): bigint {
    return this.#take(8).readBigUInt64BE(0);
  }

  /** A length-prefixed byte string (a view into the underlying buffer). */
  string(): Buffer {
    this.#need(4);
    const length = this.#buffer.readUInt32BE(this.#offset);
    this.#need(4 + length);
    const start = this.#offset + 4;
    this.#offset = start + length;
    return this.#buffer.subarray(start, start + length);
  }

  /** A length-prefixed string that must be valid UTF-8 without NUL characters. */
  utf8String(): string {
    const start = this.#offset;
    const bytes = this.string();
    const text = decodeUtf8(bytes);
    if (text === undefined || text.includes("\0")) {
      this.#offset = start;
      throw sshFormatError("string is not valid UTF-8 text without NUL characters");
    }
    return text;
  }

  /** A non-negative mpint, returned as its big-endian magnitude without leading zeros. */
  mpint(): Buffer {
    const start = this.#offset;
    const bytes = this.string();
    if (bytes.length > 0 && ((bytes[0] ?? 0) & 0x80) !== 0) {
      this.#offset = start;
      throw sshFormatError("negative mpint");
    }
    let first = 0;
    while (first < bytes.length && bytes[first] === 0) first++;
    return bytes.subarray(first);
  }

  /** Throws unless every byte has been consumed. */
  end(): void {
    if (this.remaining !== 0) throw sshFormatError(`${this.remaining} unexpected trailing bytes`);
  }

  #need(count: number): void {
    if (this.remaining < count) throw sshFormatError("truncated data");
  }

  #take(count: number): Buffer {
    this.#need(count);
    const start = this.#offset;
    this.#offset += count;
    return this.#buffer.subarray(start, start + count);
  }
}

export class SshWriter {
  readonly #parts: Buffer[] = [];

  byte(value: number): this {
    this.#parts.push(Buffer.of(value));
    return this;
  }

  bool(value: boolean): this {
    return this.byte(value ? 1 : 0);
  }

  uint32(value: number): this {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(value);
    this.#parts.push(bytes);
    return this;
  }

  uint64(value: bigint): this {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64BE(value);
    this.#parts.push(bytes);
    return this;
  }

  string(value: Buffer | string): this {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    this.uint32(bytes.length);
    this.#parts.push(bytes);
    return this;
  }

  /** Writes a non-negative integer given as its big-endian magnitude. */
  mpint(magnitude: Buffer): this {
    let first = 0;
    while (first < magnitude.length && magnitude[first] === 0) first++;
    const trimmed = magnitude.subarray(first);
    const needsPad = trimmed.length > 0 && ((trimmed[0] ?? 0) & 0x80) !== 0;
    return this.string(needsPad ? Buffer.concat([Buffer.of(0), trimmed]) : trimmed);
  }

  raw(bytes: Buffer): this {
    this.#parts.push(bytes);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#parts);
  }
}
