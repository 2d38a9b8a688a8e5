// The shape every masking detector has, and the loops most of them share: a
// regex proposes candidates, a check accepts one (and says which part of it
// is the secret) or rejects it. The regex runs over the whole text, or only
// at the positions where a match can start (after a name it needs).
import type { TextScan } from "./text-scan.js";

/** Where a secret is in a text: offsets in UTF-16 code units, `end` exclusive. */
export interface SecretSpan {
  readonly start: number;
  readonly end: number;
  /**
   * The secret may go on past the end of the text (only `private-key`: a BEGIN
   * line without its END yet); then `end` is the text's length.
   */
  readonly open?: boolean;
}

export interface Detector {
  readonly name: string;
  /** Every match in `text`, sorted, never overlapping. Pure and synchronous. */
  find(text: string): SecretSpan[];
  /**
   * The most text a match needs, context included (the key name before a
   * value): the streaming masker holds back this much to see a match whole.
   * `find` still reports a longer match whole when it sees one.
   */
  readonly maxLength: number;
  /**
   * The same as `find(scan.text)`, sharing the work of finding names with
   * the other detectors of one findSecrets call (built-in detectors only).
   */
  findIn?(scan: TextScan): SecretSpan[];
}

/** Accepts a candidate (returning the secret's span, often one capture group) or rejects it. */
export type CandidateCheck = (match: RegExpExecArray) => SecretSpan | undefined;

/**
 * Runs `pattern` (global; `d` when the check reads group indices) over
 * `text`. After a rejected candidate the search goes on one character
 * later, since a real match may start inside a rejected one.
 */
export function scanRegex(pattern: RegExp, text: string, check: CandidateCheck): SecretSpan[] {
  const spans: SecretSpan[] = [];
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const span = check(match);
    if (span === undefined || span.end <= span.start) pattern.lastIndex = match.index + 1;
    else {
      spans.push(span);
      pattern.lastIndex = span.end;
    }
  }
  return spans;
}

/** The span of the first capture group of `match` that took part (`d` flag needed). */
export function groupSpan(match: RegExpExecArray): SecretSpan | undefined {
  const indices = match.indices ?? [];
  for (let group = 1; group < indices.length; group++) {
    const range = indices[group];
    if (range !== undefined) return { start: range[0], end: range[1] };
  }
  return undefined;
}

/** The whole of `match`. */
export function matchSpan(match: RegExpExecArray): SecretSpan {
  return { start: match.index, end: match.index + match[0].length };
}

/**
 * The same spans as `scanRegex(pattern, text, check)` when every position
 * where `pattern` can match is in `starts` (ascending, not necessarily
 * unique): `sticky` (the same pattern with the `y` flag instead of `g`) is
 * tried at each start that is not inside a span already found, the way the
 * global search would reach it.
 */
export function scanStarts(
  sticky: RegExp,
  text: string,
  starts: readonly number[],
  check: CandidateCheck,
): SecretSpan[] {
  const spans: SecretSpan[] = [];
  let from = 0;
  for (const start of starts) {
    if (start < from) continue;
    sticky.lastIndex = start;
    const match = sticky.exec(text);
    if (match === null) continue;
    const span = check(match);
    if (span === undefined || span.end <= span.start) from = start + 1;
    else {
      spans.push(span);
      from = span.end;
    }
  }
  return spans;
}
