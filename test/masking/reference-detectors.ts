// The built-in detectors as they were before the keyed ones learned to run
// only where their names occur: each regex scans the whole text. Test code
// only, the oracle the fast detectors must agree with on every input.
import {
  IBAN_MIN_LENGTH,
  ibanValid,
  luhnValid,
  shannonEntropy,
} from "../../src/masking/checksums.js";
import {
  type CandidateCheck,
  type Detector,
  groupSpan,
  matchSpan,
  scanRegex,
} from "../../src/masking/detector.js";
import { privateKeyDetector } from "../../src/masking/private-key.js";

const KEY_GAP = String.raw`["']?[ \t]{0,8}(?:=>?|:)[ \t]{0,8}`;
const KEY_GAP_QUOTE = `${KEY_GAP}["']?`;

function scanning(name: string, pattern: RegExp, check: CandidateCheck): Detector {
  return { name, maxLength: 0, find: (text) => scanRegex(pattern, text, check) };
}

const AFTER_NUMBER = /\d[.-]$/;
const NOT_A_PASSWORD = /^(?:null|nil|none|true|false|undefined|\*+)[,;]?$/i;

function jwtHeaderHasAlg(segment: string): boolean {
  const json = Buffer.from(segment, "base64url").toString("utf8");
  if (!json.includes('"alg"') || !json.trimEnd().endsWith("}")) return false;
  try {
    const header: unknown = JSON.parse(json);
    return typeof header === "object" && header !== null && "alg" in header;
  } catch {
    return false;
  }
}

function looksRandom(token: string): boolean {
  const lower = /[a-z]/.test(token);
  const upper = /[A-Z]/.test(token);
  const digit = /\d/.test(token);
  if (Number(lower) + Number(upper) + Number(digit) < 2) return false;
  const hex = /^[0-9a-fA-F]+$/.test(token) && !(lower && upper);
  return shannonEntropy(token) >= (hex ? 3.0 : 3.5);
}

function ibanCheck(match: RegExpExecArray) {
  const text = match[0];
  const compact = text.replaceAll(" ", "");
  for (let end = text.length, length = compact.length; length >= IBAN_MIN_LENGTH; ) {
    if (ibanValid(compact.slice(0, length))) return { start: match.index, end: match.index + end };
    const lastGroup = text.lastIndexOf(" ", end - 1);
    if (lastGroup === -1) return undefined;
    length -= end - lastGroup - 1;
    end = lastGroup;
  }
  return undefined;
}

const segment = "[A-Za-z0-9_-]";
const token = "[A-Za-z0-9._~+/-]";
const awsGap = String.raw`(?:${KEY_GAP_QUOTE}|[ \t]{1,8})`;
const passwordValue = String.raw`(?:"((?:[^"\\\r\n]|\\.)+)"|'([^'\r\n]+)'|([^\s"'\x60]+))`;
const passwordKey = String.raw`--pass(?:word|wd)[ \t]+(?!-)|pass(?:word|wd|phrase)${KEY_GAP}|_pwd${KEY_GAP}`;
const url = String.raw`://[^\s/?#@:]{0,64}:([^\s/?#@]+)@`;
const genericNames = `secret|token|api[_-]?key|access[_-]?key|private[_-]?key|auth|credentials?`;

/** Today's ten built-in detectors, in the order of MASK_DETECTORS, each scanning the whole text. */
export function referenceDetectors(): Detector[] {
  return [
    scanning(
      "credit-card",
      /\b[2-6]\d{3}(?:\d{9,15}|([ -])(?:\d{4}\1\d{4}\1\d{1,7}|\d{6}\1\d{4,5}))(?!\w|[.-]\d)/g,
      (match) =>
        !AFTER_NUMBER.test(match.input.slice(Math.max(0, match.index - 2), match.index)) &&
        luhnValid(match[0].replace(/[ -]/g, ""))
          ? matchSpan(match)
          : undefined,
    ),
    scanning(
      "us-ssn",
      /(?<![\w-])(?!000|666|9)\d{3}-(?!00)\d\d-(?!0000)\d{4}(?![\w-])/g,
      matchSpan,
    ),
    scanning(
      "iban",
      /\b[A-Z]{2}\d\d(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)\b/g,
      ibanCheck,
    ),
    scanning(
      "aws-access-key-id",
      /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g,
      matchSpan,
    ),
    scanning(
      "aws-secret-key",
      new RegExp(
        `(?:secret[_-]?access[_-]?key${awsGap}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])|session[_-]?token${awsGap}([A-Za-z0-9/+=]{16,}))`,
        "gid",
      ),
      groupSpan,
    ),
    { ...privateKeyDetector(), maxLength: 0 },
    scanning(
      "jwt",
      new RegExp(
        `(?<!${segment})eyJ${segment}+\\.${segment}*\\.${segment}*(?:\\.${segment}*\\.${segment}+)?(?!${segment})`,
        "g",
      ),
      (match) =>
        jwtHeaderHasAlg(match[0].slice(0, match[0].indexOf("."))) ? matchSpan(match) : undefined,
    ),
    scanning(
      "password-assignment",
      new RegExp(`(?:${passwordKey})${passwordValue}|${url}`, "gid"),
      (match) =>
        match[3] !== undefined && NOT_A_PASSWORD.test(match[3]) ? undefined : groupSpan(match),
    ),
    scanning(
      "bearer-token",
      new RegExp(
        String.raw`\bauthorization${KEY_GAP_QUOTE}(?:bearer|basic|token)[ \t]+(${token}+=*)|\bbearer[ \t]+(${token}{16,}=*)`,
        "gid",
      ),
      groupSpan,
    ),
    scanning(
      "generic-secret",
      new RegExp(`(?:${genericNames})${KEY_GAP_QUOTE}([A-Za-z0-9+/_.~=-]{20,})`, "gid"),
      (match) => (looksRandom(match[1] ?? "") ? groupSpan(match) : undefined),
    ),
  ];
}
