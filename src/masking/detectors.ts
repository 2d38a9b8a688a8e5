// The masking detectors (SPEC §9, docs/masking.md "Detectors"): built-in ones
// by name, custom ones from policy, and all matches of a set of them merged.
// Pure and synchronous; they see plain text (terminal escape sequences
// already removed), possibly many lines. Each built-in pairs a regex that
// proposes candidates with a check that rejects look-alikes (Luhn, mod-97,
// a JSON header, entropy); every regex that can run long starts with a
// lookbehind, so it is tried once per run of characters, never once per
// character of a run (no quadratic scans of long digit or letter runs).
// Detectors keyed on a name (a key, `Bearer`, `eyJ`) do not scan the whole
// text: they run their regex (sticky) only where the name occurs, found with
// native indexOf on a lower-case copy shared by all detectors of one call.
import type { MASK_DETECTORS } from "../policy/schema.js";
import type { MaskSpec } from "../policy/types.js";
import { PortcullisError } from "../util/errors.js";
import { IBAN_MIN_LENGTH, ibanValid, luhnValid, shannonEntropy } from "./checksums.js";
import { customDetector } from "./custom-detector.js";
import {
  type CandidateCheck,
  type Detector,
  groupSpan,
  matchSpan,
  type SecretSpan,
  scanRegex,
  scanStarts,
} from "./detector.js";
import { privateKeyDetector } from "./private-key.js";
import { TextScan } from "./text-scan.js";

export { CUSTOM_MAX_LENGTH, customDetector, unsafeRegexReason } from "./custom-detector.js";
export type { Detector, SecretSpan } from "./detector.js";
export { PRIVATE_KEY_MAX_LENGTH } from "./private-key.js";

export type MaskDetectorName = (typeof MASK_DETECTORS)[number];

/** A match of `findSecrets`: which detector found it (the first one, when overlaps were joined). */
export interface SecretMatch extends SecretSpan {
  readonly detector: string;
}

/** What separates a key name from its value: `=`, `:`, `=>`, with JSON/YAML quoting around. */
const KEY_GAP = String.raw`["']?[ \t]{0,8}(?:=>?|:)[ \t]{0,8}`;
/** KEY_GAP plus an optional opening quote: the value is a bare token. */
const KEY_GAP_QUOTE = `${KEY_GAP}["']?`;

function regexDetector(
  name: MaskDetectorName,
  pattern: RegExp,
  maxLength: number,
  check: CandidateCheck,
): Detector {
  return { name, maxLength, find: (text) => scanRegex(pattern, text, check) };
}

/**
 * Where a keyed pattern can start: at each position of `literal` (a rare
 * part of a name the pattern needs), `offset` characters away when the
 * name's beginning, `prefix`, is there. Lower-case literals and prefixes
 * match in any case (the patterns' `i` flag); others (`eyJ`) only as written.
 */
interface Anchor {
  readonly literal: string;
  readonly caseless: boolean;
  readonly starts: readonly { readonly offset: number; readonly prefix: string }[];
}

/** Candidate starts (ascending, possibly repeated) of a keyed pattern in a text. */
type StartsOf = (scan: TextScan) => number[];

function anchorStarts(anchors: readonly Anchor[]): StartsOf {
  return (scan) => {
    const starts: number[] = [];
    for (const { literal, caseless, starts: candidates } of anchors) {
      const searched = scan.searched(caseless);
      for (const position of scan.positions(literal, caseless))
        for (const { offset, prefix } of candidates) {
          const start = position + offset;
          if (start >= 0 && searched.startsWith(prefix, start)) starts.push(start);
        }
    }
    return starts.sort((a, b) => a - b);
  };
}

/** The anchor `literal` of names that start `offset` before it with `prefix`. */
function anchor(literal: string, ...starts: [offset: number, prefix: string][]): Anchor {
  const caseless = literal === literal.toLowerCase();
  return { literal, caseless, starts: starts.map(([offset, prefix]) => ({ offset, prefix })) };
}

/**
 * A detector whose `pattern` (global) can only match at the starts
 * `startsOf` gives: the same matches as scanning the whole text, found by a
 * sticky copy of the pattern tried at those starts. A text whose lower-case
 * copy has other offsets is scanned whole.
 */
function keyedDetector(
  name: MaskDetectorName,
  pattern: RegExp,
  maxLength: number,
  check: CandidateCheck,
  startsOf: StartsOf,
): Detector {
  const sticky = new RegExp(pattern.source, pattern.flags.replace("g", "y"));
  const findIn = (scan: TextScan) =>
    scan.lower === null
      ? scanRegex(pattern, scan.text, check)
      : scanStarts(sticky, scan.text, startsOf(scan), check);
  return { name, maxLength, findIn, find: (text) => findIn(new TextScan(text)) };
}

/** Right before a card number: it would be the fraction or the continuation of another number. */
const AFTER_NUMBER = /\d[.-]$/;

/**
 * 13–19 digits, as one run or grouped by single spaces or dashes (4-4-4-4…,
 * Amex 4-6-5, Diners 4-6-4), first digit 2–6 (the issuers' ranges: Visa,
 * Mastercard, Amex, Discover, JCB, UnionPay…), Luhn-valid; not part of a
 * longer word or number (a decimal fraction, a dashed number run).
 */
function creditCard(): Detector {
  // \b first, and AFTER_NUMBER checked on candidates only: measured ~15% faster than one lookbehind.
  const pattern =
    /\b[2-6]\d{3}(?:\d{9,15}|([ -])(?:\d{4}\1\d{4}\1\d{1,7}|\d{6}\1\d{4,5}))(?!\w|[.-]\d)/g;
  return regexDetector("credit-card", pattern, 32, (match) =>
    !AFTER_NUMBER.test(match.input.slice(Math.max(0, match.index - 2), match.index)) &&
    luhnValid(match[0].replace(/[ -]/g, ""))
      ? matchSpan(match)
      : undefined,
  );
}

/** AAA-GG-SSSS, none of the numbers the SSA never issues (area 000, 666, 9xx; group 00; serial 0000). */
function usSsn(): Detector {
  const pattern = /(?<![\w-])(?!000|666|9)\d{3}-(?!00)\d\d-(?!0000)\d{4}(?![\w-])/g;
  return regexDetector("us-ssn", pattern, 16, matchSpan);
}

/**
 * Country code, check digits, up to 30 letters and digits, written as one
 * token or grouped by four with single spaces; mod-97 valid and of its
 * country's length. A grouped candidate is also tried without trailing
 * groups (a word after an IBAN looks like one more group).
 */
function iban(): Detector {
  const pattern = /\b[A-Z]{2}\d\d(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)\b/g;
  return regexDetector("iban", pattern, 48, (match) => {
    const text = match[0];
    const compact = text.replaceAll(" ", "");
    for (let end = text.length, length = compact.length; length >= IBAN_MIN_LENGTH; ) {
      if (ibanValid(compact.slice(0, length)))
        return { start: match.index, end: match.index + end };
      const lastGroup = text.lastIndexOf(" ", end - 1);
      if (lastGroup === -1) return undefined;
      length -= end - lastGroup - 1;
      end = lastGroup;
    }
    return undefined;
  });
}

function awsAccessKeyId(): Detector {
  const pattern = /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g;
  return regexDetector("aws-access-key-id", pattern, 24, matchSpan);
}

/**
 * The value after an AWS secret access key name (`aws_secret_access_key`,
 * `AWS_SECRET_ACCESS_KEY`, `SecretAccessKey`, any case, `_`/`-` optional)
 * with `=`, `:` or a space: exactly 40 base64 characters. And the value
 * after a session token name (`aws_session_token`, `SessionToken`).
 */
function awsSecretKey(): Detector {
  const gap = String.raw`(?:${KEY_GAP_QUOTE}|[ \t]{1,8})`;
  const pattern = new RegExp(
    `(?:secret[_-]?access[_-]?key${gap}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])|session[_-]?token${gap}([A-Za-z0-9/+=]{16,}))`,
    "gid",
  );
  const starts = anchorStarts([
    anchor("key", [-12, "secret"], [-13, "secret"], [-14, "secret"]),
    anchor("ken", [-9, "session"], [-10, "session"]),
  ]);
  return keyedDetector("aws-secret-key", pattern, 4096, groupSpan, starts);
}

/** Three base64url segments (five for JWE), the first decoding to a JSON object with `alg`. */
function jwt(): Detector {
  const segment = "[A-Za-z0-9_-]";
  const pattern = new RegExp(
    `(?<!${segment})eyJ${segment}+\\.${segment}*\\.${segment}*(?:\\.${segment}*\\.${segment}+)?(?!${segment})`,
    "g",
  );
  const check: CandidateCheck = (match) =>
    jwtHeaderHasAlg(match[0].slice(0, match[0].indexOf("."))) ? matchSpan(match) : undefined;
  return keyedDetector("jwt", pattern, 8192, check, anchorStarts([anchor("yJ", [-1, "eyJ"])]));
}

function jwtHeaderHasAlg(segment: string): boolean {
  const json = Buffer.from(segment, "base64url").toString("utf8");
  if (!json.includes('"alg"') || !json.trimEnd().endsWith("}")) return false; // JSON.parse throwing is slow
  try {
    const header: unknown = JSON.parse(json);
    return typeof header === "object" && header !== null && "alg" in header;
  } catch {
    return false;
  }
}

/** A value only JSON, YAML and shells use for "no password", or one already masked. */
const NOT_A_PASSWORD = /^(?:null|nil|none|true|false|undefined|\*+)[,;]?$/i;

/**
 * The value (quoted or up to white space) after a key ending in `password`,
 * `passwd`, `passphrase` or `_pwd` (`PGPASSWORD=`, `MYSQL_PWD=`,
 * `"password": "…"`, `db.password: …`), after `--password ` / `--passwd `,
 * and the password of a URL (`scheme://user:password@host`). Not `-p…`
 * (short options like `-pv`, `-p2222` are far more common than
 * `mysql -psecret`), not `PWD=`/`OLDPWD=` (directories).
 */
function passwordAssignment(): Detector {
  const value = String.raw`(?:"((?:[^"\\\r\n]|\\.)+)"|'([^'\r\n]+)'|([^\s"'\x60]+))`;
  const key = String.raw`--pass(?:word|wd)[ \t]+(?!-)|pass(?:word|wd|phrase)${KEY_GAP}|_pwd${KEY_GAP}`;
  const url = String.raw`://[^\s/?#@:]{0,64}:([^\s/?#@]+)@`;
  const pattern = new RegExp(`(?:${key})${value}|${url}`, "gid");
  const keyStarts = anchorStarts([
    anchor("wd", [-2, "_pwd"], [-4, "passwd"], [-6, "--passwd"]),
    anchor("word", [-4, "password"], [-6, "--password"]),
    anchor("hrase", [-5, "passphrase"]),
  ]);
  const starts: StartsOf = (scan) => [...keyStarts(scan), ...urlStarts(scan)].sort((a, b) => a - b);
  return keyedDetector(
    "password-assignment",
    pattern,
    384,
    (match) =>
      match[3] !== undefined && NOT_A_PASSWORD.test(match[3]) ? undefined : groupSpan(match),
    starts,
  );
}

/**
 * Where a URL with a password (`://user:password@`) can start: neither the
 * user nor the password holds a `/` or an `@`, so its `://` ends at the last
 * `/` before the first `@` after it.
 */
function urlStarts(scan: TextScan): number[] {
  const ats = scan.positions("@", false);
  if (ats.length === 0) return [];
  const slashes = scan.positions("/", false);
  const starts: number[] = [];
  let next = 0;
  for (const at of ats) {
    while (next < slashes.length && (slashes[next] ?? at) < at) next++;
    const lastSlash = slashes[next - 1];
    if (lastSlash !== undefined && lastSlash >= 2) starts.push(lastSlash - 2);
  }
  return starts;
}

/**
 * The credentials of an `Authorization: Bearer|Basic|Token …` header (any
 * length), and a token of 16 or more characters after a bare `Bearer`.
 */
function bearerToken(): Detector {
  const token = "[A-Za-z0-9._~+/-]";
  const pattern = new RegExp(
    String.raw`\bauthorization${KEY_GAP_QUOTE}(?:bearer|basic|token)[ \t]+(${token}+=*)|\bbearer[ \t]+(${token}{16,}=*)`,
    "gid",
  );
  const starts = anchorStarts([
    anchor("uth", [-1, "authorization"]),
    anchor("bearer", [0, "bearer"]),
  ]);
  return keyedDetector("bearer-token", pattern, 4160, groupSpan, starts);
}

/** Below this, a value after a key-like name reads as a word or an identifier, not a secret. */
const MIN_ENTROPY_BITS = 3.5;
/** Hex has only 16 symbols: a random 20–64 digit hex string scores ~3.6–3.9. */
const MIN_HEX_ENTROPY_BITS = 3.0;

/**
 * A token of 20+ characters with high entropy and at least two of lower
 * case, upper case and digits, after a key name ending in `secret`, `token`,
 * `api_key`/`apikey`, `access_key`, `private_key`, `auth` or `credential(s)`
 * with `=`, `:` (JSON, YAML, env, ini). The same token in plain text is not
 * masked.
 */
function genericSecret(): Detector {
  const names = `secret|token|api[_-]?key|access[_-]?key|private[_-]?key|auth|credentials?`;
  const pattern = new RegExp(`(?:${names})${KEY_GAP_QUOTE}([A-Za-z0-9+/_.~=-]{20,})`, "gid");
  const starts = anchorStarts([
    anchor("ret", [-3, "secret"]),
    anchor("ken", [-2, "token"]),
    anchor(
      "key",
      [-3, "api"],
      [-4, "api"],
      [-6, "access"],
      [-7, "access"],
      [-7, "private"],
      [-8, "private"],
    ),
    anchor("uth", [-1, "auth"]),
    anchor("ial", [-7, "credential"]),
  ]);
  return keyedDetector(
    "generic-secret",
    pattern,
    1100,
    (match) => (looksRandom(match[1] ?? "") ? groupSpan(match) : undefined),
    starts,
  );
}

function looksRandom(token: string): boolean {
  const lower = /[a-z]/.test(token);
  const upper = /[A-Z]/.test(token);
  const digit = /\d/.test(token);
  if (Number(lower) + Number(upper) + Number(digit) < 2) return false;
  const hex = /^[0-9a-fA-F]+$/.test(token) && !(lower && upper);
  return shannonEntropy(token) >= (hex ? MIN_HEX_ENTROPY_BITS : MIN_ENTROPY_BITS);
}

const BUILT_IN: Readonly<Record<MaskDetectorName, () => Detector>> = {
  "credit-card": creditCard,
  "us-ssn": usSsn,
  iban,
  "aws-access-key-id": awsAccessKeyId,
  "aws-secret-key": awsSecretKey,
  "private-key": privateKeyDetector,
  jwt,
  "password-assignment": passwordAssignment,
  "bearer-token": bearerToken,
  "generic-secret": genericSecret,
};

export function builtInDetector(name: MaskDetectorName): Detector {
  const make = Object.hasOwn(BUILT_IN, name) ? BUILT_IN[name] : undefined;
  if (make === undefined)
    throw new PortcullisError("ERR_MASK_DETECTOR", `unknown masking detector: ${String(name)}`);
  return make();
}

/**
 * The detectors of a policy `mask:` list, in order, each name once: a name
 * alone (or `{name}` without a regex) is a built-in, `{name, regex}` a
 * custom detector. An unknown built-in name or a refused regex throws.
 */
export function detectorsFor(entries: readonly (string | MaskSpec)[]): Detector[] {
  const byName = new Map<string, Detector>();
  for (const entry of entries) {
    const spec = typeof entry === "string" ? { name: entry } : entry;
    if (byName.has(spec.name)) continue;
    byName.set(
      spec.name,
      spec.regex === undefined
        ? builtInDetector(spec.name as MaskDetectorName)
        : customDetector(spec.name, spec.regex),
    );
  }
  return [...byName.values()];
}

/**
 * Every match of every detector in `text`, sorted by start; overlapping
 * matches are joined into one (named after the one that starts first, or the
 * longer one on a tie, or the one listed first), open when an open match
 * reaches its end.
 */
export function findSecrets(detectors: readonly Detector[], text: string): SecretMatch[] {
  const all: SecretMatch[] = [];
  const scan = new TextScan(text);
  for (const detector of detectors)
    for (const span of detector.findIn?.(scan) ?? detector.find(text))
      all.push({ ...span, detector: detector.name });
  if (all.length <= 1) return all;
  all.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: SecretMatch[] = [];
  for (const match of all) {
    const last = merged.at(-1);
    if (last === undefined || match.start >= last.end) merged.push(match);
    else if (match.end > last.end || (match.open === true && match.end === last.end))
      merged[merged.length - 1] = { ...last, end: match.end, ...openIf(match.open) };
  }
  return merged;
}

function openIf(open: boolean | undefined): { open?: true } {
  return open === true ? { open } : {};
}
