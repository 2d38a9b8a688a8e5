// The bash differential test (issue 3, item 4): fast-check generates shell
// lines that only name recording stubs, bash runs each one with the stubs
// first in PATH, and every argv a stub logged must be among the argvs that
// extractCommands produced for the line. A miss is a bypass.
// Long runs: PORTCULLIS_DIFF_RUNS=5000 PORTCULLIS_DIFF_SEED=42 node scripts/run-tests.mjs differential
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import fc from "fast-check";
import type { ArgWord, ExtractedCommand } from "../../../src/policy/command-types.js";
import { extractCommands } from "../../../src/policy/shell/index.js";

const RUNS = Number(process.env.PORTCULLIS_DIFF_RUNS ?? 200);
const SEED = Number(process.env.PORTCULLIS_DIFF_SEED ?? 20260422);
const CONCURRENCY = 4;
const STUBS = ["stubaa", "stubbb", "stubcc", "stubdd"];
const root = mkdtempSync(join(tmpdir(), "portcullis-diff-"));
after(() => rmSync(root, { recursive: true, force: true }));

// ── the sandbox: stubs log to the directory of the line that started them ──

const BIN = join(root, "bin");
const LOST = join(root, "lost");
const LINE_TIMEOUT_MS = 5000;

/** Stubs find their log directory in STUBLOG (set per line); `env -i` inside a line loses it. */
function makeStubs(): void {
  mkdirSync(BIN);
  mkdirSync(LOST);
  for (const name of STUBS) {
    const status = name === "stubdd" ? 1 : 0;
    const log = `"\${STUBLOG:-${LOST}}/$$.rec"`;
    writeFileSync(
      join(BIN, name),
      `#!/bin/sh\nprintf '%s\\0' "\${0##*/}" "$@" > ${log}\nexit ${status}\n`,
    );
    chmodSync(join(BIN, name), 0o755);
  }
}

interface BashRun {
  readonly ran: string[][];
  /** Bash said the line (or code it was given) does not parse. */
  readonly syntaxError: boolean;
}

const BASH_SYNTAX_ERROR = /syntax error|unexpected EOF/;
const VERSION_QUIRK = /after a heredoc inside/;

function runInBash(index: number, line: string): Promise<BashRun> {
  const log = join(root, `line${index}`);
  mkdirSync(log);
  const env = [`PATH=${BIN}:/usr/bin:/bin`, `STUBLOG=${log}`];
  const args = ["-i", ...env, "bash", "--norc", "--noprofile", "-c", `${line}\nwait`];
  return new Promise((resolve) => {
    const child = spawn("env", args, {
      cwd: root,
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("latin1");
    });
    const timer = setTimeout(() => killGroup(child.pid), LINE_TIMEOUT_MS);
    child.on("close", () => {
      clearTimeout(timer);
      killGroup(child.pid);
      resolve({ ran: readLog(log), syntaxError: BASH_SYNTAX_ERROR.test(stderr) });
    });
  });
}

/** Ends the line's bash and anything it left running in the background. */
function killGroup(pid: number | undefined): void {
  try {
    if (pid !== undefined) process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function readLog(log: string): string[][] {
  return readdirSync(log).map((file) =>
    readFileSync(join(log, file), "latin1").split("\0").slice(0, -1),
  );
}

// ── comparison: a dynamic word matches any run of words ──

function matches(pattern: readonly ArgWord[], argv: readonly string[]): boolean {
  const [head, ...rest] = pattern;
  if (head === undefined) return argv.length === 0;
  if ("dynamic" in head)
    return argv.some((_, i) => matches(rest, argv.slice(i))) || matches(rest, []);
  return argv[0] === head.literal && matches(rest, argv.slice(1));
}

function seen(commands: readonly ExtractedCommand[], argv: readonly string[]): boolean {
  return commands.some((command) => matches(command.argv, argv));
}

// ── the line grammar ──

const TEXT_CHARS = [
  "a",
  "b",
  "z",
  "0",
  " ",
  "-",
  "'",
  '"',
  "\\",
  "$",
  "`",
  ";",
  "|",
  "&",
  "*",
  "{",
  "}",
  ",",
  "#",
  "(",
  ")",
  "\t",
  "~",
  "=",
];
const text = fc
  .array(fc.constantFrom(...TEXT_CHARS), { maxLength: 6 })
  .map((chars) => chars.join(""));

const quoteSingle = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const quoteDouble = (s: string) => `"${s.replace(/[\\"$`]/g, "\\$&")}"`;
const quoteAnsi = (s: string) =>
  `$'${[...s].map((c) => (/[a-z0-9]/.test(c) ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)).join("")}'`;
const quoteBackslash = (s: string) => [...s].map((c) => (c === "\n" ? "'\n'" : `\\${c}`)).join("");
const QUOTERS = [quoteSingle, quoteDouble, quoteAnsi, quoteBackslash];

/** `s` split into pieces, each quoted its own way. */
function quotedWord(s: string): fc.Arbitrary<string> {
  if (s === "") return fc.constantFrom("''", '""', "$''");
  return fc
    .array(fc.constantFrom(...QUOTERS), { minLength: s.length, maxLength: s.length })
    .chain((quoters) =>
      fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((cuts) => {
        let out = "";
        let piece = "";
        [...s].forEach((c, i) => {
          piece += c;
          if (cuts[i] || i === s.length - 1) {
            out += (quoters[i] ?? quoteSingle)(piece);
            piece = "";
          }
        });
        return out;
      }),
    );
}

const plainArg = fc.constantFrom(
  "a",
  "-x",
  "--long",
  "x=1",
  "foo.txt",
  "1",
  "-rf",
  "{}",
  "[",
  "a,b",
);
const literalArg = fc.oneof(plainArg, text.chain(quotedWord));
const programName = fc
  .constantFrom(...STUBS)
  .chain((name) => fc.oneof(fc.constant(name), quotedWord(name)));

function argument(depth: number): fc.Arbitrary<string> {
  if (depth <= 0) return literalArg;
  return fc.oneof(
    { weight: 6, arbitrary: literalArg },
    { weight: 1, arbitrary: list(depth - 1).map((l) => `$(${l})`) },
    { weight: 1, arbitrary: list(depth - 1).map((l) => `"$(${l})"`) },
    {
      weight: 1,
      arbitrary: simple(0)
        .filter((c) => !c.includes("`"))
        .map((c) => `\`${c}\``),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('"$V"', "$V", "$" + "{V:-a}", "$((1+2))", "*.none", "{a,b}"),
    },
  );
}

function simple(depth: number): fc.Arbitrary<string> {
  const assignment = fc.option(
    argument(depth).map((v) => `V=${v} `),
    { nil: "" },
  );
  const redirect = fc.constantFrom("", "", " >/dev/null", " 2>&1", " <<< word", " 2>/dev/null");
  return fc
    .tuple(assignment, programName, fc.array(argument(depth), { maxLength: 3 }), redirect)
    .map(([assign, program, args, redir]) => `${assign}${[program, ...args].join(" ")}${redir}`);
}

const WRAPPERS = [
  "env ",
  "env A=1 ",
  "env -u V -- ",
  "nice ",
  "nice -n 5 ",
  "timeout 5 ",
  "timeout -s KILL 5 ",
  "command ",
  "exec ",
  "builtin command ",
];

function wrapped(depth: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.tuple(fc.constantFrom(...WRAPPERS), simple(depth)).map(([w, c]) => w + c),
    fc.tuple(literalArg, simple(0)).map(([input, c]) => `echo ${input} | xargs ${c}`),
    fc.tuple(literalArg, simple(0)).map(([input, c]) => `echo ${input} | xargs -I{} ${c} {}`),
  );
}

function codeString(depth: number): fc.Arbitrary<string> {
  return list(depth).chain((code) =>
    fc.constantFrom(
      `bash -c ${quoteSingle(code)}`,
      `bash -c ${quoteDouble(code)}`,
      `eval ${quoteSingle(code)}`,
      `bash -c ${quoteSingle(code)} zero one`,
      `eval ${quoteBackslash(code)}`,
    ),
  );
}

/** Ends a list before a reserved word: `;`, or nothing after a heredoc's closing line. */
function end(list: string): string {
  return list.endsWith("\n") ? list : `${list};`;
}

function compound(depth: number): fc.Arbitrary<string> {
  const l = list(depth);
  return fc.oneof(
    l.map((a) => `( ${a} )`),
    l.map((a) => `{ ${end(a)} }`),
    fc.tuple(l, l, l).map(([a, b, c]) => `if ${end(a)} then ${end(b)} else ${end(c)} fi`),
    l.map((a) => `for v in a b; do ${end(a)} done`),
    l.map((a) => `while false; do ${end(a)} done`),
    fc.tuple(l, l).map(([a, b]) => `case x in x|y) ${a};; *) ${b};; esac`),
    l.map((a) => `f${depth}() { ${end(a)} }; f${depth}`),
    l.map((a) => `bash <<'EOF${depth}'\n${a}\nEOF${depth}\n`),
    l.map((a) => `stubaa <<EOF${depth}\nbody $(${a})\nEOF${depth}\n`),
  );
}

function command(depth: number): fc.Arbitrary<string> {
  if (depth <= 0) return simple(0);
  return fc.oneof(
    { weight: 4, arbitrary: simple(depth) },
    { weight: 2, arbitrary: wrapped(depth - 1) },
    { weight: 1, arbitrary: codeString(depth - 1) },
    { weight: 2, arbitrary: compound(depth - 1) },
  );
}

function list(depth: number): fc.Arbitrary<string> {
  const separator = fc.constantFrom("; ", " && ", " || ", " | ", "\n");
  return fc
    .tuple(command(depth), fc.array(fc.tuple(separator, command(depth)), { maxLength: 2 }))
    .map(([first, rest]) =>
      rest.reduce(
        (line, [sep, next]) => (line.endsWith("\n") ? `${line}${next}` : `${line}${sep}${next}`),
        first,
      ),
    );
}

async function runAll(lines: readonly string[]): Promise<string[]> {
  makeStubs();
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < lines.length; i = next++) {
      failures.push(...(await checkLine(i, lines[i] ?? "")));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return failures;
}

async function checkLine(index: number, line: string): Promise<string[]> {
  const bash = await runInBash(index, line);
  const extraction = extractCommands(line);
  // A line both bash and the extractor reject is denied whole (SPEC §5.5), as
  // is one the extractor rejects because bash versions disagree about it.
  if (extraction.status !== "complete" && bash.syntaxError) return [];
  if (extraction.status === "error" && VERSION_QUIRK.test(extraction.message)) return [];
  const commands = extraction.status === "complete" ? extraction.commands : [];
  return bash.ran
    .filter((argv) => argv.length > 0 && !seen(commands, argv)) // empty: a stub killed mid-write
    .map(
      (argv) =>
        `bash ran ${JSON.stringify(argv)} not extracted (${extraction.status}) from line:\n${line}`,
    );
}

test(`bash runs nothing the extractor did not see (${RUNS} lines, seed ${SEED})`, {
  timeout: 600_000,
}, async () => {
  const lines = fc.sample(list(2), { numRuns: RUNS, seed: SEED });
  const failures = await runAll(lines);
  if (process.env.PORTCULLIS_DIFF_DUMP)
    writeFileSync(process.env.PORTCULLIS_DIFF_DUMP, JSON.stringify(failures));
  assert.deepEqual(failures.slice(0, 5), []);
});
