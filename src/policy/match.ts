// Command patterns (SPEC §5.4–5.5): compiles a ruleset's patterns once
// (cached per Ruleset object, so the hot path never parses; signal rules
// reuse the same compiling and program index, which tries an alternative
// naming one literal program only on commands of that name), turns an
// extracted command into a view built once per command, and matches one rule
// against one view with three outcomes: NO, YES (matches whatever the
// dynamic words hold, or without needing them) and MAYBE (would match for
// some value of a dynamic word). Choices where the spec is silent:
// - a pattern word in double quotes is literal (no globs, never an option);
//   an unquoted `--` ends the pattern's options;
// - `--opt` matches the option with or without a value; `--opt=glob` matches
//   `--opt=v` and also `--opt v` (the next word, which still counts as a
//   positional too); a command's long option may be abbreviated as getopt
//   allows (`--rec` is taken as `--recursive`);
// - a command word starting with `-` (before `--`) is an option, never a
//   positional; a dynamic word may be any number of options and positionals;
// - a path pattern (first word containing `/`) only matches commands written
//   with a path;
// - regex rules see dynamic words as written and never give MAYBE;
// - `{writes: globs}` matches the files a command writes by redirection
//   (ExtractedCommand.writes), normalized as positional paths are; a dynamic
//   target gives MAYBE (YES for a lone `*`).
import type { ArgWord, ExtractedCommand } from "./command-types.js";
import { basename, compileGlob, escapeGlob, normalizePath, type WordMatcher } from "./glob.js";
import type { Pattern, Rule, Ruleset } from "./types.js";

export const NO = 0;
export const MAYBE = 1;
export const YES = 2;
export type MatchOutcome = typeof NO | typeof MAYBE | typeof YES;

export interface LongOptionPattern {
  readonly name: string;
  readonly value: WordMatcher | undefined;
}

export interface WordPattern {
  readonly kind: "words";
  readonly text: string;
  /** Matched against the basename, or against the normalized path when `byPath`. */
  readonly program: WordMatcher;
  readonly byPath: boolean;
  readonly shorts: readonly string[];
  readonly longs: readonly LongOptionPattern[];
  readonly positionals: readonly WordMatcher[];
  readonly exact: boolean;
}

export interface RegexPattern {
  readonly kind: "regex";
  readonly regex: RegExp;
}

export interface WritesPattern {
  readonly kind: "writes";
  readonly target: WordMatcher;
  readonly except: readonly WordMatcher[];
}

export type CompiledAlternative = WordPattern | RegexPattern | WritesPattern;

export interface CompiledRule {
  readonly rule: Rule;
  /** Empty when every alternative is an empty string: such a rule never matches. */
  readonly alternatives: readonly CompiledAlternative[];
}

/** A compiled pattern worth trying on a command, cut down to the alternatives that can match it. */
export interface Candidate {
  /** The pattern's position in its list (rule order). */
  readonly index: number;
  readonly alternatives: readonly CompiledAlternative[];
  /** Every alternative is a `writes` pattern: nothing to try on a command that writes no file. */
  readonly writesOnly: boolean;
}

/**
 * Which of a list of compiled patterns can concern a command, by the
 * command's program name: an alternative whose program is one literal name
 * is tried only on commands of that name; the others (a glob program, regex
 * and `writes` patterns) on every command.
 */
export interface ProgramIndex {
  /** Candidates to try, in order, for a command whose basename is the key. */
  readonly byProgram: ReadonlyMap<string, readonly Candidate[]>;
  /** Candidates for any other literal program: the alternatives with no literal program name. */
  readonly generic: readonly Candidate[];
  /** Every pattern whole, for a dynamic program. */
  readonly all: readonly Candidate[];
}

export interface CompiledRuleset extends ProgramIndex {
  readonly ruleset: Ruleset;
  readonly rules: readonly CompiledRule[];
}

/** One positional argument of a command: normalized literal text, or a dynamic word's source. */
export interface Word {
  readonly text: string;
  readonly dynamic: boolean;
}

interface LongOption {
  readonly name: string;
  readonly value: string | undefined;
  /** The word after `--name` (no `=`), when it does not look like an option. */
  readonly next: Word | undefined;
}

/** What matching needs from one extracted command, computed once per command. */
export interface CommandView {
  readonly argv: readonly string[];
  /** The program as written (normalized when it contains `/`), or undefined when dynamic. */
  readonly path: string | undefined;
  readonly basename: string | undefined;
  readonly shorts: ReadonlySet<string>;
  readonly longs: readonly LongOption[];
  /** A dynamic word sits where options are read: it may be any option. */
  readonly optionsMaybe: boolean;
  readonly positionals: readonly Word[];
  readonly hasDynamicPositional: boolean;
  /** The files it writes by redirection. */
  readonly writes: readonly Word[];
  /** Sources of the command's dynamic words, program and written files included. */
  readonly dynamicWords: readonly string[];
  /** Why what this command runs is unknown (dynamic program or ExtractedCommand.dynamic). */
  readonly dynamicReason: string | undefined;
  /** argv joined by single spaces, for regex rules. */
  readonly text: string;
}

// ---- patterns ---------------------------------------------------------------

interface PatternToken {
  /** Glob syntax: quoted characters escaped. */
  readonly glob: string;
  readonly quoted: boolean;
}

/** Splits a pattern on whitespace; `"…"` groups a literal part of a word. */
export function tokenizePattern(text: string): PatternToken[] {
  const tokens: PatternToken[] = [];
  let glob = "";
  let inWord = false;
  let quoted = false;
  let inQuote = false;
  for (const char of text) {
    if (inQuote) {
      if (char === '"') inQuote = false;
      else glob += escapeGlob(char);
    } else if (/\s/.test(char)) {
      if (inWord) tokens.push({ glob, quoted });
      glob = "";
      inWord = false;
    } else {
      if (!inWord) quoted = char === '"';
      inWord = true;
      if (char === '"') inQuote = true;
      else glob += char;
    }
  }
  if (inWord) tokens.push({ glob, quoted });
  return tokens;
}

function isOptionToken(token: PatternToken): boolean {
  return !token.quoted && token.glob.length > 1 && token.glob.startsWith("-");
}

/** A glob compared with a command's paths, which are normalized. */
function pathGlob(glob: string): WordMatcher {
  return compileGlob(normalizePath(glob));
}

function longOptionPattern(glob: string): LongOptionPattern {
  const equals = glob.indexOf("=");
  if (equals < 0) return { name: glob.slice(2), value: undefined };
  return { name: glob.slice(2, equals), value: pathGlob(glob.slice(equals + 1)) };
}

export function compileWordPattern(text: string, exact: boolean): WordPattern | undefined {
  const [first, ...rest] = tokenizePattern(text);
  if (first === undefined) return undefined;
  const byPath = first.glob.includes("/");
  const shorts = new Set<string>();
  const longs: LongOptionPattern[] = [];
  const positionals: WordMatcher[] = [];
  let optionsEnded = false;
  for (const token of rest) {
    if (!optionsEnded && !token.quoted && token.glob === "--") optionsEnded = true;
    else if (optionsEnded || !isOptionToken(token)) positionals.push(pathGlob(token.glob));
    else if (token.glob.startsWith("--")) longs.push(longOptionPattern(token.glob));
    else for (const char of token.glob.slice(1)) shorts.add(char);
  }
  return {
    kind: "words",
    text,
    program: compileGlob(byPath ? normalizePath(first.glob) : first.glob),
    byPath,
    shorts: [...shorts],
    longs,
    positionals,
    exact,
  };
}

/** A pattern's alternatives compiled; empty when every one is an empty string (it never matches). */
export function compilePattern(pattern: Pattern, exact: boolean): CompiledAlternative[] {
  if (pattern.kind === "regex") return [{ kind: "regex", regex: pattern.regex }];
  if (pattern.kind === "writes") {
    const except = pattern.except.map(pathGlob);
    return pattern.globs.map((glob) => ({ kind: "writes", target: pathGlob(glob), except }));
  }
  return pattern.alternatives.flatMap((text) => compileWordPattern(text, exact) ?? []);
}

function compileRule(rule: Rule): CompiledRule {
  return { rule, alternatives: compilePattern(rule.pattern, rule.exact) };
}

function quotedList(texts: readonly string[]): string {
  return texts.map((text) => JSON.stringify(text)).join(" or ");
}

/** A pattern as explanations show it: `"a" or "b"`, `/regex/`, `writes to "a" except "b"`. */
export function describePattern(pattern: Pattern): string {
  if (pattern.kind === "regex") return `/${pattern.regex.source}/`;
  if (pattern.kind === "words") return quotedList(pattern.alternatives);
  const except = pattern.except.length === 0 ? "" : ` except ${quotedList(pattern.except)}`;
  return `writes to ${quotedList(pattern.globs)}${except}`;
}

/** The basename every command an alternative matches has, when it is one literal name. */
function programKey(alternative: CompiledAlternative): string | undefined {
  if (alternative.kind !== "words") return undefined;
  const { literal } = alternative.program;
  return literal === undefined ? undefined : basename(literal);
}

function candidate(index: number, alternatives: readonly CompiledAlternative[]): Candidate {
  const writesOnly = alternatives.every((alternative) => alternative.kind === "writes");
  return { index, alternatives, writesOnly };
}

/** The alternatives a command named `key` (undefined: a name no alternative gives) can match. */
function fitting(
  alternatives: readonly CompiledAlternative[],
  keys: readonly (string | undefined)[],
  key: string | undefined,
): CompiledAlternative[] {
  return alternatives.filter((_, at) => keys[at] === undefined || keys[at] === key);
}

/** Indexes compiled patterns (rules, signal rules) by the program names they can match. */
export function indexByProgram(
  patterns: readonly { readonly alternatives: readonly CompiledAlternative[] }[],
): ProgramIndex {
  const keyed = new Map<string, Candidate[]>();
  const generic: Candidate[] = [];
  const all: Candidate[] = [];
  patterns.forEach(({ alternatives }, index) => {
    if (alternatives.length === 0) return;
    all.push(candidate(index, alternatives));
    const keys = alternatives.map(programKey);
    const anyName = fitting(alternatives, keys, undefined);
    if (anyName.length > 0) generic.push(candidate(index, anyName));
    for (const key of new Set(keys)) {
      if (key === undefined) continue;
      const named = candidate(index, fitting(alternatives, keys, key));
      const candidates = keyed.get(key);
      if (candidates === undefined) keyed.set(key, [named]);
      else candidates.push(named);
    }
  });
  const byProgram = new Map<string, readonly Candidate[]>();
  for (const [key, candidates] of keyed) {
    const named = new Set(candidates.map((named) => named.index));
    const others = generic.filter((other) => !named.has(other.index));
    byProgram.set(
      key,
      [...candidates, ...others].sort((a, b) => a.index - b.index),
    );
  }
  return { byProgram, generic, all };
}

const compiledRulesets = new WeakMap<Ruleset, CompiledRuleset>();

/** The ruleset compiled (once per Ruleset object). */
export function compileRuleset(ruleset: Ruleset): CompiledRuleset {
  const cached = compiledRulesets.get(ruleset);
  if (cached !== undefined) return cached;
  const rules = ruleset.rules.map(compileRule);
  const compiled = { ruleset, rules, ...indexByProgram(rules) };
  compiledRulesets.set(ruleset, compiled);
  return compiled;
}

// ---- commands ---------------------------------------------------------------

function wordOf(word: ArgWord): Word {
  return "dynamic" in word
    ? { text: word.dynamic, dynamic: true }
    : { text: normalizePath(word.literal), dynamic: false };
}

function sourceOf(word: ArgWord): string {
  return "dynamic" in word ? word.dynamic : word.literal;
}

function optionFollower(word: ArgWord | undefined): Word | undefined {
  if (word === undefined) return undefined;
  if ("literal" in word && word.literal.startsWith("-")) return undefined;
  return wordOf(word);
}

export function viewCommand(command: ExtractedCommand): CommandView {
  const argv = command.argv.map(sourceOf);
  const program = command.argv[0] ?? { literal: "" };
  const path = "literal" in program ? normalizePath(program.literal) : undefined;
  const shorts = new Set<string>();
  const longs: LongOption[] = [];
  const positionals: Word[] = [];
  let optionsMaybe = false;
  let optionsEnded = false;
  command.argv.slice(1).forEach((word, index) => {
    if ("dynamic" in word) {
      optionsMaybe ||= !optionsEnded;
      positionals.push(wordOf(word));
    } else if (!optionsEnded && word.literal === "--") {
      optionsEnded = true;
    } else if (optionsEnded || word.literal.length < 2 || !word.literal.startsWith("-")) {
      positionals.push(wordOf(word));
    } else if (word.literal.startsWith("--")) {
      const [name = "", ...value] = word.literal.slice(2).split("=");
      const hasValue = value.length > 0;
      longs.push({
        name,
        value: hasValue ? normalizePath(value.join("=")) : undefined,
        next: hasValue ? undefined : optionFollower(command.argv[index + 2]),
      });
    } else {
      for (const char of word.literal.slice(1)) shorts.add(char);
    }
  });
  positionals.push(...command.redirects.map(wordOf));
  const words = [...command.argv, ...command.redirects, ...command.writes];
  const dynamicWords = new Set(words.flatMap((word) => ("dynamic" in word ? [word.dynamic] : [])));
  const dynamicProgram = "dynamic" in program ? `dynamic program ${program.dynamic}` : undefined;
  return {
    argv,
    path,
    basename: path === undefined ? undefined : basename(path),
    shorts,
    longs,
    optionsMaybe,
    positionals,
    hasDynamicPositional: positionals.some((word) => word.dynamic),
    writes: command.writes.map(wordOf),
    dynamicWords: [...dynamicWords],
    dynamicReason: command.dynamic ?? dynamicProgram,
    text: argv.join(" "),
  };
}

/** The candidates worth trying on this command, in order. */
export function candidateRules(index: ProgramIndex, view: CommandView): readonly Candidate[] {
  if (view.basename === undefined) return index.all;
  return index.byProgram.get(view.basename) ?? index.generic;
}

// ---- matching ---------------------------------------------------------------

function programOutcome(pattern: WordPattern, view: CommandView): MatchOutcome {
  if (pattern.program.star) return YES;
  if (view.path === undefined || view.basename === undefined) return MAYBE;
  return pattern.program.test(pattern.byPath ? view.path : view.basename) ? YES : NO;
}

function longNameMatches(patternName: string, commandName: string): boolean {
  return commandName === patternName || (commandName !== "" && patternName.startsWith(commandName));
}

function longValueOutcome(value: WordMatcher, option: LongOption): MatchOutcome {
  if (option.value !== undefined) return value.test(option.value) ? YES : NO;
  if (option.next === undefined) return NO;
  if (option.next.dynamic) return value.star ? YES : MAYBE;
  return value.test(option.next.text) ? YES : NO;
}

function longOutcome(pattern: LongOptionPattern, view: CommandView): MatchOutcome {
  let best: MatchOutcome = view.optionsMaybe ? MAYBE : NO;
  for (const option of view.longs) {
    if (!longNameMatches(pattern.name, option.name)) continue;
    if (pattern.value === undefined) return YES;
    const outcome = longValueOutcome(pattern.value, option);
    if (outcome === YES) return YES;
    if (outcome === MAYBE) best = MAYBE;
  }
  return best;
}

function optionsOutcome(pattern: WordPattern, view: CommandView): MatchOutcome {
  let outcome: MatchOutcome = YES;
  for (const short of pattern.shorts) {
    if (view.shorts.has(short)) continue;
    if (!view.optionsMaybe) return NO;
    outcome = MAYBE;
  }
  for (const long of pattern.longs) {
    const longResult = longOutcome(long, view);
    if (longResult === NO) return NO;
    if (longResult === MAYBE) outcome = MAYBE;
  }
  return outcome;
}

/** Pattern words in order with gaps; a dynamic word may stand for all the rest. */
function subsequenceOutcome(patterns: readonly WordMatcher[], words: readonly Word[]) {
  let matched = 0;
  let dynamicSeen = false;
  for (const word of words) {
    const pattern = patterns[matched];
    if (pattern === undefined) break;
    dynamicSeen ||= word.dynamic;
    if (pattern.star || (!word.dynamic && pattern.test(word.text))) matched++;
  }
  if (matched === patterns.length) return YES;
  return dynamicSeen ? MAYBE : NO;
}

/**
 * One to one, a `*` pattern word taking any number of words. With `wild`, a
 * dynamic word may also stand for any number of pattern words.
 */
function exactMatches(patterns: readonly WordMatcher[], words: readonly Word[], wild: boolean) {
  const width = words.length + 1;
  const reached = new Uint8Array((patterns.length + 1) * width);
  reached[0] = 1;
  for (let p = 0; p <= patterns.length; p++) {
    for (let w = 0; w < width; w++) {
      if (reached[p * width + w] === 0) continue;
      const pattern = patterns[p];
      const word = words[w];
      if (pattern?.star) {
        reached[(p + 1) * width + w] = 1;
        if (word !== undefined) reached[p * width + w + 1] = 1;
      } else if (pattern && word && !word.dynamic && pattern.test(word.text)) {
        reached[(p + 1) * width + w + 1] = 1;
      }
      if (wild && word?.dynamic) {
        reached[p * width + w + 1] = 1;
        if (pattern !== undefined) reached[(p + 1) * width + w] = 1;
      }
    }
  }
  return reached[reached.length - 1] === 1;
}

function exactOutcome(patterns: readonly WordMatcher[], words: readonly Word[]): MatchOutcome {
  if (exactMatches(patterns, words, false)) return YES;
  return exactMatches(patterns, words, true) ? MAYBE : NO;
}

function positionalOutcome(pattern: WordPattern, view: CommandView): MatchOutcome {
  return pattern.exact
    ? exactOutcome(pattern.positionals, view.positionals)
    : subsequenceOutcome(pattern.positionals, view.positionals);
}

function wordOutcome(pattern: WordPattern, view: CommandView): MatchOutcome {
  const program = programOutcome(pattern, view);
  if (program === NO) return NO;
  const options = optionsOutcome(pattern, view);
  if (options === NO) return NO;
  const positionals = positionalOutcome(pattern, view);
  return Math.min(program, options, positionals) as MatchOutcome;
}

/** A written file matching the glob and no exception; MAYBE for a dynamic target. */
function writesOutcome(pattern: WritesPattern, view: CommandView): MatchOutcome {
  const matches = (path: string) =>
    pattern.target.test(path) && !pattern.except.some((glob) => glob.test(path));
  const anyFile = pattern.target.star && pattern.except.length === 0;
  let outcome: MatchOutcome = NO;
  for (const word of view.writes) {
    if (word.dynamic ? anyFile : matches(word.text)) return YES;
    if (word.dynamic) outcome = MAYBE;
  }
  return outcome;
}

export function alternativeOutcome(alternative: CompiledAlternative, view: CommandView) {
  if (alternative.kind === "regex") return alternative.regex.test(view.text) ? YES : NO;
  if (alternative.kind === "writes") return writesOutcome(alternative, view);
  return wordOutcome(alternative, view);
}

/** The best outcome over the rule's alternatives. */
export function matchRule(rule: CompiledRule, view: CommandView): MatchOutcome {
  return matchAlternatives(rule.alternatives, view);
}

/** The best outcome over a candidate's alternatives (those that can match the command). */
export function matchCandidate(candidate: Candidate, view: CommandView): MatchOutcome {
  if (candidate.writesOnly && view.writes.length === 0) return NO;
  return matchAlternatives(candidate.alternatives, view);
}

/** The best outcome over a compiled pattern's alternatives. */
export function matchAlternatives(
  alternatives: readonly CompiledAlternative[],
  view: CommandView,
): MatchOutcome {
  let best: MatchOutcome = NO;
  for (const alternative of alternatives) {
    const outcome = alternativeOutcome(alternative, view);
    if (outcome === YES) return YES;
    if (outcome === MAYBE) best = MAYBE;
  }
  return best;
}
