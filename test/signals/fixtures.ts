// Test fixtures for behavioural signals: the documented default settings,
// targets and session facts, baselines built from a synthetic history, and
// command lines decided by the real extractor and matcher.

import type { LineVerdict } from "../../src/policy/command-types.js";
import { decideCommandLine } from "../../src/policy/decide.js";
import { DEFAULT_BEHAVIOUR } from "../../src/policy/schema.js";
import { extractCommands } from "../../src/policy/shell/index.js";
import type { BehaviourSettings, SessionFacts, Target } from "../../src/policy/types.js";
import { buildBaseline, type NetworkGrouping } from "../../src/signals/baseline.js";
import type { Baseline } from "../../src/signals/types.js";
import type { HistorySession } from "../../src/store/types.js";
import { policyFrom } from "../policy/fixtures.js";
import { accessEntry } from "../policy/matcher-helpers.js";

export const MINUTE = 60_000;
export const DAY = 86_400_000;
export const USER = "alice@example.com";

/** `signals.behaviour` defaults (docs/signals.md); the tests' numbers are these. */
export const DEFAULTS: BehaviourSettings = DEFAULT_BEHAVIOUR;

/** Every signal turned off (score 0). */
export const ALL_OFF: BehaviourSettings = {
  ...DEFAULTS,
  first_target: 0,
  first_label: 0,
  new_network: { ...DEFAULTS.new_network, score: 0 },
  off_hours: 0,
  unusual_hour: { ...DEFAULTS.unusual_hour, score: 0 },
  denial_streak: { ...DEFAULTS.denial_streak, score: 0 },
  privileged_burst: { ...DEFAULTS.privileged_burst, score: 0 },
  download_volume: { ...DEFAULTS.download_volume, score: 0 },
  approval_fanout: { ...DEFAULTS.approval_fanout, score: 0 },
  denial_override: { ...DEFAULTS.denial_override, score: 0 },
};

export const LABELS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  web1: { env: "staging", team: "web" },
  web2: { env: "prod", team: "web" },
  db1: { env: "prod", team: "data" },
};

export function target(name: string): Target {
  return {
    name,
    source: { file: "targets.yaml", line: 1, col: 1 },
    address: { host: `${name}.internal`, port: 22 },
    logins: ["deploy"],
    credentials: new Map([["deploy", `${name}-cred`]]),
    labels: new Map(Object.entries(LABELS[name] ?? {})),
    shell: "auto",
  };
}

export function facts(
  at: string,
  options: { target?: string; sourceIp?: string } = {},
): SessionFacts {
  return {
    user: USER,
    groups: ["ops"],
    target: target(options.target ?? "web1"),
    login: "deploy",
    sourceIp: options.sourceIp ?? "10.1.2.7",
    at: new Date(at),
  };
}

/** A past session: to web1 from 10.1.2.x unless told otherwise. */
export function past(startedAt: string, fields: Partial<HistorySession> = {}): HistorySession {
  return {
    id: `s-${startedAt}`,
    target: "web1",
    sourceIp: "10.1.2.20",
    startedAt: new Date(startedAt),
    bytesDown: 0,
    ...fields,
  };
}

/** The baseline of a history, with labels from LABELS, the 30-day lookback and networks grouped as by default unless told. */
export function baselineOf(
  history: readonly HistorySession[],
  timeZone?: string,
  networkGrouping: NetworkGrouping = DEFAULTS.new_network,
): Baseline {
  const labelsOf = (name: string) =>
    name in LABELS ? new Map(Object.entries(LABELS[name] ?? {})) : undefined;
  return buildBaseline(history, labelsOf, {
    lookbackMs: 30 * DAY,
    networkGrouping,
    ...(timeZone === undefined ? {} : { timeZone }),
  });
}

const POLICY = policyFrom(`
rulesets:
  ops:
    default: allow
    rules:
      - deny: "cat /etc/shadow"
        reason: shadow file
      - deny: shutdown
      - deny: "systemctl stop auditd"
      - approve: "systemctl restart *"
      - warn: journalctl
        risk: 40
      - warn: "cat /var/log/*"
        risk: 10
`);
const ENTRY = accessEntry(["ops"]);

/** A line decided by the real extractor and matcher under the `ops` ruleset above. */
export function decided(line: string): LineVerdict {
  return decideCommandLine(POLICY, ENTRY, extractCommands(line));
}
