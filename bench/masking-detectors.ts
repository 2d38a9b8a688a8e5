// Detector throughput: findSecrets with every built-in detector over ~20 MB
// of each of three texts, in 32 KiB pieces like pty reads: generated terminal
// output (ls -l, logs with IPs and numbers, JSON, kubectl tables, hex dumps,
// a few secrets), `seq` output (9- and 10-digit numbers, the bulk of
// `seq 1 1000000000`), and one log line repeated (`yes LINE`). Prints MB/s
// for all detectors together and for each alone, per text, and writes
// bench/results/masking-detectors-<timestamp>.json.
// Usage: npm run build && node dist/bench/masking-detectors.js [rounds]

import { performance } from "node:perf_hooks";
import {
  builtInDetector,
  type Detector,
  detectorsFor,
  findSecrets,
} from "../src/masking/detectors.js";
import { MASK_DETECTORS } from "../src/policy/schema.js";
import { PATHOLOGICAL_INPUTS, QUADRATIC_CUSTOM } from "../test/masking/pathological.js";
import { machine, median, seededRandom, writeResult } from "./results-file.js";

const TARGET_BYTES = 20 * 1024 * 1024;
const PIECE = 32 * 1024;

const random = seededRandom(8);
const int = (below: number) => Math.floor(random() * below);
const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
const hex = (length: number) => Array.from({ length }, () => int(16).toString(16)).join("");
const ip = () => `10.${int(256)}.${int(256)}.${int(256)}`;
const time = () =>
  `2026-11-22T${String(int(24)).padStart(2, "0")}:${String(int(60)).padStart(2, "0")}:${String(int(60)).padStart(2, "0")}.${String(int(1000)).padStart(3, "0")}Z`;

const WORDS = ["api", "worker", "cache", "db", "auth", "billing", "queue", "nginx", "sshd", "cron"];
const SECRETS = [
  "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
  "PGPASSWORD=hunter2-Correct psql -h db",
  '{"user":"bob","password":"s3cr3t!","card":"4111 1111 1111 1111"}',
  "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
  "GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a",
  "customer ssn 123-45-6789 iban DE89 3704 0044 0532 0130 00",
];

const LINES: (() => string)[] = [
  () =>
    `-rw-r--r-- 1 ${pick(WORDS)} staff ${int(10_000_000)} Nov ${1 + int(28)} 12:${String(int(60)).padStart(2, "0")} ${pick(WORDS)}-${hex(6)}.log`,
  () =>
    `${time()} INFO ${pick(WORDS)}[${int(65536)}]: request from ${ip()}:${int(65536)} took ${int(5000)}ms status=${pick([200, 201, 404, 500])} bytes=${int(1_000_000)}`,
  () =>
    `{"ts":${1_700_000_000_000 + int(99_999_999)},"level":"info","svc":"${pick(WORDS)}","trace":"${hex(32)}","latency":${random().toFixed(6)},"user_id":${int(10_000_000)}}`,
  () =>
    `${pick(WORDS)}-${hex(10)}-${hex(5)}   1/1     Running   ${int(9)}          ${int(90)}d    ${ip()}   node-${int(40)}`,
  () => `${hex(8)}: ${Array.from({ length: 8 }, () => hex(4)).join(" ")}  ................`,
  () =>
    `Nov 22 ${time().slice(11, 19)} host sshd[${int(99999)}]: Accepted publickey for ${pick(WORDS)} from ${ip()} port ${int(65536)} ssh2: ED25519 SHA256:${hex(43)}`,
];

/** Lines from `nextLine` joined by CRLF (a pty's line ends) up to TARGET_BYTES. */
function textOf(nextLine: (index: number) => string): string {
  const lines: string[] = [];
  for (let size = 0; size < TARGET_BYTES; ) {
    const line = nextLine(lines.length);
    lines.push(line);
    size += line.length + 2;
  }
  return lines.join("\r\n");
}

const LOG_LINE =
  "Nov 22 03:16:01 web1 app[4242]: GET /api/v1/items?id=118 status=200 bytes=5120 user=alice ms=12";

const TEXTS: Readonly<Record<string, () => string>> = {
  realistic: () => textOf(() => (int(500) === 0 ? pick(SECRETS) : pick(LINES)())),
  seq: () => textOf((index) => String(999_000_000 + index)),
  "log-line": () => textOf(() => LOG_LINE),
};

function pieces(text: string): string[] {
  const result: string[] = [];
  for (let at = 0; at < text.length; at += PIECE) result.push(text.slice(at, at + PIECE));
  return result;
}

/** MB/s (10^6 characters, all ASCII here) of findSecrets over `parts`, median of `rounds`; and matches found. */
function measure(detectors: readonly Detector[], parts: readonly string[], rounds: number) {
  const size = parts.reduce((sum, part) => sum + part.length, 0);
  const rates: number[] = [];
  let matches = 0;
  for (let round = 0; round < rounds; round++) {
    matches = 0;
    const started = performance.now();
    for (const part of parts) matches += findSecrets(detectors, part).length;
    rates.push(size / 1e6 / ((performance.now() - started) / 1000));
  }
  return { mb_per_s: Math.round(median(rates)), matches };
}

/** All detectors together, then each alone, over the pieces of one text. */
function measureText(name: string, parts: readonly string[], rounds: number) {
  const all = MASK_DETECTORS.map(builtInDetector);
  measure(all, parts, 1); // warm-up: compile the regexes and the JIT'd code first
  const together = measure(all, parts, rounds);
  console.log(`${name}: all detectors ${together.mb_per_s} MB/s (${together.matches} matches)`);
  const each = Object.fromEntries(
    all.map((detector) => {
      const alone = measure([detector], parts, rounds);
      console.log(
        `  ${detector.name.padEnd(20)} ${alone.mb_per_s} MB/s (${alone.matches} matches)`,
      );
      return [detector.name, alone];
    }),
  );
  return { all: together, each };
}

const rounds = Number(process.argv[2] ?? 5);
console.log(machine());
const texts = Object.fromEntries(
  Object.entries(TEXTS).map(([name, make]) => [name, measureText(name, pieces(make()), rounds)]),
);
/** Milliseconds for all detectors over each pathological input (and the quadratic custom regex). */
function pathological(): Record<string, number> {
  const all = MASK_DETECTORS.map(builtInDetector);
  const time = (run: () => void) => {
    const started = performance.now();
    run();
    return Math.round((performance.now() - started) * 10) / 10;
  };
  const timings = Object.fromEntries(
    PATHOLOGICAL_INPUTS.map((text) => [
      `${JSON.stringify(text.slice(0, 12))}×${text.length}`,
      time(() => findSecrets(all, text)),
    ]),
  );
  const [custom] = detectorsFor([{ name: "quadratic", ...QUADRATIC_CUSTOM }]);
  timings["custom /\\d+x/ on 1×100000"] = time(() => custom?.find(QUADRATIC_CUSTOM.text));
  for (const [input, ms] of Object.entries(timings)) console.log(`  ${input.padEnd(32)} ${ms} ms`);
  return timings;
}

console.log("pathological inputs:");
const pathologicalMs = pathological();
const result = {
  date: new Date().toISOString(),
  machine: machine(),
  text_mb: Math.round(TARGET_BYTES / 1e5) / 10,
  piece_bytes: PIECE,
  rounds,
  texts,
  pathological_ms: pathologicalMs,
};
console.log(`written ${writeResult("masking-detectors", result)}`);
