// The shell → bastion half of the interactive integration protocol
// (docs/interactive.md): finds the integration's OSC markers
// (`ESC ] 6973 ; <nonce> ; <kind> ; fields BEL`) in the upstream output,
// strips them, and hands back the output and the markers in stream order.
// Markers can be split across reads, so a possible marker start at the end of
// a chunk is held back until the next chunk (or `flush`). Markers carrying
// another nonce are stripped and reported as `foreign`.

import { decodeAnsiC } from "../policy/shell/ansi-c.js";

export type Marker =
  /** The integration is installed: the shell, and what its startup files defined. */
  | { kind: "ready"; shell: string; aliases: string; functions: string }
  /** A primary prompt is about to be drawn; the last command's status and cwd. */
  | { kind: "prompt"; status: number; cwd: string }
  /** A continuation prompt (PS2): the line so far is incomplete. */
  | { kind: "continuation" }
  /** A command line is about to run. */
  | { kind: "command-start" }
  /** The user accepted `line`; the shell waits for the verdict for `challenge`. */
  | { kind: "gate"; challenge: string; line: string }
  /** A marker with the wrong nonce, or one that does not parse. */
  | { kind: "foreign" };

export type OutputPiece = { data: Buffer } | { marker: Marker };

const OSC_PREFIX = Buffer.from("\x1b]6973;");
const BEL = 0x07;
/** A marker longer than this is not ours (a gate line is bounded by the terminal's input). */
const MAX_MARKER_BYTES = 1024 * 1024;
const CHALLENGE = /^[0-9a-f]{16}$/;

export class MarkerScanner {
  private held: Buffer | undefined;

  constructor(private readonly nonce: string) {}

  scan(chunk: Buffer): OutputPiece[] {
    const input = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = undefined;
    const pieces: OutputPiece[] = [];
    let from = 0;
    for (;;) {
      const start = input.indexOf(OSC_PREFIX, from);
      if (start === -1) break;
      const end = input.indexOf(BEL, start + OSC_PREFIX.length);
      if (end === -1 && input.length - start <= MAX_MARKER_BYTES) {
        pushData(pieces, input.subarray(from, start));
        this.held = input.subarray(start);
        return pieces;
      }
      if (end === -1) break;
      pushData(pieces, input.subarray(from, start));
      pieces.push({ marker: this.parse(input.toString("utf8", start + OSC_PREFIX.length, end)) });
      from = end + 1;
    }
    const keep = partialPrefixLength(input, from);
    pushData(pieces, input.subarray(from, input.length - keep));
    if (keep > 0) this.held = input.subarray(input.length - keep);
    return pieces;
  }

  /** Output held back as a possible marker start; true output when nothing completed it. */
  flush(): Buffer | undefined {
    const held = this.held;
    this.held = undefined;
    return held;
  }

  get holding(): boolean {
    return this.held !== undefined;
  }

  private parse(body: string): Marker {
    const fields = new FieldReader(body);
    if (fields.plain() !== this.nonce) return FOREIGN;
    try {
      return parseMarker(fields.plain(), fields) ?? FOREIGN;
    } catch {
      return FOREIGN;
    }
  }
}

const FOREIGN: Marker = { kind: "foreign" };

function parseMarker(kind: string, fields: FieldReader): Marker | undefined {
  switch (kind) {
    case "R":
      return {
        kind: "ready",
        shell: fields.plain(),
        aliases: fields.quoted(),
        functions: fields.quoted(),
      };
    case "P":
      return { kind: "prompt", status: Number(fields.plain()), cwd: fields.quoted() };
    case "S":
      return { kind: "continuation" };
    case "C":
      return { kind: "command-start" };
    case "G": {
      const challenge = fields.plain();
      if (!CHALLENGE.test(challenge)) return undefined;
      return { kind: "gate", challenge, line: fields.quoted() };
    }
    default:
      return undefined;
  }
}

function pushData(pieces: OutputPiece[], data: Buffer): void {
  if (data.length > 0) pieces.push({ data });
}

/** How many bytes at the end of `input` (from `from`) could begin a marker. */
function partialPrefixLength(input: Buffer, from: number): number {
  const earliest = Math.max(from, input.length - OSC_PREFIX.length + 1);
  for (let i = earliest; i < input.length; i++) {
    if (input[i] !== 0x1b) continue;
    const tail = input.subarray(i);
    if (OSC_PREFIX.subarray(0, tail.length).equals(tail)) return input.length - i;
  }
  return 0;
}

const BYTE_ESCAPE = /\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2}))/y;

/**
 * The value of `$'…'` as the shell sees it: octal and hex escapes are bytes
 * (bash writes a non-ASCII character it will not print raw as its UTF-8
 * bytes, `\302\234`), everything else is text.
 */
function decodeDollarQuote(body: string): string {
  const parts: Buffer[] = [];
  let text = "";
  let i = 0;
  while (i < body.length) {
    BYTE_ESCAPE.lastIndex = i;
    const byte = body[i] === "\\" ? BYTE_ESCAPE.exec(body) : null;
    if (byte) {
      parts.push(Buffer.from(decodeAnsiC(text)), Buffer.from([byteValue(byte)]));
      text = "";
      i = BYTE_ESCAPE.lastIndex;
    } else {
      const length = body[i] === "\\" ? 2 : 1;
      text += body.slice(i, i + length);
      i += length;
    }
  }
  parts.push(Buffer.from(decodeAnsiC(text)));
  return Buffer.concat(parts).toString("utf8");
}

function byteValue(match: RegExpExecArray): number {
  const [, octal, hex] = match;
  return (octal === undefined ? Number.parseInt(hex ?? "0", 16) : Number.parseInt(octal, 8)) & 0xff;
}

/**
 * Reads `;`-separated fields: plain ones, and shell-quoted ones as bash's
 * `${x@Q}` and zsh's `${(q+)x}` write them (`'…'`, `$'…'`, `\c`, bare text).
 */
class FieldReader {
  private pos = 0;

  constructor(private readonly text: string) {}

  plain(): string {
    const end = this.text.indexOf(";", this.pos);
    const stop = end === -1 ? this.text.length : end;
    const value = this.text.slice(this.pos, stop);
    this.pos = stop + 1;
    return value;
  }

  quoted(): string {
    let value = "";
    while (this.pos < this.text.length && this.text[this.pos] !== ";") {
      value += this.quotedPart();
    }
    this.pos += 1;
    return value;
  }

  private quotedPart(): string {
    const text = this.text;
    const c = text[this.pos];
    if (c === "'") return this.until("'", this.pos + 1, (body) => body);
    if (c === "$" && text[this.pos + 1] === "'") {
      return this.until("'", this.pos + 2, decodeDollarQuote, true);
    }
    if (c === "\\") {
      this.pos += 2;
      return text[this.pos - 1] ?? "";
    }
    this.pos += 1;
    return c ?? "";
  }

  private until(
    close: string,
    from: number,
    decode: (body: string) => string,
    escapes = false,
  ): string {
    let i = from;
    while (i < this.text.length && this.text[i] !== close)
      i += escapes && this.text[i] === "\\" ? 2 : 1;
    if (i >= this.text.length) throw new Error("unterminated quote");
    this.pos = i + 1;
    return decode(this.text.slice(from, i));
  }
}
