// The shape every masking detector has, and the one loop most of them share:
// a global regex proposes candidates, a check accepts one (and says which part
// of it is the secret) or rejects it.

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
