// From a command line to every command bash would run (SPEC §5.5): parse,
// turn each simple command into an ExtractedCommand, then follow wrappers,
// `-c` strings, `eval` and heredocs fed to shells, recursively. The names the
// line defines (variables, functions), nested code included, come along.
// The files a command writes by redirection are its own `>`-style targets
// and those of the compound commands around it; what a wrapper or a code
// string runs writes them too (it inherits the descriptors).

import type { ArgWord, ExtractedCommand, Extraction } from "../command-types.js";
import { normalizePath } from "../glob.js";
import { parseShell } from "./parser.js";
import {
  type DefinedNames,
  IncompleteInput,
  type Redirect,
  ShellSyntaxError,
  type SimpleCommand,
  type Word,
} from "./syntax.js";
import { type Effect, effectsOf, type Stdin } from "./wrappers.js";

/** How deep `bash -c "eval '…'"`-style nesting is followed before giving up (dynamic). */
const MAX_CODE_DEPTH = 16;
const FD_DUPLICATION = /^(\d+|-)$/;
/** Operators that open their target for writing (`>&` only when the target is not a descriptor). */
const WRITE_OPERATORS: ReadonlySet<string> = new Set([">", ">>", ">|", "&>", "&>>", "<>", ">&"]);
/** Targets bash opens without modifying any file: descriptors' aliases, the terminal, the sink. */
const NOT_A_FILE = /^\/dev\/(?:null|stdin|stdout|stderr|tty|fd\/\d+)$/;
const PROCESS_SUBSTITUTION = /^[<>]\(/;

function argWord(word: Word): ArgWord {
  return word.value === undefined ? { dynamic: word.source } : { literal: word.value };
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function isStdinRedirect(redirect: Redirect): boolean {
  return redirect.op.startsWith("<") && redirect.op !== "<&" && (redirect.fd ?? "0") === "0";
}

/** What the command's standard input holds when it is code a shell could run. */
function stdinOf(redirects: readonly Redirect[]): Stdin {
  const input = redirects.findLast(isStdinRedirect);
  if (input === undefined) return { unknown: "standard input" };
  if (input.heredoc !== undefined) {
    const value = input.heredoc.value;
    return value === undefined ? { unknown: "a heredoc with expansions" } : { code: value };
  }
  if (input.op === "<<<" && input.target.value !== undefined)
    return { code: `${input.target.value}\n` };
  return { unknown: `the redirection ${input.op} ${input.target.source}` };
}

function isFdDuplication(redirect: Redirect): boolean {
  return redirect.op.endsWith("&") && FD_DUPLICATION.test(redirect.target.source);
}

/** Redirection targets that name files (not `2>&1`, heredoc delimiters or `>&-`). */
function redirectFiles(redirects: readonly Redirect[]): ArgWord[] {
  return redirects
    .filter((r) => !r.op.startsWith("<<") && !isFdDuplication(r))
    .map((r) => argWord(r.target));
}

function writesFile(redirect: Redirect): boolean {
  const { target } = redirect;
  if (!WRITE_OPERATORS.has(redirect.op) || isFdDuplication(redirect)) return false;
  if (target.value === undefined) return !PROCESS_SUBSTITUTION.test(target.source);
  return !NOT_A_FILE.test(normalizePath(target.value));
}

/** The files a command opens for writing: its own redirections', then its compound commands'. */
function writtenFiles(command: SimpleCommand): ArgWord[] {
  return [...command.redirects, ...command.outerRedirects]
    .filter(writesFile)
    .map((redirect) => argWord(redirect.target));
}

interface Context {
  readonly redirects: readonly ArgWord[];
  readonly writes: readonly ArgWord[];
  readonly stdin: Stdin;
  readonly source: string;
  readonly depth: number;
  readonly names: DefinedNames;
}

/** The command itself, then everything it runs. */
function expandArgv(argv: readonly ArgWord[], context: Context): ExtractedCommand[] {
  const base = {
    argv,
    redirects: context.redirects,
    writes: context.writes,
    source: context.source,
  };
  const program = argv[0];
  if (program === undefined) return [];
  if ("dynamic" in program)
    return [{ ...base, dynamic: "the program name is computed at run time" }];
  const effects = effectsOf(basename(program.literal), argv.slice(1), context.stdin);
  const nested: ExtractedCommand[] = [];
  let reason: string | undefined;
  for (const effect of effects) {
    const result = followEffect(effect, context);
    nested.push(...result.commands);
    reason ??= result.dynamic;
  }
  return [reason === undefined ? base : { ...base, dynamic: reason }, ...nested];
}

interface EffectResult {
  readonly commands: readonly ExtractedCommand[];
  readonly dynamic?: string;
}

function followEffect(effect: Effect, context: Context): EffectResult {
  if ("dynamic" in effect) return { commands: [], dynamic: effect.dynamic };
  if ("run" in effect) return { commands: expandArgv(effect.run, context) };
  if (context.depth >= MAX_CODE_DEPTH) return { commands: [], dynamic: "code nested too deeply" };
  const inner = extractAt(effect.code, context.depth + 1, context.names);
  const commands = inner.partial.map((command) => inheritWrites(command, context.writes));
  if (inner.extraction.status === "complete") return { commands };
  // Bash runs code strings line by line: the lines before a syntax error still run.
  return { commands, dynamic: "cannot parse the code it runs" };
}

/** Code a shell runs writes where the shell's own output goes. */
function inheritWrites(command: ExtractedCommand, writes: readonly ArgWord[]): ExtractedCommand {
  return writes.length === 0 ? command : { ...command, writes: [...command.writes, ...writes] };
}

/** Redirections without a program (`> f`): bash performs them as the no-op builtin `:` would. */
const NULL_PROGRAM: ArgWord = { literal: ":" };

function argvOf(command: SimpleCommand): ArgWord[] {
  if (command.words.length === 0 && command.redirects.length > 0) return [NULL_PROGRAM];
  return command.words.map(argWord);
}

function extractSimple(
  command: SimpleCommand,
  depth: number,
  names: DefinedNames,
): ExtractedCommand[] {
  const context: Context = {
    // `{ cat; } < /etc/shadow` reads /etc/shadow as surely as `cat < /etc/shadow`
    redirects: redirectFiles([...command.redirects, ...command.outerRedirects]),
    writes: writtenFiles(command),
    stdin: stdinOf(command.redirects),
    source: command.source,
    depth,
    names,
  };
  return expandArgv(argvOf(command), context);
}

/** The parse failure as an extraction, or undefined when `line` parsed completely. */
function parseInto(
  line: string,
  out: SimpleCommand[],
  depth: number,
  names: DefinedNames,
): Extraction | undefined {
  try {
    parseShell(line, out, depth, names);
    return undefined;
  } catch (error) {
    if (error instanceof IncompleteInput) return { status: "incomplete", reason: error.message };
    if (error instanceof ShellSyntaxError) return { status: "error", message: error.message };
    if (error instanceof RangeError) return { status: "error", message: "line too complex" };
    throw error;
  }
}

interface Extracted {
  readonly extraction: Extraction;
  /** The commands of the part that parsed (all of them when complete). */
  readonly partial: readonly ExtractedCommand[];
}

function extractAt(line: string, depth: number, names: DefinedNames): Extracted {
  const parsed: SimpleCommand[] = [];
  const failure = parseInto(line, parsed, depth, names);
  const partial = parsed.flatMap((command) => extractSimple(command, depth, names));
  return { extraction: failure ?? { status: "complete", commands: partial }, partial };
}

/**
 * Every simple command bash would run for `line`, wrappers unwrapped (SPEC
 * §5.5), and, when complete, the variables and functions it defines.
 */
export function extractCommands(line: string): Extraction {
  const names: DefinedNames = { variables: [], functions: [] };
  const { extraction } = extractAt(line, 0, names);
  const defines = names.variables.length + names.functions.length > 0;
  return extraction.status === "complete" && defines
    ? { ...extraction, defines: names }
    : extraction;
}
