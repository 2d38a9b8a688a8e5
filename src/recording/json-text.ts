// Terminal bytes to the bytes of a JSON string literal: valid UTF-8 is kept
// byte for byte, `"`, `\` and control characters are escaped, invalid
// sequences become U+FFFD (as Buffer#toString does), and a character split
// across chunks is carried over to the next one. This is the per-chunk cost
// of recording.
import { isUtf8 } from "node:buffer";

const EMPTY = Buffer.alloc(0);

/** Streams one direction's bytes into JSON string literals (quotes included). */
export class JsonTextEncoder {
  private carry: Buffer = EMPTY;

  /** The literal for `chunk`, or undefined when it only started a character. */
  write(chunk: Buffer): Buffer | undefined {
    const bytes = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const cut = bytes.length - incompleteTailLength(bytes);
    this.carry = Buffer.from(bytes.subarray(cut));
    return cut === 0 ? undefined : jsonStringBytes(bytes.subarray(0, cut));
  }

  /** Replacement characters for an unfinished character, if any. */
  end(): Buffer | undefined {
    const carry = this.carry;
    this.carry = EMPTY;
    return carry.length === 0 ? undefined : jsonStringBytes(carry);
  }
}

/**
 * `"…"` for text that is complete (it may still hold invalid sequences).
 * Read as latin1, every byte is one character, so the native JSON.stringify
 * escapes exactly `"`, `\` and control bytes and leaves UTF-8's bytes (all
 * >= 0x80) alone; writing it back as latin1 restores them. About twice as fast
 * here as decoding to UTF-16 and back, or as a byte loop in JavaScript.
 */
export function jsonStringBytes(text: Buffer): Buffer {
  const valid = isUtf8(text) ? text : Buffer.from(text.toString("utf8"));
  return Buffer.from(JSON.stringify(valid.toString("latin1")), "latin1");
}

/** Bytes at the end that begin a multi-byte character not yet complete (0–3). */
function incompleteTailLength(bytes: Buffer): number {
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
