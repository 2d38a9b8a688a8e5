// Terminal bytes to the bytes of a JSON string literal, the per-byte cost of
// recording. Utf8Joiner turns a stream's chunks into complete, valid UTF-8
// (a character split across chunks is carried over to the next one, invalid
// sequences become U+FFFD as Buffer#toString makes them); escapeJsonInto
// writes such text as a literal: `"`, `\` and control characters escaped as
// JSON.stringify escapes them, every other byte copied as it is.
import { isUtf8 } from "node:buffer";

const EMPTY = Buffer.alloc(0);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Per byte: 0 = copy, SIX = `\u00XX`, otherwise the letter after a backslash. */
const SIX = 0xff;
const ESCAPES = escapeTable();
const HEX_DIGITS = Buffer.from("0123456789abcdef");

function escapeTable(): Uint8Array {
  const table = new Uint8Array(256);
  table.fill(SIX, 0, 0x20);
  for (const [byte, letter] of [
    [0x08, "b"],
    [0x09, "t"],
    [0x0a, "n"],
    [0x0c, "f"],
    [0x0d, "r"],
    [QUOTE, '"'],
    [BACKSLASH, "\\"],
  ] as const)
    table[byte] = letter.charCodeAt(0);
  return table;
}

/** The most bytes escapeJsonInto writes for `length` bytes of text. */
export function maxLiteralLength(length: number): number {
  return length * 6 + 2;
}

/**
 * Writes `"…"` for valid UTF-8 `text` into `out` at `offset` (which must have
 * room for maxLiteralLength(text.length) bytes) and returns the offset after
 * it. UTF-8's multi-byte characters (all bytes >= 0x80) need no escape.
 */
export function escapeJsonInto(text: Uint8Array, out: Uint8Array, offset: number): number {
  let at = offset;
  out[at++] = QUOTE;
  for (let index = 0; index < text.length; index++) {
    const byte = text[index] as number;
    const letter = ESCAPES[byte] as number;
    if (letter === 0) {
      out[at++] = byte;
    } else if (letter !== SIX) {
      out[at++] = BACKSLASH;
      out[at++] = letter;
    } else {
      at = writeUnicodeEscape(byte, out, at);
    }
  }
  out[at++] = QUOTE;
  return at;
}

function writeUnicodeEscape(byte: number, out: Uint8Array, at: number): number {
  out[at] = BACKSLASH;
  out[at + 1] = 0x75; // u
  out[at + 2] = 0x30;
  out[at + 3] = 0x30;
  out[at + 4] = HEX_DIGITS[byte >> 4] as number;
  out[at + 5] = HEX_DIGITS[byte & 0x0f] as number;
  return at + 6;
}

/** `"…"` for complete text (invalid sequences become U+FFFD). */
export function jsonStringBytes(text: Uint8Array): Buffer {
  const valid = validUtf8(text);
  const out = Buffer.allocUnsafe(maxLiteralLength(valid.length));
  return out.subarray(0, escapeJsonInto(valid, out, 0));
}

/**
 * As a plain Uint8Array view (never a Buffer), so that the escaping loop
 * always sees one kind of array and stays fast.
 */
function validUtf8(bytes: Uint8Array): Uint8Array {
  const valid = isUtf8(bytes) ? bytes : Buffer.from(Buffer.from(bytes).toString("utf8"));
  return new Uint8Array(valid.buffer, valid.byteOffset, valid.length);
}

/** Joins one direction's chunks into complete, valid UTF-8 text. */
export class Utf8Joiner {
  private carry: Buffer = EMPTY;

  /** The complete characters so far, or undefined when `chunk` only started one. */
  write(chunk: Uint8Array): Uint8Array | undefined {
    const bytes = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const cut = bytes.length - incompleteTailLength(bytes);
    this.carry = Buffer.from(bytes.subarray(cut));
    return cut === 0 ? undefined : validUtf8(bytes.subarray(0, cut));
  }

  /** Replacement characters for an unfinished character, if any. */
  end(): Uint8Array | undefined {
    const carry = this.carry;
    this.carry = EMPTY;
    return carry.length === 0 ? undefined : validUtf8(carry);
  }
}

/** Bytes at the end that begin a multi-byte character not yet complete (0–3). */
function incompleteTailLength(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    return sequenceLength(byte) > back ? back : 0;
  }
  return 0;
}

function sequenceLength(leadByte: number): number {
  if (leadByte >= 0xf0 && leadByte <= 0xf4) return 4;
  if (leadByte >= 0xe0 && leadByte <= 0xef) return 3;
  if (leadByte >= 0xc2 && leadByte <= 0xdf) return 2;
  return 1;
}
