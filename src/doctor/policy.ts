// Doctor: the policy directory loads, lints, and every target's credential
// is in the vault (as serve requires before it starts).

import type { Config } from "../config/index.js";
import { lintPolicy, loadPolicyDir, type Policy, unknownCredentials } from "../policy/index.js";
import { ConfigError } from "../util/errors.js";
import { type CheckResult, count, fail, ok, warn } from "./check.js";

const CHECK = "policy";

export interface PolicyCheck {
  readonly result: CheckResult;
  /** The policy, when it loaded. */
  readonly policy?: Policy;
}

/** `vaultEntries` undefined: the vault could not be opened, credentials are not compared. */
export function checkPolicy(
  config: Config,
  vaultEntries: ReadonlySet<string> | undefined,
): PolicyCheck {
  const dir = config.policy.dir;
  let policy: Policy;
  try {
    policy = loadPolicyDir(dir);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { result: fail(CHECK, `${firstOf(error.problems)} (see portcullis policy lint)`) };
  }
  return { result: judgePolicy(dir, policy, vaultEntries), policy };
}

export function judgePolicy(
  dir: string,
  policy: Policy,
  vaultEntries: ReadonlySet<string> | undefined,
): CheckResult {
  const missing = vaultEntries === undefined ? [] : unknownCredentials(policy, vaultEntries);
  if (missing.length > 0) {
    return fail(CHECK, `${firstOf(missing)}; serve refuses to start without it`);
  }
  const summary = `${dir}: ${count(policy.targets.size, "target")}, ${count(policy.access.length, "access entry", "access entries")}`;
  const warnings = lintPolicy(policy).length;
  return warnings > 0
    ? warn(CHECK, `${summary}, ${count(warnings, "lint warning")} (see portcullis policy lint)`)
    : ok(CHECK, summary);
}

function firstOf(problems: readonly string[]): string {
  const more = problems.length - 1;
  return more > 0 ? `${problems[0]} (and ${more} more)` : (problems[0] ?? "invalid");
}
