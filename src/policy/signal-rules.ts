// Policy signal rules (issue 11; docs/policy.md "Signal rules"): which of the
// policy's `signals.rules` fire on a command line, on a file transfer and at
// session start, given the session's facts. Pure: the moment and the client
// address come in with the facts. Command patterns use the command matcher
// (match.ts), compiled once per loaded policy and indexed by program, see
// the command views the rulesets matched (rebuilt only for a word in the
// home), and fire on a definite match only (a dynamic word that might
// match does not).
// `when:` reuses the access entries' target selection and subjects
// (access.ts), schedules (schedule.ts) and CIDR sets; path globs are the
// `files:` globs (files.ts).

import { isSubject, selectsTarget } from "./access.js";
import type { ArgWord, ExtractedCommand } from "./command-types.js";
import { absoluteGlob, resolvePath } from "./files.js";
import { compileGlob } from "./glob.js";
import {
  type CommandView,
  type CompiledAlternative,
  candidateRules,
  compilePattern,
  describePattern,
  indexByProgram,
  matchAlternatives,
  matchCandidate,
  type ProgramIndex,
  viewCommand,
  YES,
} from "./match.js";
import { checkSchedule } from "./schedule.js";
import type {
  Policy,
  SessionFacts,
  SignalEvidence,
  SignalHit,
  SignalPaths,
  SignalRule,
  SignalSettings,
} from "./types.js";

export type TransferDirection = NonNullable<SignalPaths["direction"]>;

interface CompiledSignalRule {
  readonly rule: SignalRule;
  /** The `commands` pattern; empty without one (such a rule never fires on a line). */
  readonly alternatives: readonly CompiledAlternative[];
  readonly except: readonly CompiledAlternative[];
}

interface CompiledSignalRules extends ProgramIndex {
  readonly rules: readonly CompiledSignalRule[];
}

/**
 * The home relative paths and globs are resolved against when the caller
 * does not know the session's: no real path has it (it holds a NUL), so a
 * relative glob then only meets a relative path.
 */
const UNKNOWN_HOME = "/\0home";

const compiledRules = new WeakMap<readonly SignalRule[], CompiledSignalRules>();

/** The signal rules' command patterns compiled (once per loaded policy). */
export function compileSignalRules(rules: readonly SignalRule[]): CompiledSignalRules {
  const cached = compiledRules.get(rules);
  if (cached !== undefined) return cached;
  const compiled = rules.map((rule) => ({
    rule,
    alternatives: rule.commands === undefined ? [] : compilePattern(rule.commands, rule.exact),
    except: rule.except === undefined ? [] : compilePattern(rule.except, rule.exact),
  }));
  const result = { rules: compiled, ...indexByProgram(compiled) };
  compiledRules.set(rules, result);
  return result;
}

/**
 * The rules that fire on a line whose simple commands are `commands` (as
 * extracted, wrappers unwrapped): each at most once, in rule order, with the
 * first command it matched as evidence. `commandViews`, the commands' views
 * as the rulesets matched them, saves building them again.
 */
export function lineSignals(
  policy: Policy,
  facts: SessionFacts,
  commands: readonly ExtractedCommand[],
  commandViews: readonly CommandView[] = commands.map(viewCommand),
): SignalHit[] {
  const compiled = compileSignalRules(policy.signals.rules);
  const views = commands.map((command, position) =>
    signalView(command, commandViews[position] ?? viewCommand(command)),
  );
  const matched = new Map<number, string>();
  views.forEach((view, position) => {
    for (const candidate of candidateRules(compiled, view)) {
      const { index } = candidate;
      if (!matched.has(index) && matchCandidate(candidate, view) === YES) {
        matched.set(index, commands[position]?.source ?? "");
      }
    }
  });
  return [...matched.keys()]
    .sort((a, b) => a - b)
    .flatMap((index) => {
      const compiledRule = compiled.rules[index];
      if (compiledRule === undefined || excepted(compiledRule, views)) return [];
      const { rule } = compiledRule;
      if (!conditionHolds(policy.signals, rule, facts) || rule.commands === undefined) return [];
      const reason = `matches ${describePattern(rule.commands)}`;
      return [signalHit(rule, reason, { command: matched.get(index) ?? "" })];
    });
}

/** `~/x`, `$HOME/x`, `${HOME}/x` (optionally in double quotes) with `x` free of expansions and quotes. */
const HOME_WORD = /^("?)(?:~|\$HOME|\$\{HOME\})\/([^$`*?[{}"'\\]*)\1$/;

/**
 * The view signal rules match `command` with: its rulesets view `view`
 * unless a dynamic word names a path in the user's home (homeAnchored).
 */
function signalView(command: ExtractedCommand, view: CommandView): CommandView {
  const inHome = view.dynamicWords.some((word) => HOME_WORD.test(word));
  return inHome ? viewCommand(homeAnchored(command)) : view;
}

/**
 * For signal rules only: a word naming a path in the user's home reads as
 * the literal `~/x`, so that the pack's authorized_keys rules see
 * `echo key >> ~/.ssh/authorized_keys` (as an argument and as a write).
 * (Command rules keep treating it as dynamic: there a guess must not allow
 * anything.)
 */
function homeAnchored(command: ExtractedCommand): ExtractedCommand {
  const literal = (word: ArgWord): ArgWord => {
    if (!("dynamic" in word)) return word;
    const home = HOME_WORD.exec(word.dynamic);
    return home === null ? word : { literal: `~/${home[2]}` };
  };
  return {
    ...command,
    argv: command.argv.map(literal),
    redirects: command.redirects.map(literal),
    writes: command.writes.map(literal),
  };
}

function excepted(rule: CompiledSignalRule, views: readonly CommandView[]): boolean {
  return (
    rule.except.length > 0 && views.some((view) => matchAlternatives(rule.except, view) === YES)
  );
}

/**
 * The rules that fire on a file transfer of `path` (sftp, scp, rsync).
 * `path` is as the transfer names it; relative paths and relative globs
 * (`~/x`, `x`) are resolved against `home` when the caller knows it.
 */
export function transferSignals(
  policy: Policy,
  facts: SessionFacts,
  path: string,
  direction: TransferDirection,
  home?: string,
): SignalHit[] {
  const base = home === undefined ? UNKNOWN_HOME : resolvePath(home, "/");
  const resolved = resolvePath(path, base);
  return policy.signals.rules.flatMap((rule) => {
    const paths = rule.paths;
    if (paths === undefined || (paths.direction ?? direction) !== direction) return [];
    const glob = paths.globs.find((candidate) =>
      compileGlob(absoluteGlob(candidate, base)).test(resolved),
    );
    if (glob === undefined || !conditionHolds(policy.signals, rule, facts)) return [];
    return [signalHit(rule, `matches ${JSON.stringify(glob)}`, { path: resolved, direction })];
  });
}

/** The session rules (neither `commands` nor `paths`) whose `when:` holds for a session starting. */
export function sessionStartSignals(policy: Policy, facts: SessionFacts): SignalHit[] {
  return policy.signals.rules.flatMap((rule) => {
    const sessionRule = rule.commands === undefined && rule.paths === undefined;
    if (!sessionRule || !conditionHolds(policy.signals, rule, facts)) return [];
    return [signalHit(rule, `the session matches the conditions of ${rule.name}`, {})];
  });
}

/** Whether `at` is outside the business hours (never when none are set). */
export function isOffHours(settings: SignalSettings, at: Date): boolean {
  const hours = settings.business_hours;
  return hours !== undefined && checkSchedule(hours, at) !== "inside";
}

/** Whether every fact the rule's `when:` gives holds for the session. */
function conditionHolds(settings: SignalSettings, rule: SignalRule, facts: SessionFacts): boolean {
  const when = rule.when;
  if (when === undefined) return true;
  return (
    (when.targets === undefined || selectsTarget(when.targets, facts.target)) &&
    (when.logins === undefined || when.logins.includes(facts.login)) &&
    (when.subjects === undefined || isSubject(when.subjects, facts)) &&
    (when.off_hours !== true || isOffHours(settings, facts.at)) &&
    (when.from_outside === undefined || !when.from_outside.contains(facts.sourceIp))
  );
}

function signalHit(rule: SignalRule, reason: string, evidence: SignalEvidence): SignalHit {
  return {
    rule: rule.name,
    source: "policy",
    score: rule.score,
    reason: rule.reason ?? reason,
    evidence,
    ...(rule.action === undefined ? {} : { action: rule.action }),
  };
}
