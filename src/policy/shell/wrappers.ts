// What a program runs besides itself (SPEC §5.5): wrappers whose operand is
// another command (`sudo`, `env`, `timeout 5`, `xargs`, `find -exec`, …),
// shells and `eval` given code, and interpreters or shells whose code cannot
// be seen (inline scripts, files, standard input). Each handler knows its
// program's option syntax.

import type { ArgWord } from "../command-types.js";
import {
  ASSIGNMENT_SOURCE,
  hasOption,
  literalOf,
  type OptionScan,
  optionValue,
  scanOptions,
  syntax,
} from "./options.js";

/** What a command runs: another argv, shell code to parse, or something unknowable. */
export type Effect =
  | { readonly run: readonly ArgWord[] }
  | { readonly code: string }
  | { readonly dynamic: string };

/** Where the command's standard input comes from, as far as the line shows. */
export type Stdin = { readonly code: string } | { readonly unknown: string };

type Handler = (args: readonly ArgWord[], stdin: Stdin) => Effect[];

const XARGS_INPUT: ArgWord = { dynamic: "<xargs input>" };
const FIND_PATH: ArgWord = { dynamic: "{}" };

function run(argv: readonly ArgWord[]): Effect[] {
  return argv.length === 0 ? [] : [{ run: argv }];
}

function dynamic(reason: string): Effect[] {
  return [{ dynamic: reason }];
}

/** Runs the operands after the options; `then` post-processes a successful scan. */
function afterOptions(
  scan: OptionScan,
  then: (rest: readonly ArgWord[], scanned: Exclude<OptionScan, { dynamic: string }>) => Effect[],
): Effect[] {
  return "dynamic" in scan ? dynamic(scan.dynamic) : then(scan.rest, scan);
}

interface WrapperSyntax {
  /** Leading operands before the command (`timeout DURATION`, `taskset MASK`). */
  readonly skip?: number;
  /** Options with which the wrapper runs nothing (`command -v`, `ionice -p PID`). */
  readonly noCommand?: string;
}

/** A wrapper whose operands (after its options and `skip` leading operands) are the command. */
function wrapper(withValue: string, extra: WrapperSyntax = {}): Handler {
  const spec = syntax(withValue);
  const noCommand = (extra.noCommand ?? "").split(" ");
  return (args) =>
    afterOptions(scanOptions(args, spec), (rest, scan) =>
      hasOption(scan, ...noCommand) ? [] : run(rest.slice(extra.skip ?? 0)),
    );
}

/** Joins literal words into code, as `eval` and `watch` do; dynamic words make it unknowable. */
function joinedCode(words: readonly ArgWord[], what: string): Effect[] {
  if (words.length === 0) return [];
  const texts = words.map(literalOf);
  if (texts.some((text) => text === undefined)) return dynamic(`${what} is computed at run time`);
  return [{ code: texts.join(" ") }];
}

function codeOrDynamic(word: ArgWord | undefined, what: string): Effect[] {
  if (word === undefined) return [];
  const text = literalOf(word);
  return text === undefined ? dynamic(`${what} is computed at run time`) : [{ code: text }];
}

function stdinCode(stdin: Stdin, reader: string): Effect[] {
  return "code" in stdin
    ? [{ code: stdin.code }]
    : dynamic(`${reader} reads commands from ${stdin.unknown}`);
}

// ── privilege and environment wrappers ─────────────────────────────────

export const SUDO = syntax(
  "-u -g -h -p -C -D -R -r -t -T -U --user --group --host --prompt --close-from --chdir --chroot --role --type --command-timeout --other-user",
);

function sudo(args: readonly ArgWord[]): Effect[] {
  return afterOptions(scanOptions(args, SUDO), (rest, scan) => {
    if (hasOption(scan, "-e", "--edit", "-l", "--list", "-v", "--validate", "-k", "-K", "-V"))
      return [];
    const command = skipAssignments(rest);
    if (command.length === 0 && hasOption(scan, "-i", "-s", "--login", "--shell")) {
      return dynamic("opens a root shell");
    }
    return run(command);
  });
}

function skipAssignments(words: readonly ArgWord[]): readonly ArgWord[] {
  const first = words.findIndex(
    (word) => !ASSIGNMENT_SOURCE.test("literal" in word ? word.literal : word.dynamic),
  );
  return first === -1 ? [] : words.slice(first);
}

export const DOAS = syntax("-u -C");

function doas(args: readonly ArgWord[]): Effect[] {
  return afterOptions(scanOptions(args, DOAS), (rest, scan) => {
    if (rest.length === 0 && hasOption(scan, "-s")) return dynamic("opens a root shell");
    return run(rest);
  });
}

const ENV = syntax("-u -C -S -P --unset --chdir --split-string");

function env(args: readonly ArgWord[]): Effect[] {
  return afterOptions(scanOptions(args, ENV), (rest, scan) => {
    if (hasOption(scan, "-S", "--split-string"))
      return dynamic("env -S splits a string into a command");
    return run(skipAssignments(rest));
  });
}

const SU = syntax(
  "-c -s -g -G -w -u --command --session-command --shell --group --supp-group --whitelist-environment --user",
);

/** `su` and `runuser`: GNU getopt permutes, so options may follow the user name. */
function su(args: readonly ArgWord[]): Effect[] {
  const dashDash = args.findIndex((word) => literalOf(word) === "--");
  const optionPart = dashDash === -1 ? args : args.slice(0, dashDash);
  const operands = dashDash === -1 ? [] : args.slice(dashDash + 1);
  const options: ArgWord[] = [];
  for (let i = 0; i < optionPart.length; i++) {
    const word = optionPart[i] as ArgWord;
    const text = literalOf(word);
    if (text === undefined) return dynamic("su options are computed at run time");
    if (text === "-" || !text.startsWith("-")) continue;
    options.push(word);
    if (SU.withValue.has(text) && optionPart[i + 1] !== undefined)
      options.push(optionPart[++i] as ArgWord);
  }
  return suEffects(options, operands);
}

function suEffects(options: readonly ArgWord[], operands: readonly ArgWord[]): Effect[] {
  const scan = scanOptions(options, SU);
  if ("dynamic" in scan) return dynamic(scan.dynamic);
  const command = optionValue(scan, "-c", "--command", "--session-command");
  if (command !== undefined) return codeOrDynamic(command, "the su -c command");
  if (hasOption(scan, "-u", "--user") && operands.length > 0) return run(operands);
  return dynamic("opens a shell");
}

// ── command runners ─────────────────────────────────────────────────────

const XARGS = syntax(
  "-a -d -E -I -L -n -P -s --arg-file --delimiter --eof --replace --max-lines --max-args --max-procs --max-chars --process-slot-var",
  "-e -i -l",
);

function xargs(args: readonly ArgWord[]): Effect[] {
  return afterOptions(scanOptions(args, XARGS), (rest, scan) => {
    if (rest.length === 0) return [];
    const replace = scan.options.find((o) => ["-I", "-i", "--replace"].includes(o.name));
    if (replace === undefined) return run([...rest, XARGS_INPUT]);
    const marker = replace.value === undefined ? "{}" : literalOf(replace.value);
    return run(
      rest.map((word) =>
        marker === undefined || literalOf(word)?.includes(marker) ? XARGS_INPUT : word,
      ),
    );
  });
}

const FIND_ACTIONS = new Set(["-exec", "-execdir", "-ok", "-okdir"]);

function find(args: readonly ArgWord[]): Effect[] {
  const effects: Effect[] = [];
  for (let i = 0; i < args.length; i++) {
    if (!FIND_ACTIONS.has(literalOf(args[i]) ?? "")) continue;
    const end = findActionEnd(args, i + 1);
    effects.push(...run(args.slice(i + 1, end).map(findPlaceholder)));
    i = end;
  }
  return effects;
}

function findActionEnd(args: readonly ArgWord[], start: number): number {
  for (let i = start; i < args.length; i++) {
    const text = literalOf(args[i]);
    if (text === ";" || (text === "+" && literalOf(args[i - 1]) === "{}")) return i;
  }
  return args.length;
}

function findPlaceholder(word: ArgWord): ArgWord {
  return literalOf(word)?.includes("{}") ? FIND_PATH : word;
}

const WATCH = syntax("-n -q --interval --equexit", "-d");

function watch(args: readonly ArgWord[]): Effect[] {
  return afterOptions(scanOptions(args, WATCH), (rest, scan) =>
    hasOption(scan, "-x", "--exec") ? run(rest) : joinedCode(rest, "the watch command"),
  );
}

const FLOCK = syntax("-w -E -c --timeout --conflict-exit-code --command");

function flock(args: readonly ArgWord[]): Effect[] {
  return afterOptions(scanOptions(args, FLOCK), (rest, scan) => {
    const command = optionValue(scan, "-c", "--command");
    if (command !== undefined) return codeOrDynamic(command, "the flock -c command");
    const operands = rest.slice(1);
    const flag = literalOf(operands[0]);
    if (flag === "-c" || flag === "--command")
      return codeOrDynamic(operands[1], "the flock -c command");
    return run(operands);
  });
}

function chroot(args: readonly ArgWord[]): Effect[] {
  return afterOptions(scanOptions(args, syntax("--userspec --groups")), (rest) =>
    rest.length === 1 ? dynamic("opens a shell") : run(rest.slice(1)),
  );
}

function busybox(args: readonly ArgWord[]): Effect[] {
  const applet = literalOf(args[0]);
  return applet?.startsWith("-") ? [] : run(args);
}

const TRACE_VALUES = "-e -o -p -s -u -E -a -b -I -O -P -X -A -D -F -l -n -x -L -S";

// ── shells, eval, source and interpreters ──────────────────────────────

export const SHELLS: ReadonlySet<string> = new Set([
  "bash",
  "sh",
  "zsh",
  "dash",
  "ksh",
  "mksh",
  "ash",
  "yash",
  "posh",
  "rbash",
]);
const SHELL_VALUE_OPTIONS = new Set(["-o", "+o", "-O", "+O", "--rcfile", "--init-file"]);

export interface ShellOptions {
  readonly command: boolean;
  readonly stdin: boolean;
  readonly operands: readonly ArgWord[];
}

/** A shell's own options: `-c` given, `-s` given, and its operands; undefined when computed. */
export function shellOptions(args: readonly ArgWord[]): ShellOptions | undefined {
  let command = false;
  let stdin = false;
  for (let i = 0; i < args.length; i++) {
    const text = literalOf(args[i]);
    if (text === undefined) return undefined;
    if (text === "--" || text === "-") return { command, stdin, operands: args.slice(i + 1) };
    if (!/^[-+]/.test(text)) return { command, stdin, operands: args.slice(i) };
    if (SHELL_VALUE_OPTIONS.has(text) || /^[-+][A-Za-z]*[oO]$/.test(text)) i++;
    else if (!text.startsWith("--")) {
      command ||= text.slice(1).includes("c");
      stdin ||= text.slice(1).includes("s");
    }
  }
  return { command, stdin, operands: [] };
}

/** Shells whose syntax differs from bash in ways that matter here (no `$'…'` in older dash). */
const POSIX_SHELLS = new Set(["sh", "dash", "ash", "posh"]);

function shell(program: string, args: readonly ArgWord[], stdin: Stdin): Effect[] {
  const options = shellOptions(args);
  if (options === undefined) return dynamic("shell options are computed at run time");
  return shellInput(options, stdin).map((effect) => posixCaveat(program, effect));
}

function shellInput(options: ShellOptions, stdin: Stdin): Effect[] {
  if (options.command) return codeOrDynamic(options.operands[0], "the shell -c command");
  if (options.operands.length > 0 && !options.stdin)
    return dynamic("runs the code of a script file");
  return stdinCode(stdin, "the shell");
}

function posixCaveat(program: string, effect: Effect): Effect {
  if (!("code" in effect) || !POSIX_SHELLS.has(program) || !effect.code.includes("$'"))
    return effect;
  return { dynamic: `${program} may not read $'…' strings as bash does` };
}

/** `trap ACTION SIGNAL…`: the action is code bash runs later, on the signal or at exit. */
function trap(args: readonly ArgWord[]): Effect[] {
  const first = literalOf(args[0]);
  const operands = first === "--" ? args.slice(1) : args;
  if (first === "-l" || first === "-p" || operands.length < 2) return [];
  const action = literalOf(operands[0]);
  return action === "-" ? [] : codeOrDynamic(operands[0], "the trap action");
}

function source(): Effect[] {
  return dynamic("runs the code of a file");
}

export const INTERPRETER =
  /^(python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby[0-9.]*|irb|node|nodejs|deno|bun|php[0-9.]*|lua[0-9.]*|luajit|tclsh[0-9.]*|wish|Rscript|expect|osascript|groovy|jshell|pwsh)$/;
export const INLINE_CODE: ReadonlySet<string> = new Set([
  "-c",
  "-e",
  "-E",
  "-r",
  "--eval",
  "-p",
  "--print",
  "-x",
]);
export const VERSION_ONLY: ReadonlySet<string> = new Set(["--version", "-V", "-v", "--help", "-h"]);

function interpreter(args: readonly ArgWord[]): Effect[] {
  const texts = args.map(literalOf);
  if (texts.length === 1 && VERSION_ONLY.has(texts[0] ?? "")) return [];
  const inline = texts.find(
    (text) => text !== undefined && (INLINE_CODE.has(text) || /^-[A-Za-z]*[ce]$/.test(text)),
  );
  if (inline !== undefined) return dynamic(`interpreter given inline code (${inline})`);
  return dynamic("interpreter runs code from a file or standard input");
}

const AWK = syntax(
  "-f -v -F -e -i -l -E --file --assign --field-separator --source --include --load --exec",
);
const AWK_RUNS_COMMANDS = /system\s*\(|\||getline/;

function awk(args: readonly ArgWord[]): Effect[] {
  return afterOptions(scanOptions(args, AWK), (rest, scan) => {
    if (hasOption(scan, "-f", "--file", "-E", "--exec", "-i", "--include", "-l", "--load")) {
      return dynamic("awk runs a program file");
    }
    const program = optionValue(scan, "-e", "--source") ?? rest[0];
    const text = literalOf(program);
    if (program !== undefined && text === undefined)
      return dynamic("the awk program is computed at run time");
    return text !== undefined && AWK_RUNS_COMMANDS.test(text)
      ? dynamic("awk program runs commands")
      : [];
  });
}

const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>(
  Object.entries({
    sudo,
    doas,
    env,
    su,
    runuser: su,
    nice: wrapper("-n --adjustment"),
    nohup: wrapper(""),
    timeout: wrapper("-s -k --signal --kill-after", { skip: 1 }),
    time: wrapper("-o -f --output --format"),
    command: wrapper("", { noCommand: "-v -V" }),
    builtin: wrapper(""),
    exec: wrapper("-a"),
    xargs,
    find,
    watch,
    stdbuf: wrapper("-i -o -e --input --output --error"),
    busybox,
    chroot,
    flock,
    ionice: wrapper("-c -n -p -P -u --class --classdata --pid --pgid --uid", {
      noCommand: "-p -P -u --pid --pgid --uid",
    }),
    taskset: wrapper("", { skip: 1, noCommand: "-p --pid" }),
    setsid: wrapper(""),
    strace: wrapper(TRACE_VALUES),
    ltrace: wrapper(TRACE_VALUES),
    unbuffer: wrapper(""),
    eval: (args) => joinedCode(args, "the eval code"),
    trap,
    source,
    ".": source,
    awk,
    gawk: awk,
    mawk: awk,
    nawk: awk,
  }),
);

/** The effects of running `program` (a basename) with `args`. */
export function effectsOf(program: string, args: readonly ArgWord[], stdin: Stdin): Effect[] {
  if (SHELLS.has(program)) return shell(program, args, stdin);
  if (INTERPRETER.test(program)) return interpreter(args);
  return HANDLERS.get(program)?.(args, stdin) ?? [];
}
