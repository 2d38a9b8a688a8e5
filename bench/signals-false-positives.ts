// False positives of the signal rules: every line of a corpus of benign
// command lines (bench/corpus/benign-commands.txt, what ops engineers type in
// normal work, in `## sections`) is decided like the bastion decides it —
// extractCommands, then decideCommandLine with the session's facts — under
// the policy directory's access entry for an on-call engineer on a production
// web server. Prints, per section and in all, the share of lines raising any
// signal and of lines whose decision a signal's action changed, with the
// lines per rule, and writes bench/results/signals-false-positives-<timestamp>.json.
// Usage: npm run build && node dist/bench/signals-false-positives.js [policyDir] [corpus]

import { readFileSync } from "node:fs";
import { decideCommandLine } from "../src/policy/decide.js";
import { loadPolicyDir } from "../src/policy/load.js";
import { extractCommands } from "../src/policy/shell/index.js";
import type { AccessEntry, Policy, SessionFacts, SignalHit } from "../src/policy/types.js";
import { machine, writeResult } from "./results-file.js";

/** The example policy's on-call engineer on web1, inside the entry's hours and networks. */
const SESSION = {
  user: "alice@example.com",
  groups: ["web-ops"],
  target: "web1",
  login: "deploy",
  sourceIp: "10.1.2.3",
  at: new Date("2026-11-23T10:00:00+01:00"),
  entry: "web-oncall-prod",
};

interface CorpusLine {
  readonly section: string;
  readonly line: string;
}

/** The corpus's command lines, each with the `## section` it is in. */
function corpusLines(path: string): CorpusLine[] {
  let section = "";
  const lines: CorpusLine[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.startsWith("## ")) section = line.slice(3).trim();
    else if (line.trim() !== "" && !line.startsWith("#")) lines.push({ section, line });
  }
  return lines;
}

function sessionOf(policy: Policy): { entry: AccessEntry; facts: SessionFacts } {
  const target = policy.targets.get(SESSION.target);
  const entry = policy.access.find((candidate) => candidate.name === SESSION.entry);
  if (target === undefined || entry === undefined) {
    throw new Error(`the policy has no target ${SESSION.target} or access entry ${SESSION.entry}`);
  }
  const { user, groups, login, sourceIp, at } = SESSION;
  return { entry, facts: { user, groups, target, login, sourceIp, at } };
}

interface LineResult extends CorpusLine {
  readonly signals: readonly SignalHit[];
  /** The decision with signals, and without them (they differ when a signal's action decided). */
  readonly decision: string;
  readonly withoutSignals: string;
}

function decide(policy: Policy, { section, line }: CorpusLine): LineResult {
  const { entry, facts } = sessionOf(policy);
  const extraction = extractCommands(line);
  const verdict = decideCommandLine(policy, entry, extraction, facts);
  const withoutSignals = decideCommandLine(policy, entry, extraction).decision;
  const signals = verdict.signals ?? [];
  return { section, line, signals, decision: verdict.decision, withoutSignals };
}

const percent = (part: number, whole: number) => Math.round((part / whole) * 10000) / 100;

/** Lines raising a signal, and lines whose decision a signal changed, among `results`. */
function rates(results: readonly LineResult[]) {
  const flagged = results.filter((result) => result.signals.length > 0).length;
  const changed = results.filter((result) => result.decision !== result.withoutSignals).length;
  return {
    lines: results.length,
    with_signal: flagged,
    percent_with_signal: percent(flagged, results.length),
    decision_changed: changed,
    percent_decision_changed: percent(changed, results.length),
  };
}

function describe(name: string, figures: ReturnType<typeof rates>): string {
  return (
    `${name.padEnd(40)} ${String(figures.lines).padStart(4)} lines, ` +
    `${figures.with_signal} with a signal (${figures.percent_with_signal} %), ` +
    `${figures.decision_changed} decided by one (${figures.percent_decision_changed} %)`
  );
}

const [policyDir = "policies", corpus = "bench/corpus/benign-commands.txt"] = process.argv.slice(2);
const policy = loadPolicyDir(policyDir);
const results = corpusLines(corpus).map((line) => decide(policy, line));
const sections = [...new Set(results.map((result) => result.section))];
const perSection = Object.fromEntries(
  sections.map((section) => [
    section,
    rates(results.filter((result) => result.section === section)),
  ]),
);
const perRule = Object.fromEntries(
  policy.signals.rules.map((rule) => {
    const lines = results
      .filter((result) => result.signals.some((hit) => hit.rule === rule.name))
      .map((result) => result.line);
    return [
      rule.name,
      { lines: lines.length, percent: percent(lines.length, results.length), examples: lines },
    ];
  }),
);
const total = rates(results);

console.log(machine());
console.log(`${policy.signals.rules.length} signal rules from ${policyDir}, corpus ${corpus}`);
for (const [section, figures] of Object.entries(perSection))
  console.log(describe(section, figures));
console.log(describe("all", total));
for (const [rule, { lines, examples }] of Object.entries(perRule)) {
  if (lines === 0) continue;
  console.log(`  ${rule.padEnd(26)} ${lines}`);
  for (const example of examples) console.log(`      ${example}`);
}

const result = {
  date: new Date().toISOString(),
  machine: machine(),
  policy_dir: policyDir,
  corpus,
  session: { ...SESSION, at: SESSION.at.toISOString() },
  rules: policy.signals.rules.length,
  total,
  per_section: perSection,
  per_rule: perRule,
  flagged: results
    .filter((result) => result.signals.length > 0)
    .map(({ section, line, signals, decision, withoutSignals }) => ({
      section,
      line,
      signals: signals.map((hit) => hit.rule),
      decision,
      without_signals: withoutSignals,
    })),
};
console.log(`written ${writeResult("signals-false-positives", result)}`);
