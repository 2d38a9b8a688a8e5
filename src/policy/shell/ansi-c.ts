// Decoding of bash ANSI-C quoted strings (`$'…'`): the escapes bash's
// ansicstr() understands. A NUL ends the string, as it does in bash.

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: "\x07",
  b: "\b",
  e: "\x1b",
  E: "\x1b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  "'": "'",
  '"': '"',
  "?": "?",
};

interface Decoded {
  readonly text: string;
  readonly length: number;
}

function digitsAt(body: string, start: number, pattern: RegExp, max: number): string {
  let end = start;
  while (end < body.length && end - start < max && pattern.test(body[end] ?? "")) end++;
  return body.slice(start, end);
}

function numericEscape(body: string, i: number): Decoded | undefined {
  const kind = body[i];
  if (kind !== undefined && /[0-7]/.test(kind)) {
    const digits = digitsAt(body, i, /[0-7]/, 3);
    return { text: String.fromCharCode(Number.parseInt(digits, 8) & 0xff), length: digits.length };
  }
  const widths: Readonly<Record<string, number>> = { x: 2, u: 4, U: 8 };
  const width = kind === undefined ? undefined : widths[kind];
  if (width === undefined) return undefined;
  const digits = digitsAt(body, i + 1, /[0-9a-fA-F]/, width);
  if (digits.length === 0) return undefined;
  const code = Number.parseInt(digits, 16);
  const text =
    kind === "x" ? String.fromCharCode(code) : String.fromCodePoint(Math.min(code, 0x10ffff));
  return { text, length: digits.length + 1 };
}

function controlEscape(body: string, i: number): Decoded | undefined {
  if (body[i] !== "c") return undefined;
  const target = body[i + 1];
  if (target === undefined) return { text: "\\c", length: 1 };
  return { text: String.fromCharCode(target.toUpperCase().charCodeAt(0) & 0x1f), length: 2 };
}

function decodeEscape(body: string, i: number): Decoded {
  const next = body[i] ?? "";
  const simple = SIMPLE_ESCAPES[next];
  if (simple !== undefined) return { text: simple, length: 1 };
  return (
    numericEscape(body, i) ?? controlEscape(body, i) ?? { text: `\\${next}`, length: next.length }
  );
}

/** The value of `$'body'` (body without the quotes). */
export function decodeAnsiC(body: string): string {
  let out = "";
  let i = 0;
  while (i < body.length) {
    const c = body[i] ?? "";
    if (c !== "\\") {
      out += c;
      i++;
      continue;
    }
    const decoded = decodeEscape(body, i + 1);
    out += decoded.text;
    i += 1 + decoded.length;
  }
  const nul = out.indexOf("\0");
  return nul === -1 ? out : out.slice(0, nul);
}
