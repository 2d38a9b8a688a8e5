// Policy lint (pure): rules that can never match because an earlier rule of
// the same ruleset always matches first, and rules with only blank patterns.
// Conservative: a rule is reported only when every one of its alternatives is
// provably covered by one alternative of a single earlier rule (same or `*`
// program, a subset of its options, earlier positionals a subsequence of its
// own; identical regexes; a `writes` glob covering the other's with no
// exception the other lacks). Anything else (word pattern vs regex, globs
// vs globs) is never reported. An allow rule on `writes` is reported too: it
// allows whatever program writes there. Forwarding: a destination already
// allowed by an earlier one of the same entry, and forwarding on an entry
// that denies the session (it never applies). Signal rules: `off_hours`
// without `signals.business_hours` (the rule never fires).
import { destinationCovers } from "./forwarding.js";
import { basename, type WordMatcher } from "./glob.js";
import {
  type CompiledAlternative,
  type CompiledRule,
  compileRuleset,
  type LongOptionPattern,
  type WordPattern,
  type WritesPattern,
} from "./match.js";
import type { AccessEntry, Policy, Rule, SignalSettings } from "./types.js";

export interface PolicyWarning {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/** Whether every word `narrow` matches is matched by `wide`. */
function wordCovers(wide: WordMatcher, narrow: WordMatcher): boolean {
  if (wide.text === narrow.text) return true;
  return narrow.literal !== undefined && wide.test(narrow.literal);
}

function programCovers(wide: WordPattern, narrow: WordPattern): boolean {
  if (wide.program.star) return true;
  if (wide.byPath === narrow.byPath) return wordCovers(wide.program, narrow.program);
  const narrowPath = narrow.program.literal;
  return narrow.byPath && narrowPath !== undefined && wide.program.test(basename(narrowPath));
}

function longCovers(wide: LongOptionPattern, narrow: LongOptionPattern): boolean {
  if (wide.name !== narrow.name) return false;
  if (wide.value === undefined) return true;
  return narrow.value !== undefined && wordCovers(wide.value, narrow.value);
}

function optionsCover(wide: WordPattern, narrow: WordPattern): boolean {
  return (
    wide.shorts.every((short) => narrow.shorts.includes(short)) &&
    wide.longs.every((long) => narrow.longs.some((other) => longCovers(long, other)))
  );
}

/** A one-word pattern of `wide` (subsequence mode) covering one word of `narrow`. */
function positionalCovers(wide: WordMatcher, narrow: WordMatcher, narrowExact: boolean) {
  if (narrowExact && narrow.star) return false;
  return wide.star || wordCovers(wide, narrow);
}

function positionalsCover(wide: WordPattern, narrow: WordPattern): boolean {
  if (wide.exact) {
    return (
      narrow.exact &&
      wide.positionals.length === narrow.positionals.length &&
      wide.positionals.every((word, index) => word.text === narrow.positionals[index]?.text)
    );
  }
  let covered = 0;
  for (const word of narrow.positionals) {
    const pattern = wide.positionals[covered];
    if (pattern === undefined) break;
    if (positionalCovers(pattern, word, narrow.exact)) covered++;
  }
  return covered === wide.positionals.length;
}

/** Every file `narrow` matches is matched by `wide`: a wider glob, and only exceptions `narrow` has too. */
function writesCovers(wide: WritesPattern, narrow: WritesPattern): boolean {
  return (
    (wide.target.star || wordCovers(wide.target, narrow.target)) &&
    wide.except.every((glob) => narrow.except.some((other) => other.text === glob.text))
  );
}

function alternativeCovers(wide: CompiledAlternative, narrow: CompiledAlternative): boolean {
  if (wide.kind === "regex" && narrow.kind === "regex") {
    return wide.regex.source === narrow.regex.source && wide.regex.flags === narrow.regex.flags;
  }
  if (wide.kind === "writes" && narrow.kind === "writes") return writesCovers(wide, narrow);
  if (wide.kind !== "words" || narrow.kind !== "words") return false;
  return (
    programCovers(wide, narrow) && optionsCover(wide, narrow) && positionalsCover(wide, narrow)
  );
}

function ruleCovers(earlier: CompiledRule, later: CompiledRule): boolean {
  return later.alternatives.every((narrow) =>
    earlier.alternatives.some((wide) => alternativeCovers(wide, narrow)),
  );
}

function warning(rule: Rule, message: string): PolicyWarning {
  return { ...rule.source, message };
}

function ruleWarnings(rules: readonly CompiledRule[], index: number): PolicyWarning[] {
  const later = rules[index];
  if (later === undefined) return [];
  if (later.alternatives.length === 0) {
    return [warning(later.rule, `rule ${later.rule.id} can never match: its pattern is blank`)];
  }
  const earlier = rules.slice(0, index).find((candidate) => ruleCovers(candidate, later));
  if (earlier === undefined) return allowedWritesWarnings(later.rule);
  const message = `rule ${later.rule.id} can never match: ${earlier.rule.id} always matches first`;
  return [warning(later.rule, message)];
}

/** `allow: {writes: …}` accepts any program, whatever it does, as long as it writes there. */
function allowedWritesWarnings(rule: Rule): PolicyWarning[] {
  if (rule.action !== "allow" || rule.pattern.kind !== "writes") return [];
  const message = `rule ${rule.id} allows any program that writes a matching file: {writes} matches the file, not the program (deny the other writes instead)`;
  return [warning(rule, message)];
}

/** Warnings for every ruleset of the policy, in ruleset then rule order. */
export function lintPolicy(policy: Policy): PolicyWarning[] {
  const shadowed = [...policy.rulesets.values()].flatMap((ruleset) => {
    const { rules } = compileRuleset(ruleset);
    return rules.flatMap((_, index) => ruleWarnings(rules, index));
  });
  return [
    ...shadowed,
    ...policy.access.flatMap((entry) => [...entryWarnings(entry), ...forwardingWarnings(entry)]),
    ...signalWarnings(policy.signals),
  ];
}

/** Signal rules that can never fire because they need business hours nobody set. */
function signalWarnings(signals: SignalSettings): PolicyWarning[] {
  if (signals.business_hours !== undefined) return [];
  return signals.rules.flatMap((rule) => {
    if (rule.when?.off_hours !== true) return [];
    const message = `signal rule "${rule.name}" uses off_hours but no file sets signals.business_hours: it never fires`;
    return [{ ...rule.source, message }];
  });
}

/** An entry that lets users in but lists no rulesets denies every command they run. */
function entryWarnings(entry: AccessEntry): PolicyWarning[] {
  if (entry.session === "deny" || entry.commands.length > 0) return [];
  const { file, line, col } = entry.source;
  const message = `access entry "${entry.name}" lists no command rulesets: every command will be denied`;
  return [{ file, line, col, message }];
}

/** Forwarding settings that can never take effect. */
function forwardingWarnings(entry: AccessEntry): PolicyWarning[] {
  const { forwarding } = entry;
  const { file, line, col } = entry.source;
  if (forwarding === "deny") return [];
  if (entry.session === "deny") {
    const message = `access entry "${entry.name}" allows forwarding but denies the session: it never applies`;
    return [{ file, line, col, message }];
  }
  if (forwarding === "allow") return [];
  return forwarding.allow.flatMap((later, index) => {
    const earlier = forwarding.allow.slice(0, index).find((wide) => destinationCovers(wide, later));
    if (earlier === undefined) return [];
    const message = `forwarding destination "${later.text}" of access entry "${entry.name}" can never match: "${earlier.text}" always matches first`;
    return [{ file, line, col, message }];
  });
}
