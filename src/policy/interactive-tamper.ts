// Lines that would change the integrated shell itself (see
// docs/interactive-policy.md): its key bindings, hooks, prompts, options,
// history, aliases and the integration's own `__pc_*` names, or that run code
// in the shell outside the gate (`source`, `fc`, `exec`, traps, completion
// commands). Exactness holds only while every line ran through the gate with
// the integration intact, so these lines cannot be verified.

import type { ArgWord, ShellDefinitions } from "./command-types.js";
import { literalOf, scanOptions, syntax } from "./shell/options.js";

type Check = (args: readonly ArgWord[]) => string | undefined;

/** Variables the integration (or the line editor it hooks) relies on, bash and zsh. */
const PROTECTED_NAMES = String.raw`PS[0-4]|PROMPT_COMMAND|PROMPT[0-4]?|RPROMPT2?|RPS[12]|(?:precmd|preexec|chpwd|periodic|zshaddhistory|zshexit)_functions|zle_\w+|ZLE_\w+|READLINE_\w+|BUFFER|LBUFFER|RBUFFER|CURSOR|histchars|HISTCHARS|HISTCONTROL|INPUTRC|__pc_\w*`;
const PROTECTED = new RegExp(`^(?:${PROTECTED_NAMES})$`);
/** Written anywhere in the text: `NAME=`, `NAME+=`, `${NAME:=…}`, `((NAME=1))`, `NAME++`. */
const WRITTEN = new RegExp(
  String.raw`(?<![\w$])(?:${PROTECTED_NAMES})\s*(?:\[[^\]]*\])?\s*(?:[-+*/%&|^:]|<<|>>)?=(?!=)|(?:\+\+|--)(?:${PROTECTED_NAMES})\b|(?<![\w$])(?:${PROTECTED_NAMES})(?:\+\+|--)`,
);
/** Expansions of the variables that hold the integration's secret (its nonce). */
const SECRET_READ = /\$\{?[#!]?(?:PS0|PS2|PROMPT_COMMAND|PROMPT2)\b/;
const OWN_NAME = /__pc_/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Builtins and hooks a function must not shadow: the integration calls them. */
const SHADOWED = new Set(
  (
    ". : [ alias bind break builtin caller cd command compgen complete compopt continue declare " +
    "echo emulate enable eval exec exit export false fc getopts hash history kill let local " +
    "mapfile print printf read readarray readonly return set setopt shift shopt source sysread " +
    "syswrite test trap true type typeset unalias unset unsetopt vared wait whence zle zmodload " +
    "zparseopts autoload bindkey functions noglob precmd preexec chpwd periodic zshaddhistory " +
    "zshexit command_not_found_handle command_not_found_handler"
  ).split(" "),
);
const SHADOWED_PATTERN = /^(?:TRAP[A-Z]+|zle-.*|__pc_.*)$/;

function changes(name: string): string {
  return `changes ${name}, which the shell integration relies on`;
}

function always(reason: string): Check {
  return () => reason;
}

/** `trap ACTION DEBUG|RETURN`: code run around every command, the gate's included. */
function trap(args: readonly ArgWord[]): string | undefined {
  const texts = args.map(literalOf);
  const operands = texts[0] === "--" ? texts.slice(2) : texts.slice(1);
  const hooks = operands.some(
    (signal) => signal === undefined || ["DEBUG", "RETURN"].includes(signal.toUpperCase()),
  );
  return hooks ? "sets a DEBUG or RETURN trap, which runs around the gate" : undefined;
}

/** `alias name=value` (bash, zsh `-g`/`-s`): an alias defined now is never checked later. */
function alias(args: readonly ArgWord[]): string | undefined {
  const defines = args.some((word) => {
    const text = literalOf(word);
    return text === undefined || (!text.startsWith("-") && text.includes("="));
  });
  return defines ? "defines an alias, whose expansion is not checked later" : undefined;
}

function optionLetters(args: readonly ArgWord[], letters: string): boolean {
  return args.some((word) => {
    const text = literalOf(word) ?? "";
    return /^-[A-Za-z]+$/.test(text) && [...letters].some((letter) => text.includes(letter));
  });
}

function historyAdd(args: readonly ArgWord[]): string | undefined {
  return optionLetters(args, "sS") ? "adds a line to the history, to run it later" : undefined;
}

/** Options by normalized name (lower case, no `_`): the value that matters and why. */
const OPTIONS: ReadonlyMap<string, { readonly on: boolean; readonly why: string }> = new Map([
  [
    "histexpand",
    { on: true, why: "turns history expansion on (the line run is not the line checked)" },
  ],
  [
    "banghist",
    { on: true, why: "turns history expansion on (the line run is not the line checked)" },
  ],
  ["functrace", { on: true, why: "lets DEBUG and RETURN traps run inside the gate" }],
  ["extdebug", { on: true, why: "lets a DEBUG trap skip commands, the gate's included" }],
  ["xtrace", { on: true, why: "traces the shell integration's code, its secret included" }],
  ["keyword", { on: true, why: "changes which words are assignments" }],
  ["nounset", { on: true, why: "can make the shell integration's code fail" }],
  ["unset", { on: false, why: "can make the shell integration's code fail" }],
  ["posix", { on: true, why: "changes how the shell runs the shell integration" }],
  ["emacs", { on: false, why: "can turn line editing (and so the gate) off" }],
  ["vi", { on: false, why: "can turn line editing (and so the gate) off" }],
  ["zle", { on: false, why: "turns the line editor (and so the gate) off" }],
]);
const SET_LETTERS: ReadonlyMap<string, string> = new Map([
  ["H", "histexpand"],
  ["T", "functrace"],
  ["x", "xtrace"],
  ["k", "keyword"],
  ["u", "nounset"],
]);

/** Why turning option `name` on (or off) matters; zsh spellings (`NO_BANG_HIST`) included. */
function optionChange(name: string, on: boolean): string | undefined {
  const normalized = name.toLowerCase().replaceAll("_", "");
  const direct = OPTIONS.get(normalized);
  if (direct !== undefined) return direct.on === on ? direct.why : undefined;
  const negated = normalized.startsWith("no") ? OPTIONS.get(normalized.slice(2)) : undefined;
  return negated !== undefined && negated.on === !on ? negated.why : undefined;
}

/** `set -H`, `set -o histexpand`, `set +o emacs`, and `set` alone (prints every variable). */
function set(args: readonly ArgWord[]): string | undefined {
  if (args.length === 0) return "prints every shell variable, the integration's secret included";
  for (let i = 0; i < args.length; i++) {
    const text = literalOf(args[i]);
    if (text === undefined) return "sets shell options computed at run time";
    if (text === "--" || text === "-" || !/^[-+]/.test(text)) return undefined;
    const on = text.startsWith("-");
    for (const letter of text.slice(1)) {
      const name = letter === "o" ? literalOf(args[++i]) : SET_LETTERS.get(letter);
      const why = name === undefined ? undefined : optionChange(name, on);
      if (why !== undefined) return why;
    }
  }
  return undefined;
}

function setopt(on: boolean): Check {
  return (args) => {
    for (const word of args) {
      const text = literalOf(word);
      if (text === undefined) return "sets shell options computed at run time";
      const why = optionChange(text, on);
      if (why !== undefined) return why;
    }
    return undefined;
  };
}

/** `shopt -s extdebug`, `shopt -so histexpand`. */
function shopt(args: readonly ArgWord[]): string | undefined {
  const texts = args.map(literalOf);
  const flags = texts.filter((text) => text?.startsWith("-")).join("");
  const on = flags.includes("s");
  if (!on && !flags.includes("u")) return undefined;
  for (const text of texts.filter((name) => !name?.startsWith("-"))) {
    if (text === undefined) return "sets shell options computed at run time";
    const why = optionChange(text, on);
    if (why !== undefined) return why;
  }
  return undefined;
}

/** The variable an operand names (`NAME`, `NAME=v`, `a[1]=v`), or "computed". */
function operandName(word: ArgWord): string | undefined {
  const text = "literal" in word ? word.literal : word.dynamic;
  return IDENTIFIER.exec(text)?.[0] ?? ("dynamic" in word ? "" : undefined);
}

function namesCheck(names: readonly (ArgWord | undefined)[]): string | undefined {
  for (const word of names) {
    if (word === undefined) continue;
    const name = operandName(word);
    if (name === "") return "sets a variable whose name is computed at run time";
    if (name !== undefined && PROTECTED.test(name)) return changes(name);
  }
  return undefined;
}

function isOption(word: ArgWord): boolean {
  return /^[-+]/.test(literalOf(word) ?? "");
}

interface DeclarationSyntax {
  /** Prints variables when given no operand (`declare`, `typeset -p`, `readonly`). */
  readonly dumpsAlone?: boolean;
  /** `-n` declares a name reference (not for `export -n`, `unset -n`). */
  readonly nameref?: boolean;
}

/** `declare`, `typeset`, `local`, `export`, `readonly`, `unset`, … and their operands. */
function declaration({ dumpsAlone = false, nameref = false }: DeclarationSyntax): Check {
  return (args) => {
    const options = args.filter(isOption).map((word) => literalOf(word) ?? "");
    const operands = args.filter((word) => !isOption(word));
    if (nameref && options.some((text) => /^-[A-Za-z]*n/.test(text))) {
      return "declares a name reference, which can change any variable later";
    }
    const functions = options.some((text) => /[fF]/.test(text));
    if (dumpsAlone && operands.length === 0 && !functions) {
      return "prints shell variables, the integration's secret included";
    }
    return namesCheck(operands);
  };
}

/** Builtins that set the variables named by some of their words. */
function namedBy(
  withValue: string,
  pick: (rest: readonly ArgWord[], values: ArgWord[]) => (ArgWord | undefined)[],
): Check {
  const spec = syntax(withValue);
  return (args) => {
    const scan = scanOptions(args, spec);
    if ("dynamic" in scan) return "sets a variable whose name is computed at run time";
    const values = scan.options
      .filter((option) => ["-a", "-v"].includes(option.name))
      .flatMap((option) => (option.value === undefined ? [] : [option.value]));
    return namesCheck(pick(scan.rest, values));
  };
}

/** `bindkey -e` / `bindkey -v` only pick the main keymap; the gate wraps widgets in every keymap. */
function keymapSelection(args: readonly ArgWord[]): string | undefined {
  const only = args.length === 1 ? literalOf(args[0]) : undefined;
  return only === "-e" || only === "-v"
    ? undefined
    : "changes key bindings (the gate is a key binding)";
}

function completion(args: readonly ArgWord[]): string | undefined {
  return optionLetters(args, "CF")
    ? "sets completion code, which runs outside the gate"
    : undefined;
}

function zstyle(args: readonly ArgWord[]): string | undefined {
  const first = literalOf(args[0]);
  return args.length === 0 || first === "-L"
    ? undefined
    : "sets completion styles, which can run commands outside the gate";
}

const CHECKS: ReadonlyMap<string, Check> = new Map<string, Check>([
  ["bind", always("changes key bindings (the gate is a key binding)")],
  ["bindkey", keymapSelection],
  ["zle", always("changes the line editor's widgets (the gate is a widget)")],
  ["enable", always("turns shell builtins on or off")],
  ["disable", always("turns shell builtins on or off")],
  ["zmodload", always("loads shell modules into the shell")],
  ["emulate", always("changes the shell's options wholesale")],
  ["fc", always("runs commands from the history without the gate")],
  ["r", always("runs commands from the history without the gate")],
  ["autoload", always("loads functions whose code is never checked")],
  ["add-zsh-hook", always("changes the prompt hooks the shell integration uses")],
  ["sched", always("schedules a command that runs outside the gate")],
  ["coproc", always("starts a coprocess whose input is never checked")],
  ["exec", always("replaces the shell or redirects its descriptors")],
  ["source", always("runs the code of a file in this shell")],
  [".", always("runs the code of a file in this shell")],
  ["compdef", always("sets completion code, which runs outside the gate")],
  ["compctl", always("sets completion code, which runs outside the gate")],
  ["trap", trap],
  ["alias", alias],
  ["history", historyAdd],
  ["print", historyAdd],
  ["set", set],
  ["setopt", setopt(true)],
  ["unsetopt", setopt(false)],
  ["shopt", shopt],
  ["declare", declaration({ dumpsAlone: true, nameref: true })],
  ["typeset", declaration({ dumpsAlone: true, nameref: true })],
  ["readonly", declaration({ dumpsAlone: true })],
  ["local", declaration({ nameref: true })],
  ["export", declaration({})],
  ["integer", declaration({})],
  ["float", declaration({})],
  ["unset", declaration({})],
  ["read", namedBy("-a -d -i -n -N -p -t -u", (rest, values) => [...rest, ...values])],
  ["printf", namedBy("-v", (_rest, values) => values)],
  ["mapfile", namedBy("-d -n -O -s -u -C -c", (rest) => [...rest])],
  ["readarray", namedBy("-d -n -O -s -u -C -c", (rest) => [...rest])],
  ["getopts", namedBy("", (rest) => [rest[1]])],
  ["vared", namedBy("-p -r -M -m -i -f", (rest) => [...rest])],
  ["complete", completion],
  ["compgen", completion],
  ["zstyle", zstyle],
]);

/** Why running `program` (a basename) with `args` tampers with the integrated shell. */
export function commandTampering(program: string, args: readonly ArgWord[]): string | undefined {
  return CHECKS.get(program)?.(args);
}

/** Why text in the line (as typed, or decoded words) touches the integration's names. */
export function textTampering(text: string): string | undefined {
  if (OWN_NAME.test(text)) return "names the shell integration's own functions or variables";
  if (WRITTEN.test(text)) return "writes a variable the shell integration relies on";
  if (SECRET_READ.test(text)) return "reads a variable that holds the integration's secret";
  return undefined;
}

/** Why the variables and functions the line defines tamper with the integrated shell. */
export function definitionTampering(defines: ShellDefinitions): string | undefined {
  const variable = defines.variables.find((name) => PROTECTED.test(name));
  if (variable !== undefined) return changes(variable);
  const shadow = defines.functions.find(
    (name) => SHADOWED.has(name) || SHADOWED_PATTERN.test(name),
  );
  return shadow === undefined
    ? undefined
    : `defines a function named ${shadow}, which the shell integration calls or relies on`;
}
