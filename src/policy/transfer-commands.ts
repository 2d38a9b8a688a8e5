// File transfers that arrive as exec commands (SPEC §5.3, §6; issue 10 part 2):
// the legacy scp protocol (`scp -O` makes the target run `scp -t DIR` or
// `scp -f PATH`) and rsync over ssh (`rsync --server [--sender] … . PATH…`).
// Pure. Recognises a command line that is exactly one such server, using the
// project's shell parser, and decides it with the access entry's
// `file_transfer` mode and `files:` rules (src/policy/files.ts). Lines that
// look like one but are not exactly one are reported as look-alikes so the
// caller can refuse them. Exec has no realpath: a relative path is decided as
// `~/path` against relative rules, and refused where an absolute rule could
// apply to it. docs/file-transfer.md ("Legacy scp and rsync") has the rules.

import { basename } from "node:path";
import {
  absoluteGlob,
  type FileAccess,
  fileTransferRefusal,
  literalBase,
  modeRefusal,
  resolvePath,
} from "./files.js";
import { compileGlob } from "./glob.js";
import { extractCommands } from "./shell/extract.js";
import { parseShell } from "./shell/parser.js";
import type { SimpleCommand, Word } from "./shell/syntax.js";
import type { AccessEntry, FileRule } from "./types.js";

export type TransferProgram = "scp" | "rsync";
export type TransferDirection = "upload" | "download";

export interface TransferCommand {
  readonly program: TransferProgram;
  /** `upload`: the target writes (scp -t, rsync receiver); `download`: it reads. */
  readonly direction: TransferDirection;
  /** The paths as the command names them (one for scp and rsync uploads). */
  readonly paths: readonly string[];
  /** Whether anything below a path may move (scp -t, scp -f -r, rsync). */
  readonly tree: boolean;
}

export type TransferRecognition =
  | { readonly kind: "none" }
  | { readonly kind: "transfer"; readonly command: TransferCommand }
  /** Runs an scp or rsync server, but not as exactly one recognised command. */
  | { readonly kind: "lookalike"; readonly reason: string };

export type TransferVerdict =
  | { readonly decision: "allow" }
  | { readonly decision: "deny"; readonly reason: string; readonly rule?: string };

const NONE: TransferRecognition = { kind: "none" };

/** scp options a legacy server accepts besides `-t`/`-f`. */
const SCP_FLAGS: ReadonlySet<string> = new Set(["-r", "-p", "-d", "-v", "-q"]);
/** scp client options that take a value: a cluster's letters after one are its value. */
const SCP_VALUE_LETTERS = "cDFiJloPSX";
/** rsync long options an ssh client sends that name no other path and read no list from the stream. */
const RSYNC_LONG_OPTIONS: ReadonlySet<string> = new Set([
  "--delete",
  "--delete-before",
  "--delete-during",
  "--delete-after",
  "--delete-delay",
  "--partial",
  "--inplace",
  "--append",
  "--append-verify",
  "--numeric-ids",
  "--size-only",
  "--ignore-times",
  "--existing",
  "--ignore-existing",
  "--safe-links",
  "--no-implied-dirs",
]);
/** rsync long options with a value that is not a path. */
const RSYNC_VALUE_OPTIONS =
  /^--(timeout|bwlimit|compress-level|max-size|min-size|modify-window)=[\w.+-]+$/;
/**
 * Flag letters allowed in rsync's short-option cluster before its `e`
 * (the capability string follows `e`). Left out: `s` (paths sent on the
 * stream), and the letters that take a value (`B`, `e`, `f`, `M`, `T`, `@`).
 */
const RSYNC_FLAG_LETTERS = /^-[vqlogDtprzcuxHAXSWbnmOJiKkLdCIyUEhR8F]*(e[.A-Za-z]*)?$/;

/** What `line` runs, as far as file transfer is concerned. */
export function recognizeTransfer(line: string): TransferRecognition {
  const parsed = parseLine(line);
  const server = [...parsed.commands.map(wordsOf), ...unwrappedCommands(line)].find(
    runsTransferServer,
  );
  if (server === undefined) return NONE;
  const only = parsed.commands[0];
  const exact =
    parsed.complete && parsed.commands.length === 1 && only !== undefined && !parsed.defines
      ? exactTransfer(only, line)
      : undefined;
  if (exact) return { kind: "transfer", command: exact };
  return {
    kind: "lookalike",
    reason: `runs ${basename(server[0] ?? "")} as a file transfer server, but not as exactly one plain command`,
  };
}

interface ParsedLine {
  readonly commands: readonly SimpleCommand[];
  readonly complete: boolean;
  readonly defines: boolean;
}

/** The simple commands of `line`; what parsed before a syntax error counts as well. */
function parseLine(line: string): ParsedLine {
  const commands: SimpleCommand[] = [];
  const names = { variables: [], functions: [] };
  try {
    parseShell(line, commands, 0, names);
  } catch {
    return { commands, complete: false, defines: true };
  }
  return { commands, complete: true, defines: names.variables.length + names.functions.length > 0 };
}

function wordsOf(command: SimpleCommand): string[] {
  return command.words.map((word) => word.value ?? word.source);
}

/** The commands the line runs with wrappers unwrapped (`sudo scp …`, `sh -c 'scp …'`). */
function unwrappedCommands(line: string): string[][] {
  const extraction = extractCommands(line);
  if (extraction.status !== "complete") return [];
  return extraction.commands.map((command) =>
    command.argv.map((word) => ("literal" in word ? word.literal : word.dynamic)),
  );
}

/** A command (program and arguments) that is scp with `-t`/`-f`, or rsync with `--server`. */
function runsTransferServer(argv: readonly string[]): boolean {
  const [program, ...args] = argv;
  const name = basename(program ?? "");
  if (name === "rsync") return args.includes("--server");
  if (name !== "scp") return false;
  const options = args.slice(0, endOfOptions(args));
  return options.some((arg) => /^-[^-]/.test(arg) && scpServerLetters(arg));
}

/** Whether an scp option cluster holds `t` or `f` before any letter that takes a value. */
function scpServerLetters(cluster: string): boolean {
  for (const letter of cluster.slice(1)) {
    if (letter === "t" || letter === "f") return true;
    if (SCP_VALUE_LETTERS.includes(letter)) return false;
  }
  return false;
}

function endOfOptions(args: readonly string[]): number {
  const end = args.indexOf("--");
  return end < 0 ? args.length : end;
}

/** The transfer `command` is, when it is exactly one server with literal words and nothing else. */
function exactTransfer(command: SimpleCommand, line: string): TransferCommand | undefined {
  if (command.redirects.length > 0 || command.source.trim() !== line.trim()) return undefined;
  const words = literalWords(command.words);
  if (words === undefined) return undefined;
  const [program, ...args] = words;
  if (program === "scp") return exactScp(args);
  if (program === "rsync") return exactRsync(args);
  return undefined;
}

function literalWords(words: readonly Word[]): string[] | undefined {
  const values = words.map((word) => word.value);
  return values.every((value): value is string => value !== undefined && !value.includes("\0"))
    ? values
    : undefined;
}

/** `scp [-r -p -d -v -q] (-t|-f) [--] PATH`, the options in any order. */
function exactScp(args: readonly string[]): TransferCommand | undefined {
  const end = endOfOptions(args);
  const firstOperand = args.findIndex((arg, index) => index === end || !arg.startsWith("-"));
  const optionCount = firstOperand < 0 ? args.length : firstOperand;
  const options = args.slice(0, optionCount);
  const operands = args.slice(optionCount === end ? end + 1 : optionCount);
  const modes = options.filter((option) => option === "-t" || option === "-f");
  const [path] = operands;
  if (modes.length !== 1 || operands.length !== 1 || path === undefined) return undefined;
  if (!options.every((option) => option === modes[0] || SCP_FLAGS.has(option))) return undefined;
  const upload = modes[0] === "-t";
  return {
    program: "scp",
    direction: upload ? "upload" : "download",
    paths: [path],
    tree: upload || options.includes("-r"),
  };
}

/** `rsync --server [--sender] OPTIONS . PATH…` (one PATH when receiving). */
function exactRsync(args: readonly string[]): TransferCommand | undefined {
  if (args[0] !== "--server") return undefined;
  const dot = args.indexOf(".");
  if (dot < 0) return undefined;
  const options = args.slice(1, dot);
  const paths = args.slice(dot + 1);
  if (!options.every((option) => option === "--sender" || isRsyncOption(option))) return undefined;
  const download = options.includes("--sender");
  if (paths.length === 0 || (!download && paths.length !== 1)) return undefined;
  return { program: "rsync", direction: download ? "download" : "upload", paths, tree: true };
}

function isRsyncOption(option: string): boolean {
  if (RSYNC_LONG_OPTIONS.has(option) || RSYNC_VALUE_OPTIONS.test(option)) return true;
  return !option.startsWith("--") && option.length > 1 && RSYNC_FLAG_LETTERS.test(option);
}

/**
 * The home directory exec paths are decided against: the bastion does not
 * know the target's, so relative paths live under this name, which no real
 * path can have (it holds a NUL), and only relative rules reach it.
 */
const HOME = "/\0home";

/** How `command` is decided under `entry`'s file policy; undefined entry: refused. */
export function decideTransfer(
  entry: AccessEntry | undefined,
  command: TransferCommand,
): TransferVerdict {
  const refusal =
    fileTransferRefusal(entry) ?? modeRefusal(entry?.file_transfer ?? "deny", accessOf(command));
  if (refusal !== undefined || entry === undefined)
    return deny(refusal ?? "file transfer is denied");
  const rules = compileRules(entry.files);
  for (const path of command.paths) {
    const verdict = decidePath(rules, path, command.tree);
    if (verdict.decision === "deny") return verdict;
  }
  return { decision: "allow" };
}

function accessOf(command: TransferCommand): FileAccess {
  return command.direction === "upload" ? "write" : "read";
}

interface TransferRule {
  readonly id: string;
  readonly action: "allow" | "deny";
  /** Written as an absolute path (applies to absolute paths only). */
  readonly absolute: boolean;
  readonly glob: string;
  readonly base: string;
  test(path: string): boolean;
}

function compileRules(files: readonly FileRule[]): TransferRule[] {
  return files.map((rule, index) => {
    const glob = absoluteGlob(rule.glob, HOME);
    const matcher = compileGlob(glob);
    return {
      id: `files#${index + 1}`,
      action: rule.action,
      absolute: rule.glob.startsWith("/"),
      glob,
      base: literalBase(glob),
      test: (path: string) => matcher.test(path),
    };
  });
}

/** One path: resolved, then the deny rules (any that could apply), then the allow rules. */
function decidePath(rules: readonly TransferRule[], path: string, tree: boolean): TransferVerdict {
  const relative = !path.startsWith("/");
  const resolved = resolvePath(path, HOME);
  const shown = relative ? displayed(resolved) : resolved;
  if (relative && !within(resolved, HOME)) {
    return deny(
      `${path} leaves the home directory, which the bastion does not know: give an absolute path`,
    );
  }
  const denies = rules.filter((rule) => rule.action === "deny");
  const unknowable = relative ? denies.find((rule) => rule.absolute) : undefined;
  if (unknowable) {
    return deny(
      `relative path ${path} cannot be checked against an absolute rule: give an absolute path`,
      unknowable.id,
    );
  }
  const denial = denies.find((rule) => (tree ? reachesTree(rule, resolved) : rule.test(resolved)));
  if (denial) return deny(`${shown}${tree ? " or a file below it" : ""} is denied`, denial.id);
  const allows = rules.filter((rule) => rule.action === "allow");
  if (allows.length === 0) return { decision: "allow" };
  const covered = allows.some((rule) => (tree ? coversTree(rule, resolved) : rule.test(resolved)));
  if (covered) return { decision: "allow" };
  const what = tree ? `${shown} and everything below it are` : `${shown} is`;
  return deny(`${what} not in an allowed path`, "files");
}

function deny(reason: string, rule?: string): TransferVerdict {
  return { decision: "deny", reason, ...(rule === undefined ? {} : { rule }) };
}

/** `~/x` for a path under the unknown home. */
function displayed(resolved: string): string {
  return resolved === HOME ? "~" : `~${resolved.slice(HOME.length)}`;
}

function within(inner: string, outer: string): boolean {
  return outer === "/" || inner === outer || inner.startsWith(`${outer}/`);
}

/**
 * Whether a deny rule may match `path` or a name below it. A literal rule
 * names one path; a glob may match any name that starts with its literal
 * prefix (one starting with a wildcard, any name at all).
 */
function reachesTree(rule: TransferRule, path: string): boolean {
  const wildcard = rule.glob.search(/[*?[\\]/);
  if (wildcard < 0) return within(rule.glob, path);
  const prefix = rule.glob.slice(0, wildcard);
  return path.startsWith(prefix) || prefix.startsWith(path === "/" ? "/" : `${path}/`);
}

/** Whether an allow rule matches every name at and below `path` (`DIR/**`, `DIR/*`, `*`). */
function coversTree(rule: TransferRule, path: string): boolean {
  if (/^\*+$/.test(rule.glob)) return true;
  const wholeTree = rule.glob === `${rule.base}/*` || rule.glob === `${rule.base}/**`;
  return wholeTree && within(path, rule.base);
}
