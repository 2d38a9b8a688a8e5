// Custom detectors from policy (`mask: [{name, regex}]`): the whole match, or
// the first capture group when the regex has one. A policy regex is not
// trusted to be fast: one with nested variable quantifiers (exponential
// backtracking) is refused, and every other one runs on windows of at most
// CUSTOM_WINDOW characters, so a polynomial pattern costs a bounded amount
// per character of output.
import { PortcullisError } from "../util/errors.js";
import { type Detector, groupSpan, matchSpan, type SecretSpan, scanRegex } from "./detector.js";

/** The longest custom match that is masked whole however the text is cut. */
export const CUSTOM_MAX_LENGTH = 256;
/** The most text one regex search sees. */
export const CUSTOM_WINDOW = 2048;

export function customDetector(name: string, regex: RegExp): Detector {
  const unsafe = unsafeRegexReason(regex);
  if (unsafe !== undefined)
    throw new PortcullisError("ERR_MASK_REGEX", `mask ${name}: regex refused: ${unsafe}`);
  const pattern = new RegExp(regex.source, `${regex.flags.replace(/[gyd]/g, "")}gd`);
  const check = captureGroupCount(regex) > 0 ? capturedOrWhole : matchSpan;
  return {
    name,
    maxLength: CUSTOM_MAX_LENGTH,
    find: (text) => findInWindows(text, (window) => scanRegex(pattern, window, check)),
  };
}

/** The first capture group when it took part in the match, else the whole match. */
function capturedOrWhole(match: RegExpExecArray): SecretSpan {
  return groupSpan(match) ?? matchSpan(match);
}

function captureGroupCount(regex: RegExp): number {
  return (
    (new RegExp(`${regex.source}|`, regex.flags.replace(/[gy]/g, "")).exec("")?.length ?? 1) - 1
  );
}

/**
 * Runs `find` on overlapping windows of CUSTOM_WINDOW characters. Each window
 * keeps the matches starting in its middle part, so that every match of up to
 * CUSTOM_MAX_LENGTH characters is found in a window that also holds
 * CUSTOM_MAX_LENGTH characters of context on each side.
 */
function findInWindows(text: string, find: (window: string) => SecretSpan[]): SecretSpan[] {
  if (text.length <= CUSTOM_WINDOW) return find(text);
  const spans: SecretSpan[] = [];
  const step = CUSTOM_WINDOW - 2 * CUSTOM_MAX_LENGTH;
  for (let from = 0; from < text.length; from += step) {
    const keepFrom = from === 0 ? 0 : from + CUSTOM_MAX_LENGTH;
    const last = from + CUSTOM_WINDOW >= text.length;
    const keepTo = last ? text.length : from + CUSTOM_MAX_LENGTH + step;
    for (const span of find(text.slice(from, from + CUSTOM_WINDOW))) {
      const start = span.start + from;
      const covered = spans.at(-1)?.end ?? 0;
      if (start >= keepFrom && start < keepTo && start >= covered)
        spans.push({ start, end: span.end + from });
    }
    if (last) break;
  }
  return spans;
}

/**
 * Why `regex` could take exponential time, or undefined: a group repeated
 * without bound (`*`, `+`, `{n,}`) that itself contains a quantifier of
 * variable count, like `(\w+\s?)+` or `(a{1,2})*`. Ambiguous alternatives
 * under a star (`(a|aa)+`) are not detected.
 */
export function unsafeRegexReason(regex: RegExp): string | undefined {
  const source = regex.source;
  const open: boolean[] = []; // per enclosing group: did it contain a variable quantifier?
  let variableInside = false;
  for (let i = 0; i < source.length; ) {
    const char = source[i];
    if (char === "(") {
      open.push(variableInside);
      variableInside = false;
      i++;
      continue;
    }
    const atomEnd = char === "\\" ? i + 2 : char === "[" ? classEnd(source, i) + 1 : i + 1;
    const quantifier = quantifierAt(source, atomEnd);
    if (char === ")") {
      if (variableInside && quantifier?.unbounded === true)
        return "a repeated group contains a repeated part (catastrophic backtracking)";
      variableInside = (open.pop() ?? false) || variableInside || quantifier?.variable === true;
    } else if (quantifier?.variable === true) variableInside = true;
    i = atomEnd + (quantifier?.length ?? 0);
  }
  return undefined;
}

/** The index of the `]` closing the class opened at `at`. */
function classEnd(source: string, at: number): number {
  for (let i = at + 1; i < source.length; i++) {
    if (source[i] === "\\") i++;
    else if (source[i] === "]") return i;
  }
  return source.length;
}

interface Quantifier {
  readonly length: number;
  /** Matches more than one count (`?`, `*`, `+`, `{1,2}`). */
  readonly variable: boolean;
  readonly unbounded: boolean;
}

const BRACES = /^\{(\d+)(,(\d*))?\}\??/;

function quantifierAt(source: string, at: number): Quantifier | undefined {
  const char = source[at];
  const lazy = source[at + 1] === "?" ? 1 : 0;
  if (char === "*" || char === "+") return { length: 1 + lazy, variable: true, unbounded: true };
  if (char === "?") return { length: 1 + lazy, variable: true, unbounded: false };
  if (char !== "{") return undefined;
  const braces = BRACES.exec(source.slice(at, at + 32));
  if (braces === null) return undefined;
  const unbounded = braces[2] !== undefined && braces[3] === "";
  const variable = unbounded || (braces[3] !== undefined && braces[3] !== braces[1]);
  return { length: braces[0].length, variable, unbounded };
}
