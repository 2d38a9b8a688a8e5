// Deciding a line typed in an interactive shell (docs/interactive-policy.md).
// Besides the command policy of exec requests, two things matter there:
// - aliases from the user's startup files: a command whose first word is an
//   alias is checked both as typed and expanded (recursively);
// - lines the bastion cannot verify: those that start a session it cannot
//   see into, tamper with the shell integration, or call a function from the
//   startup files. They get the access entry's `on_unverified` action,
//   combined with the command's own decision (the most severe wins).
// With the session's facts, signal rules see every command the line runs
// (aliases expanded) and their actions are folded in as for exec lines.
// Pure: the shell's facts (aliases, function names) are passed in.

import type {
  ArgWord,
  CommandVerdict,
  ExtractedCommand,
  Extraction,
  LineVerdict,
} from "./command-types.js";
import { DEFAULT_RISK, decideCommandLine, rulesetsVerdict, withLineSignals } from "./decide.js";
import { basename, nestedSession } from "./interactive-sessions.js";
import { commandTampering, definitionTampering, textTampering } from "./interactive-tamper.js";
import { viewCommand } from "./match.js";
import { extractCommands } from "./shell/extract.js";
import { literalOf } from "./shell/options.js";
import type { AccessEntry, Policy, RuleAction, SessionFacts } from "./types.js";

export interface ShellFacts {
  /** Alias name → value (bash `alias -p`, zsh `alias -L`). */
  readonly aliases: ReadonlyMap<string, string>;
  /** Functions defined by the startup files: their code was never checked. */
  readonly functions: ReadonlySet<string>;
  /** zsh `alias -g`: expanded wherever the word appears. */
  readonly globalAliases?: ReadonlySet<string>;
  /** zsh `alias -s`: `notes.txt` runs `<value> notes.txt`; keyed by suffix without the dot. */
  readonly suffixAliases?: ReadonlyMap<string, string>;
}

export const NO_SHELL_FACTS: ShellFacts = { aliases: new Map(), functions: new Set() };

/** How deep aliases expanding to aliases are followed before the line is unverified. */
const MAX_ALIAS_DEPTH = 16;
/** How many alias expansions one line may need (`alias a='b;b;b'` chains grow exponentially). */
const MAX_ALIAS_EXPANSIONS = 256;
const SEVERITY: readonly RuleAction[] = ["allow", "warn", "approve", "deny"];
const UNVERIFIED_RULE = "on_unverified";
/** An `alias` line that did not parse: name and the raw (still quoted) value. */
const RAW_ALIAS = /^\s*alias\s+(?:-\S+\s+)*([^\s=]+)=(.*)$/;

// ── shell facts ────────────────────────────────────────────────────────

interface MutableFacts {
  readonly aliases: Map<string, string>;
  readonly globalAliases: Set<string>;
  readonly suffixAliases: Map<string, string>;
}

/** Records the definitions of one `alias [-g|-s] [--] name=value …` command. */
function addAliases(args: readonly ArgWord[], into: MutableFacts): void {
  let kind: "plain" | "global" | "suffix" = "plain";
  let options = true;
  for (const word of args) {
    const text = literalOf(word);
    if (text === undefined) continue;
    if (options && text.startsWith("-")) {
      if (text === "-g") kind = "global";
      if (text === "-s") kind = "suffix";
      options = text !== "--";
      continue;
    }
    options = false;
    const eq = text.indexOf("=");
    if (eq <= 0) continue;
    const name = text.slice(0, eq);
    const value = text.slice(eq + 1);
    if (kind === "suffix") into.suffixAliases.set(name, value);
    else into.aliases.set(name, value);
    if (kind === "global") into.globalAliases.add(name);
  }
}

function addAliasCommands(extraction: Extraction, into: MutableFacts): boolean {
  if (extraction.status !== "complete") return false;
  for (const command of extraction.commands) {
    if (literalOf(command.argv[0]) === "alias") addAliases(command.argv.slice(1), into);
  }
  return true;
}

/** A line that did not parse keeps its raw value: expanding it then fails, so its use is unverified. */
function addAliasLine(line: string, into: MutableFacts): void {
  if (addAliasCommands(extractCommands(line), into)) return;
  const raw = RAW_ALIAS.exec(line);
  if (raw?.[1] !== undefined && raw[2] !== undefined) into.aliases.set(raw[1], raw[2]);
}

/** From the R marker's fields: alias definitions text and space-separated function names. Never throws; ignores lines it cannot parse. */
export function parseShellFacts(aliasText: string, functionNames: string): ShellFacts {
  const facts: MutableFacts = {
    aliases: new Map(),
    globalAliases: new Set(),
    suffixAliases: new Map(),
  };
  try {
    if (!addAliasCommands(extractCommands(aliasText), facts)) {
      for (const line of aliasText.split("\n")) addAliasLine(line, facts);
    }
  } catch {
    // A parser failure leaves the aliases read so far; uses of the others are not expanded.
  }
  const functions = new Set(functionNames.split(/\s+/).filter((name) => name !== ""));
  return { ...facts, functions };
}

// ── alias expansion ────────────────────────────────────────────────────

interface Finding {
  readonly argv: readonly string[];
  readonly reason: string;
}

/** Everything a line runs once aliases are expanded, and what was found on the way. */
interface Collected {
  expansions: number;
  readonly commands: ExtractedCommand[];
  readonly variables: string[];
  readonly functions: string[];
  readonly findings: Finding[];
}

function wordText(word: ArgWord): string {
  return "literal" in word ? word.literal : word.dynamic;
}

/** The word as shell text that reads back as the same word. */
function shellWord(word: ArgWord): string {
  return "literal" in word ? `'${word.literal.replaceAll("'", "'\\''")}'` : word.dynamic;
}

interface AliasUse {
  readonly name: string;
  readonly text: string;
}

/** The text bash/zsh runs for `argv` when its first word is an alias (not one being expanded). */
function aliasUse(
  argv: readonly ArgWord[],
  facts: ShellFacts,
  expanding: ReadonlySet<string>,
): AliasUse | undefined {
  const first = literalOf(argv[0]);
  if (first === undefined) return undefined;
  const value = facts.aliases.get(first);
  if (value !== undefined && !expanding.has(first)) {
    return { name: first, text: [value, ...argv.slice(1).map(shellWord)].join(" ") };
  }
  const suffix = /\.([^./]+)$/.exec(first)?.[1];
  const handler = suffix === undefined ? undefined : facts.suffixAliases?.get(suffix);
  if (handler === undefined || value !== undefined || expanding.has(`.${suffix}`)) return undefined;
  return { name: `.${suffix}`, text: [handler, ...argv.map(shellWord)].join(" ") };
}

/** The expansion's first command also gets the redirections (and so the writes) of the command it replaces. */
function withRedirects(
  commands: readonly ExtractedCommand[],
  { redirects, writes }: ExtractedCommand,
): ExtractedCommand[] {
  const [first, ...rest] = commands;
  if (first === undefined || redirects.length === 0) return [...commands];
  const redirected = {
    ...first,
    redirects: [...first.redirects, ...redirects],
    writes: [...first.writes, ...writes],
  };
  return [redirected, ...rest];
}

function expandAlias(
  command: ExtractedCommand,
  facts: ShellFacts,
  expanding: ReadonlySet<string>,
  into: Collected,
): void {
  const use = aliasUse(command.argv, facts, expanding);
  if (use === undefined) return;
  const argv = command.argv.map(wordText);
  if (expanding.size >= MAX_ALIAS_DEPTH || ++into.expansions > MAX_ALIAS_EXPANSIONS) {
    into.findings.push({ argv, reason: `aliases nested too deeply (${use.name})` });
    return;
  }
  const extraction = extractCommands(use.text);
  if (extraction.status !== "complete") {
    into.findings.push({ argv, reason: `the alias ${use.name} cannot be expanded safely` });
    return;
  }
  const commands = withRedirects(extraction.commands, command);
  collect({ ...extraction, commands }, facts, new Set([...expanding, use.name]), into);
}

function collect(
  extraction: Extract<Extraction, { status: "complete" }>,
  facts: ShellFacts,
  expanding: ReadonlySet<string>,
  into: Collected,
): void {
  into.variables.push(...(extraction.defines?.variables ?? []));
  into.functions.push(...(extraction.defines?.functions ?? []));
  for (const command of extraction.commands) {
    into.commands.push(command);
    expandAlias(command, facts, expanding, into);
  }
}

// ── unverified lines ───────────────────────────────────────────────────

function globalAliasUse(command: ExtractedCommand, facts: ShellFacts): string | undefined {
  const globals = facts.globalAliases;
  if (globals === undefined || globals.size === 0) return undefined;
  const word = [...command.argv, ...command.redirects]
    .map(literalOf)
    .find((text) => text !== undefined && globals.has(text));
  return word === undefined
    ? undefined
    : `uses the global alias ${word}, which changes the line after it is checked`;
}

/** Why this one command cannot be verified in an interactive shell, or undefined. */
function commandFinding(command: ExtractedCommand, facts: ShellFacts): string | undefined {
  const program = literalOf(command.argv[0]);
  if (program === undefined) return undefined;
  if (facts.functions.has(program)) {
    return `calls ${program}, a function from the startup files whose code was never checked`;
  }
  const session = nestedSession(command);
  if (session !== undefined) return `starts ${session}: lines typed there cannot be checked`;
  return (
    commandTampering(basename(program), command.argv.slice(1)) ?? globalAliasUse(command, facts)
  );
}

/** The first finding about the line as a whole: the names it defines, then the text it contains. */
function lineFinding(line: string, collected: Collected): Finding | undefined {
  const texts = [
    line,
    ...collected.commands.flatMap((command) => [
      command.source,
      ...[...command.argv, ...command.redirects].map(wordText),
    ]),
  ];
  const reason =
    definitionTampering(collected) ?? texts.map(textTampering).find((found) => found !== undefined);
  return reason === undefined ? undefined : { argv: [], reason };
}

// ── decision ───────────────────────────────────────────────────────────

function severity(decision: RuleAction): number {
  return SEVERITY.indexOf(decision);
}

function unverified(entry: AccessEntry, finding: Finding): CommandVerdict {
  const decision = entry.on_unverified;
  const { argv, reason } = finding;
  return { argv, decision, rule: UNVERIFIED_RULE, reason, risk: DEFAULT_RISK[decision] };
}

/**
 * The more severe of a command's verdict and its `on_unverified` one; on a
 * tie the admin's own rule (`ruleset#N`) keeps its reason, otherwise the
 * unverified one explains better than a default or `on_dynamic`.
 */
function combined(own: CommandVerdict, other: CommandVerdict): CommandVerdict {
  const difference = severity(other.decision) - severity(own.decision);
  if (difference !== 0) return difference > 0 ? other : own;
  return own.rule?.includes("#") === true ? own : other;
}

function lineVerdict(commands: readonly CommandVerdict[]): LineVerdict {
  const [first, ...rest] = commands;
  if (first === undefined) {
    return { status: "complete", decision: "allow", risk: DEFAULT_RISK.allow, commands };
  }
  const worst = rest.reduce((a, b) => (severity(b.decision) > severity(a.decision) ? b : a), first);
  const { decision, rule, reason, risk } = worst;
  return { status: "complete", decision, rule, reason, risk, commands };
}

/** Pure: the decision for a line about to run in an interactive shell (with its signals, given `session` facts). */
export function decideInteractiveLine(
  policy: Policy,
  entry: AccessEntry,
  line: string,
  facts: ShellFacts,
  session?: SessionFacts,
): LineVerdict {
  const extraction = extractCommands(line);
  if (extraction.status !== "complete") return decideCommandLine(policy, entry, extraction);
  const collected: Collected = {
    expansions: 0,
    commands: [],
    variables: [],
    functions: [],
    findings: [],
  };
  collect(extraction, facts, new Set(), collected);
  const views = collected.commands.map(viewCommand);
  const { commands } = rulesetsVerdict(policy, entry, views);
  const checked = commands.map((verdict, index) => {
    const command = collected.commands[index];
    const reason = command === undefined ? undefined : commandFinding(command, facts);
    return reason === undefined
      ? verdict
      : combined(verdict, unverified(entry, { argv: verdict.argv, reason }));
  });
  const whole = lineFinding(line, collected);
  const extra = whole === undefined ? collected.findings : [...collected.findings, whole];
  const verdict = lineVerdict([...checked, ...extra.map((finding) => unverified(entry, finding))]);
  return withLineSignals(policy, entry, verdict, collected.commands, session, views);
}
