// Session access (SPEC §5.3): which access entry, if any, lets a user open a
// session to a target as a login, from an address, at a time. Pure: the
// clock reading and the client address come in with the request.
import { forwardsAnything } from "./forwarding.js";
import { checkSchedule } from "./schedule.js";
import type {
  AccessEntry,
  Policy,
  Principals,
  SessionAction,
  Target,
  TargetSelection,
} from "./types.js";

export interface AccessRequest {
  readonly user: string;
  readonly groups: readonly string[];
  readonly target: string;
  /** Absent: the target's default (first) login. */
  readonly login?: string;
  readonly sourceIp: string;
  readonly at: Date;
}

export interface AccessDecision {
  readonly decision: SessionAction;
  /** The entry that decided; absent when no entry matched. */
  readonly entry?: AccessEntry;
  readonly target?: Target;
  readonly login?: string;
  readonly reason: string;
}

export type AccessSubject = Omit<AccessRequest, "target" | "login">;

export interface ReachableTarget {
  readonly target: Target;
  /** The target's logins (in its order) this subject may open now, allowed or with approval. */
  readonly logins: readonly string[];
  /** The decision for the first of those logins. */
  readonly decision: "allow" | "approve";
}

/**
 * First matching entry wins. An entry whose subjects and targets match but
 * whose login, `from` or `when` does not is skipped; the first such near miss
 * becomes the reason when no entry matches. No match is a deny.
 */
export function decideSessionAccess(policy: Policy, request: AccessRequest): AccessDecision {
  const target = policy.targets.get(request.target);
  if (target === undefined) return { decision: "deny", reason: "unknown target" };
  const login = request.login ?? target.logins[0] ?? "";
  if (!target.logins.includes(login)) {
    return {
      decision: "deny",
      target,
      login,
      reason: `login ${login} not permitted on ${target.name}`,
    };
  }
  let nearMiss: string | undefined;
  for (const entry of policy.access) {
    if (!isSubject(entry.subjects, request) || !selectsTarget(entry.targets, target)) continue;
    const mismatch = conditionMismatch(entry, login, request);
    if (mismatch === undefined)
      return { decision: entry.session, entry, target, login, reason: reasonFor(entry) };
    nearMiss ??= mismatch;
  }
  return {
    decision: "deny",
    target,
    login,
    reason: nearMiss ?? `no access entry for ${target.name}`,
  };
}

/** Targets the subject may open a session to now (for the menu), sorted by name. */
export function reachableTargets(policy: Policy, subject: AccessSubject): ReachableTarget[] {
  const names = [...policy.targets.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names.flatMap((name) => {
    const decisions = (policy.targets.get(name)?.logins ?? [])
      .map((login) => decideSessionAccess(policy, { ...subject, target: name, login }))
      .filter((result) => result.decision !== "deny");
    const [first] = decisions;
    if (first?.target === undefined || first.decision === "deny") return [];
    return [
      {
        target: first.target,
        logins: decisions.map((d) => d.login ?? ""),
        decision: first.decision,
      },
    ];
  });
}

/** Whether some access entry that can open a session lets this subject forward ports (certificates carry `permit-port-forwarding` only then). */
export function mayForward(
  policy: Policy,
  subject: Pick<AccessSubject, "user" | "groups">,
): boolean {
  return policy.access.some(
    (entry) =>
      forwardsAnything(entry.forwarding) &&
      entry.session !== "deny" &&
      isSubject(entry.subjects, subject),
  );
}

/** Whether the user, or one of their groups, is listed. */
export function isSubject(
  subjects: Principals,
  request: Pick<AccessSubject, "user" | "groups">,
): boolean {
  return (
    subjects.users.includes(request.user) ||
    request.groups.some((group) => subjects.groups.includes(group))
  );
}

/** Whether the selection names the target or its labels include all the selection's labels. */
export function selectsTarget(selection: TargetSelection, target: Target): boolean {
  if (selection.names.includes(target.name)) return true;
  const labels = selection.labels;
  return (
    labels !== undefined && [...labels].every(([key, value]) => target.labels.get(key) === value)
  );
}

/** Why a matching entry still does not apply, or undefined if it does. */
function conditionMismatch(
  entry: AccessEntry,
  login: string,
  request: AccessSubject,
): string | undefined {
  if (entry.logins !== undefined && !entry.logins.includes(login)) {
    return `login ${login} not permitted by ${entry.name}`;
  }
  if (entry.from !== undefined && !entry.from.contains(request.sourceIp)) {
    return `source address ${request.sourceIp} not allowed by ${entry.name}`;
  }
  const schedule = entry.when === undefined ? "inside" : checkSchedule(entry.when, request.at);
  if (schedule === "outside-hours") return `outside allowed hours for ${entry.name}`;
  if (schedule === "outside-days") return `outside allowed days for ${entry.name}`;
  return undefined;
}

function reasonFor(entry: AccessEntry): string {
  if (entry.session === "allow") return `allowed by ${entry.name}`;
  if (entry.session === "approve") return `approval required by ${entry.name}`;
  return `denied by ${entry.name}`;
}
