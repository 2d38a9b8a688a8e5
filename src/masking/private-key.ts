// The `private-key` detector: a PEM or OpenSSH private key block (or a PGP
// private key block), masked whole from its BEGIN line to its END line,
// across as many lines as it has; a block whose END has not arrived yet is
// reported open to the end of the text.
import type { Detector, SecretSpan } from "./detector.js";

/** Longer than any real key block (an RSA 16384-bit OpenSSH key is ~12.7 KB). */
export const PRIVATE_KEY_MAX_LENGTH = 32 * 1024;

const BEGIN = /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/g;
const END = /-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/g;

export function privateKeyDetector(): Detector {
  const begin = new RegExp(BEGIN);
  const end = new RegExp(END);
  return {
    name: "private-key",
    maxLength: PRIVATE_KEY_MAX_LENGTH,
    find(text) {
      const spans: SecretSpan[] = [];
      begin.lastIndex = 0;
      for (let match = begin.exec(text); match !== null; match = begin.exec(text)) {
        const span = blockSpan(text, match.index, match.index + match[0].length, end);
        spans.push(span);
        if (span.open === true) break;
        begin.lastIndex = span.end;
      }
      return spans;
    },
  };
}

/**
 * The block starting at `start`: to the end of its END line; open to the end
 * of the text when no END follows (yet); and when the block would be longer
 * than PRIVATE_KEY_MAX_LENGTH (no END within it but more text after), its
 * first PRIVATE_KEY_MAX_LENGTH characters.
 */
function blockSpan(text: string, start: number, beginEnd: number, end: RegExp): SecretSpan {
  const limit = start + PRIVATE_KEY_MAX_LENGTH;
  end.lastIndex = beginEnd;
  const found = end.exec(text);
  if (found !== null && found.index + found[0].length <= limit)
    return { start, end: found.index + found[0].length };
  if (text.length <= limit) return { start, end: text.length, open: true };
  return { start, end: limit };
}
