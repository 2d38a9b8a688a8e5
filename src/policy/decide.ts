// Command line decisions (SPEC §5.4–5.6): every extracted command against
// every ruleset of the access entry. Within a ruleset the first matching rule
// wins, else its `default`; a command takes the most severe of its rulesets'
// decisions and the line the most severe of its commands' (deny > approve >
// warn > allow; ties keep the first). Dynamic parts fail closed:
// - a deny/approve/warn rule that would match for some value of a dynamic
//   word gives the entry's `on_dynamic` (rule `on_dynamic`) and ends the ruleset;
// - a command whose program is dynamic (or that ExtractedCommand.dynamic
//   marks) that no rule decides gets the more severe of `on_dynamic` and the
//   ruleset's default; an allow rule matching the command itself accepts it,
//   another matching rule gives the more severe of its action and `on_dynamic`.
// Risk is the rule's `risk`, else by action: deny 100, approve 70, warn 30,
// allow 0. An entry with no rulesets (`commands:` omitted or empty) fails
// closed: every command is denied (rule `no-rulesets`), since a forgotten
// `commands:` must not mean "anything goes"; an admin who wants no command
// policy writes a ruleset with `default: allow` and says so.
// With the session's facts, the policy's signal rules (signal-rules.ts) are
// evaluated on every complete line whatever the rulesets decided; a signal
// whose action is more severe than the line's decision decides it (rule
// `signal:<name>`; `end-session` is a deny, and the caller ends the session;
// `approve` needs the entry's `approval:` approvers, else it is a deny).
// Each simple command's view (match.ts) is built once per line and shared
// by the rulesets and the signal rules.
import type { CommandVerdict, ExtractedCommand, Extraction, LineVerdict } from "./command-types.js";
import {
  type CommandView,
  type CompiledRule,
  candidateRules,
  compileRuleset,
  describePattern,
  MAYBE,
  matchCandidate,
  viewCommand,
  YES,
} from "./match.js";
import { compileSignalRules, lineSignals } from "./signal-rules.js";
import type {
  AccessEntry,
  Policy,
  RuleAction,
  Ruleset,
  SessionFacts,
  SignalAction,
  SignalHit,
} from "./types.js";

const SEVERITY: Readonly<Record<RuleAction, number>> = { allow: 0, warn: 1, approve: 2, deny: 3 };

export const DEFAULT_RISK: Readonly<Record<RuleAction, number>> = {
  allow: 0,
  warn: 30,
  approve: 70,
  deny: 100,
};

interface Verdict {
  readonly decision: RuleAction;
  readonly rule: string;
  readonly reason: string;
  readonly risk: number;
}

function verdict(decision: RuleAction, rule: string, reason: string): Verdict {
  return { decision, rule, reason, risk: DEFAULT_RISK[decision] };
}

function moreSevere<T extends { readonly decision: RuleAction }>(a: T, b: T): T {
  return SEVERITY[b.decision] > SEVERITY[a.decision] ? b : a;
}

function ruleVerdict(compiled: CompiledRule): Verdict {
  const { rule } = compiled;
  return {
    decision: rule.action,
    rule: rule.id,
    reason: rule.reason ?? `matches ${describePattern(rule.pattern)}`,
    risk: rule.risk ?? DEFAULT_RISK[rule.action],
  };
}

function dynamicWordVerdict(entry: AccessEntry, view: CommandView, ruleId: string): Verdict {
  const words = view.dynamicWords.join(" ");
  return verdict(entry.on_dynamic, "on_dynamic", `${ruleId} depends on dynamic ${words}`);
}

function unmatchedVerdict(entry: AccessEntry, ruleset: Ruleset, view: CommandView): Verdict {
  const fallback = verdict(ruleset.default, `default:${ruleset.name}`, "no rule matched");
  if (view.dynamicReason === undefined) return fallback;
  const dynamic = verdict(entry.on_dynamic, "on_dynamic", view.dynamicReason);
  return SEVERITY[fallback.decision] > SEVERITY[dynamic.decision] ? fallback : dynamic;
}

/** A matching rule's verdict; for a dynamic command, only an allow rule escapes `on_dynamic`. */
function matchedVerdict(entry: AccessEntry, rule: CompiledRule, view: CommandView): Verdict {
  const matched = ruleVerdict(rule);
  if (view.dynamicReason === undefined || rule.rule.action === "allow") return matched;
  return moreSevere(matched, verdict(entry.on_dynamic, "on_dynamic", view.dynamicReason));
}

function rulesetVerdict(entry: AccessEntry, ruleset: Ruleset, view: CommandView): Verdict {
  const compiled = compileRuleset(ruleset);
  for (const candidate of candidateRules(compiled, view)) {
    const rule = compiled.rules[candidate.index];
    if (rule === undefined) continue;
    const outcome = matchCandidate(candidate, view);
    if (outcome === YES) return matchedVerdict(entry, rule, view);
    if (outcome === MAYBE && rule.rule.action !== "allow") {
      return dynamicWordVerdict(entry, view, rule.rule.id);
    }
  }
  return unmatchedVerdict(entry, ruleset, view);
}

function withoutRulesets(entry: AccessEntry): Verdict {
  return verdict("deny", "no-rulesets", `access entry "${entry.name}" lists no command rulesets`);
}

function commandVerdict(policy: Policy, entry: AccessEntry, view: CommandView): CommandVerdict {
  let worst: Verdict | undefined;
  for (const name of entry.commands) {
    const ruleset = policy.rulesets.get(name);
    const current =
      ruleset === undefined
        ? verdict("deny", name, `unknown ruleset "${name}"`)
        : rulesetVerdict(entry, ruleset, view);
    worst = worst === undefined ? current : moreSevere(worst, current);
  }
  const writes = view.writes.length === 0 ? {} : { writes: view.writes.map((word) => word.text) };
  return { argv: view.argv, ...writes, ...(worst ?? withoutRulesets(entry)) };
}

function deniedLine(status: Extraction["status"], reason: string): LineVerdict {
  return { status, decision: "deny", reason, risk: DEFAULT_RISK.deny, commands: [] };
}

/**
 * The decision for one command line under an access entry's rulesets, and
 * with the session's `facts`, its signals (none for a line that is not complete).
 */
export function decideCommandLine(
  policy: Policy,
  entry: AccessEntry,
  extraction: Extraction,
  facts?: SessionFacts,
): LineVerdict {
  if (extraction.status === "incomplete") {
    return deniedLine("incomplete", "incomplete command line");
  }
  if (extraction.status === "error") {
    return deniedLine("error", `cannot parse: ${extraction.message}`);
  }
  const views = extraction.commands.map(viewCommand);
  const verdict = rulesetsVerdict(policy, entry, views);
  return withLineSignals(policy, entry, verdict, extraction.commands, facts, views);
}

/** The rulesets' decision for a complete line's commands, given their views (built once, shared with the signal rules). */
export function rulesetsVerdict(
  policy: Policy,
  entry: AccessEntry,
  views: readonly CommandView[],
): LineVerdict {
  const commands = views.map((view) => commandVerdict(policy, entry, view));
  const [first, ...rest] = commands;
  if (first === undefined) {
    return { status: "complete", decision: "allow", risk: DEFAULT_RISK.allow, commands };
  }
  const worst = rest.reduce(moreSevere, first);
  const { decision, rule, reason, risk } = worst;
  return { status: "complete", decision, rule, reason, risk, commands };
}

const SIGNAL_DECISION: Readonly<Record<SignalAction, RuleAction>> = {
  warn: "warn",
  approve: "approve",
  deny: "deny",
  "end-session": "deny",
};

/** What a signal's action makes of a line; an approval nobody can give is a deny. */
function signalVerdict(entry: AccessEntry, hit: SignalHit, action: SignalAction): Verdict {
  const rule = `signal:${hit.rule}`;
  const decision = SIGNAL_DECISION[action];
  if (decision === "approve" && entry.approval === undefined) {
    const reason = `${hit.reason} (needs approval, but access entry "${entry.name}" names no approvers)`;
    return verdict("deny", rule, reason);
  }
  return verdict(decision, rule, hit.reason);
}

/**
 * A complete line's verdict with the signals its commands raise (`commands`
 * as the line runs them; `views`, their views when the rulesets already
 * built them); unchanged without session facts.
 */
export function withLineSignals(
  policy: Policy,
  entry: AccessEntry,
  line: LineVerdict,
  commands: readonly ExtractedCommand[],
  facts: SessionFacts | undefined,
  views?: readonly CommandView[],
): LineVerdict {
  if (facts === undefined) return line;
  const signals = lineSignals(policy, facts, commands, views);
  let decided: LineVerdict = { ...line, signals };
  for (const hit of signals) {
    if (hit.action === undefined) continue;
    const proposed = signalVerdict(entry, hit, hit.action);
    if (SEVERITY[proposed.decision] > SEVERITY[decided.decision]) {
      decided = { ...decided, ...proposed, risk: Math.max(line.risk, proposed.risk) };
    }
  }
  return decided;
}

/** Compiles every ruleset and signal rule of a freshly loaded policy so its first decisions pay no compile cost. */
export function precompilePolicy(policy: Policy): void {
  for (const ruleset of policy.rulesets.values()) compileRuleset(ruleset);
  compileSignalRules(policy.signals.rules);
}
