// `portcullis policy lint|check|test`: the admin's tools around the policy
// (SPEC §2, §5.6, §5.7). `lint` validates and warns about rules that can never
// match; `check` explains the decision for one command line and the signal
// rules it raises; `test` runs the policy's own `*.test.yaml` cases. The
// policy directory is DIR, else the config's `policy.dir`, else ./policies
// when there is no ./portcullis.yaml.

import { existsSync, statSync } from "node:fs";
import type { Command } from "commander";
import { configFileName, DEFAULT_CONFIG_FILE } from "../../config/index.js";
import type { CommandVerdict, LineVerdict } from "../../policy/command-types.js";
import { decideCommandLine } from "../../policy/decide.js";
import {
  type AccessDecision,
  decideSessionAccess,
  loadPolicyDir,
  type Policy,
  type RuleAction,
  type SessionAction,
  type SignalAction,
  type SignalHit,
} from "../../policy/index.js";
import { lintPolicy, type PolicyWarning } from "../../policy/lint.js";
import { loadPolicyTestCases } from "../../policy/load.js";
import { extractCommands } from "../../policy/shell/index.js";
import type { PolicyTestCase } from "../../policy/test-file.js";
import { ConfigError } from "../../util/errors.js";
import { formatLocation } from "../../util/yaml-source.js";
import { configFor } from "../config-option.js";
import { instantOption } from "../option-parsers.js";

/** The client address `check` and `test` assume when none is given. */
export const DEFAULT_SOURCE_IP = "127.0.0.1";
const LINT_FAILED = 1;
const TESTS_FAILED = 1;

/** One question to the policy: may this user, on this target, run this line? */
export interface LineQuery {
  user: string;
  groups: readonly string[];
  target: string;
  login?: string;
  sourceIp: string;
  at: Date;
  line: string;
}

/** The answer: the session decision, and the line's verdict unless the session is denied. */
export interface LineExplanation {
  access: AccessDecision;
  verdict?: LineVerdict;
}

/** The `policy check --json` object (SPEC §5.6). */
export interface CheckReport {
  session: { decision: SessionAction; access?: string };
  command: {
    decision: RuleAction;
    rule?: string;
    reason?: string;
    commands: Array<{
      argv: readonly string[];
      writes?: readonly string[];
      decision: RuleAction;
      rule?: string;
    }>;
    /** The signal rules that fired, when any did. */
    signals?: Array<{ rule: string; score: number; reason: string; action?: SignalAction }>;
  };
}

interface CheckOptions {
  policy?: string;
  user: string;
  groups?: string;
  target: string;
  login?: string;
  from: string;
  at?: Date;
  json?: boolean;
}

export function registerPolicyCommands(program: Command): void {
  const policy = program.command("policy").description("validate, explain and test the policy");
  policy
    .command("lint")
    .description("validate the policy; warn about rules that can never match")
    .argument("[dir]", "policy directory (default: the config's policy.dir, else ./policies)")
    .action((dir: string | undefined, _options, command: Command) => {
      lintCommand(policyDirFor(command, dir));
    });
  policy
    .command("check")
    .description("explain the decision for one command line")
    .option("--policy <dir>", "policy directory (default: the config's policy.dir)")
    .requiredOption("--user <user>", "the user's identity")
    .option("--groups <a,b>", "the user's groups")
    .requiredOption("--target <target>", "target name")
    .option("--login <login>", "login on the target (default: its first login)")
    .option("--from <ip>", "client address", DEFAULT_SOURCE_IP)
    .option("--at <iso8601>", "moment of the request (default: now)", instantOption)
    .option("--json", "print the decision as JSON (SPEC §5.6)")
    .argument("<line...>", "the command line (after --)")
    .action((words: string[], options: CheckOptions, command: Command) => {
      checkCommand(policyDirFor(command, options.policy), words.join(" "), options);
    });
  policy
    .command("test")
    .description("run the policy's *.test.yaml cases")
    .argument("[dir]", "policy directory (default: the config's policy.dir, else ./policies)")
    .action((dir: string | undefined, _options, command: Command) => {
      testCommand(policyDirFor(command, dir));
    });
}

/** DIR, else the config's policy.dir; ./policies only when the default config file is absent. */
function policyDirFor(command: Command, explicit: string | undefined): string {
  if (explicit !== undefined) return explicit;
  const configOption = command.optsWithGlobals<{ config?: string }>().config;
  const configFile = configFileName(configOption);
  if (configFile === DEFAULT_CONFIG_FILE && !existsSync(configFile)) return "policies";
  return configFor(command).config.policy.dir;
}

function requireDirectory(dir: string): void {
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() !== true) {
    throw new ConfigError([`policy directory ${dir}: not found`]);
  }
}

// --- lint ---

function lintCommand(dir: string): void {
  requireDirectory(dir);
  const { errors, warnings } = lintDir(dir);
  const lines = [
    ...errors,
    ...warnings.map((warning) => `${formatLocation(warning)}: warning: ${warning.message}`),
    `${plural(errors.length, "error")}, ${plural(warnings.length, "warning")}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  if (errors.length > 0) process.exitCode = LINT_FAILED;
}

function lintDir(dir: string): { errors: readonly string[]; warnings: readonly PolicyWarning[] } {
  try {
    return { errors: [], warnings: lintPolicy(loadPolicyDir(dir)) };
  } catch (error) {
    if (error instanceof ConfigError) return { errors: error.problems, warnings: [] };
    throw error;
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

// --- check ---

function checkCommand(dir: string, line: string, options: CheckOptions): void {
  const explanation = explainLine(loadPolicyDir(dir), {
    user: options.user,
    groups: splitList(options.groups),
    target: options.target,
    ...(options.login !== undefined ? { login: options.login } : {}),
    sourceIp: options.from,
    at: options.at ?? new Date(),
    line,
  });
  process.stdout.write(
    options.json === true
      ? `${JSON.stringify(checkReport(explanation))}\n`
      : describeExplanation(explanation),
  );
}

function splitList(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * Session access first; the command line (and its signals, with the query as
 * the session's facts) is only decided for a session that is not denied.
 */
export function explainLine(policy: Policy, query: LineQuery): LineExplanation {
  const access = decideSessionAccess(policy, {
    user: query.user,
    groups: query.groups,
    target: query.target,
    ...(query.login !== undefined ? { login: query.login } : {}),
    sourceIp: query.sourceIp,
    at: query.at,
  });
  const { entry, target, login } = access;
  if (access.decision === "deny" || entry === undefined || target === undefined) return { access };
  const { user, groups, sourceIp, at } = query;
  const facts = { user, groups, target, login: login ?? "", sourceIp, at };
  return {
    access,
    verdict: decideCommandLine(policy, entry, extractCommands(query.line), facts),
  };
}

export function checkReport({ access, verdict }: LineExplanation): CheckReport {
  const session = {
    decision: access.decision,
    ...(access.entry ? { access: access.entry.name } : {}),
  };
  if (verdict === undefined) {
    return { session, command: { decision: "deny", reason: access.reason, commands: [] } };
  }
  return {
    session,
    command: {
      decision: verdict.decision,
      ...optional("rule", verdict.rule),
      ...optional("reason", verdict.reason),
      commands: verdict.commands.map((command) => ({
        argv: command.argv,
        ...(command.writes === undefined ? {} : { writes: command.writes }),
        decision: command.decision,
        ...optional("rule", command.rule),
      })),
      ...(verdict.signals?.length ? { signals: verdict.signals.map(reportedSignal) } : {}),
    },
  };
}

function reportedSignal({ rule, score, reason, action }: SignalHit) {
  return { rule, score, reason, ...(action === undefined ? {} : { action }) };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function describeExplanation({ access, verdict }: LineExplanation): string {
  const entry = access.entry ? ` by access entry ${access.entry.name}` : "";
  const lines = [`session: ${access.decision}${entry} (${access.reason})`];
  if (verdict === undefined) {
    lines.push("line: deny (the session is denied)");
  } else {
    const status = verdict.status === "complete" ? "" : ` [${verdict.status}]`;
    lines.push(`line: ${verdict.decision}${status}${because(verdict)}`);
    lines.push(...verdict.commands.map(describeCommand));
    lines.push(...(verdict.signals ?? []).map(describeSignal));
  }
  return `${lines.join("\n")}\n`;
}

function describeCommand(command: CommandVerdict): string {
  const writes = command.writes?.length
    ? ` (writes ${command.writes.map(shellQuoted).join(", ")})`
    : "";
  return `  ${command.decision.padEnd(7)} ${command.argv.map(shellQuoted).join(" ")}${writes}${because(command)}`;
}

function describeSignal(hit: SignalHit): string {
  return `signal ${hit.rule} +${hit.score}: ${hit.reason}`;
}

/** A word as it could be typed, so that `echo "rm -rf /"` does not read as `echo rm -rf /`. */
function shellQuoted(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function because(verdict: { rule?: string; reason?: string; risk: number }): string {
  const parts = [
    verdict.rule === undefined ? undefined : `rule ${verdict.rule}`,
    verdict.reason,
    verdict.risk > 0 ? `risk ${verdict.risk}` : undefined,
  ].filter((part) => part !== undefined);
  return parts.length === 0 ? "" : ` — ${parts.join("; ")}`;
}

// --- test ---

function testCommand(dir: string): void {
  requireDirectory(dir);
  const cases = loadPolicyTestCases(dir);
  if (cases.length === 0) {
    throw new ConfigError([`no policy tests (*.test.yaml with cases) in ${dir}`]);
  }
  const policy = loadPolicyDir(dir);
  const now = new Date();
  let failed = 0;
  for (const testCase of cases) {
    const outcome = runTestCase(policy, testCase, now);
    if (!outcome.passed) failed += 1;
    process.stdout.write(`${outcome.text}\n`);
  }
  process.stdout.write(`${cases.length - failed} passed, ${failed} failed\n`);
  if (failed > 0) process.exitCode = TESTS_FAILED;
}

function runTestCase(
  policy: Policy,
  testCase: PolicyTestCase,
  now: Date,
): { passed: boolean; text: string } {
  const report = checkReport(
    explainLine(policy, {
      user: testCase.user,
      groups: testCase.groups,
      target: testCase.target,
      ...(testCase.login !== undefined ? { login: testCase.login } : {}),
      sourceIp: testCase.from ?? DEFAULT_SOURCE_IP,
      at: testCase.at ?? now,
      line: testCase.command,
    }),
  );
  const fired = (report.command.signals ?? []).map((signal) => signal.rule);
  const expectsSignals = testCase.signals !== undefined;
  const actual = describeOutcome(
    report.command.decision,
    report.command.rule,
    expectsSignals || fired.length > 0 ? fired : undefined,
  );
  const expected = describeOutcome(testCase.expect, testCase.expect_rule, testCase.signals);
  const passed =
    report.command.decision === testCase.expect &&
    (testCase.expect_rule === undefined || report.command.rule === testCase.expect_rule) &&
    (testCase.signals === undefined || sameNames(testCase.signals, fired));
  if (passed) return { passed, text: `ok   ${testCase.name}: ${actual}` };
  const reason = report.command.reason === undefined ? "" : ` (${report.command.reason})`;
  return {
    passed,
    text: `FAIL ${testCase.name}: expected ${expected}, got ${actual}${reason} at ${formatLocation(testCase.source)}`,
  };
}

function describeOutcome(
  decision: RuleAction,
  rule: string | undefined,
  signals?: readonly string[],
): string {
  const outcome = rule === undefined ? decision : `${decision} by ${rule}`;
  return signals === undefined ? outcome : `${outcome} with signals [${signals.join(", ")}]`;
}

function sameNames(expected: readonly string[], actual: readonly string[]): boolean {
  const wanted = new Set(expected);
  return actual.length === wanted.size && actual.every((name) => wanted.has(name));
}
