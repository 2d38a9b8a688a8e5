// How an approval is decided, resolved from the policy (pure): for a command
// line whose decision is `approve`, each approving command's rule fields
// first, then its access entry's `approval:`, then the config's timeout (a
// signal rule whose action is `approve` has the entry's `approval:` alone);
// for a `session: approve` entry, its `approval:`. When several commands of
// one line need approval under different settings, the strictest apply: an
// approver must be listed by every one of them, the largest quorum, the
// shortest reuse window and timeout, and a reason if any asks for one.
import type { LineVerdict } from "./command-types.js";
import type { AccessEntry, ApprovalTuning, Policy, Principals, Rule } from "./types.js";

export interface ApprovalSettings {
  /** Who may decide; empty when the policy names nobody (the request cannot be approved). */
  readonly approvers: Principals;
  /** Distinct approvers needed (≥ 1). */
  readonly quorum: number;
  /** ms during which an approved line may run again without asking; absent: never. */
  readonly reuseMs?: number;
  /** The requester must type a reason. */
  readonly justify: boolean;
  /** ms a request waits for a decision. */
  readonly timeoutMs: number;
  /** Session approvals: how long the grant lasts (ms); absent: the approved session only. */
  readonly grantMs?: number;
}

const NOBODY: Principals = { users: [], groups: [] };

/** A rule by its id (`ruleset#N`); undefined for `on_dynamic`, `default:…`, `on_unverified`, `signal:…`. */
export function findRule(policy: Policy, id: string | undefined): Rule | undefined {
  const match = id === undefined ? null : /^(.+)#([1-9][0-9]*)$/.exec(id);
  if (match === null) return undefined;
  return policy.rulesets.get(match[1] ?? "")?.rules[Number(match[2]) - 1];
}

/**
 * The settings for a command line whose verdict is `approve`, under access
 * entry `entryName`; undefined when the verdict is not `approve` or the
 * entry is gone (the caller denies).
 */
export function approvalSettings(
  policy: Policy,
  entryName: string | undefined,
  verdict: LineVerdict,
  defaultTimeoutMs: number,
): ApprovalSettings | undefined {
  if (verdict.decision !== "approve") return undefined;
  const entry = policy.access.find((candidate) => candidate.name === entryName);
  if (entry === undefined) return undefined;
  const ruleIds = [
    ...verdict.commands
      .filter((command) => command.decision === "approve")
      .map((command) => command.rule),
    ...(verdict.signals ?? [])
      .filter((hit) => hit.action === "approve")
      .map((hit) => `signal:${hit.rule}`),
  ];
  const sources = (ruleIds.length > 0 ? ruleIds : [verdict.rule]).map((id) =>
    commandSettings(findRule(policy, id), entry, defaultTimeoutMs),
  );
  return sources.reduce(strictest);
}

/** The settings for a `session: approve` entry's request. */
export function sessionApprovalSettings(
  entry: AccessEntry,
  defaultTimeoutMs: number,
): ApprovalSettings {
  const approval = entry.approval;
  return {
    approvers: approval?.approvers ?? NOBODY,
    quorum: approval?.quorum ?? 1,
    justify: approval?.justify ?? false,
    timeoutMs: approval?.timeout ?? defaultTimeoutMs,
    ...(approval?.grant === undefined ? {} : { grantMs: approval.grant }),
  };
}

function commandSettings(
  rule: Rule | undefined,
  entry: AccessEntry,
  defaultTimeoutMs: number,
): ApprovalSettings {
  const fallback: ApprovalTuning = entry.approval ?? {};
  const reuseMs = rule?.reuse ?? fallback.reuse;
  return {
    approvers: rule?.approvers ?? entry.approval?.approvers ?? NOBODY,
    quorum: rule?.quorum ?? fallback.quorum ?? 1,
    justify: rule?.justify ?? fallback.justify ?? false,
    timeoutMs: entry.approval?.timeout ?? defaultTimeoutMs,
    ...(reuseMs === undefined ? {} : { reuseMs }),
  };
}

function strictest(a: ApprovalSettings, b: ApprovalSettings): ApprovalSettings {
  const reuseMs =
    a.reuseMs === undefined || b.reuseMs === undefined ? undefined : Math.min(a.reuseMs, b.reuseMs);
  return {
    approvers: commonApprovers(a.approvers, b.approvers),
    quorum: Math.max(a.quorum, b.quorum),
    justify: a.justify || b.justify,
    timeoutMs: Math.min(a.timeoutMs, b.timeoutMs),
    ...(reuseMs === undefined ? {} : { reuseMs }),
  };
}

/** Principals listed by both (the same set is kept as it is). */
function commonApprovers(a: Principals, b: Principals): Principals {
  if (a === b) return a;
  return {
    users: a.users.filter((user) => b.users.includes(user)),
    groups: a.groups.filter((group) => b.groups.includes(group)),
  };
}
