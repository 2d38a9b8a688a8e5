// Deciding one command line a user sent in a session, as the SSH data path
// needs it: with the policy in force now and the session's access entry
// looked up again by name (a reload applies to the next command), failing
// closed when the entry is gone or the evaluation throws. Shared by exec
// requests and, later, interactive shells.

import type { LineVerdict } from "../policy/command-types.js";
import { decideCommandLine, extractCommands, type Policy } from "../policy/index.js";
import { errorMessage } from "../util/errors.js";

export function decideSessionLine(
  policy: Policy,
  accessEntryName: string | undefined,
  line: string,
): LineVerdict {
  const entry = policy.access.find((candidate) => candidate.name === accessEntryName);
  if (entry === undefined) {
    return denied(`access entry ${accessEntryName ?? "(none)"} is no longer in the policy`);
  }
  try {
    return decideCommandLine(policy, entry, extractCommands(line));
  } catch (error) {
    return denied(`cannot evaluate the command: ${errorMessage(error)}`);
  }
}

/** `<reason> (rule <id>)`, as the user sees it after `blocked:` or `warning:`. */
export function explainVerdict(verdict: LineVerdict): string {
  const rule = verdict.rule === undefined ? "" : ` (rule ${verdict.rule})`;
  return `${verdict.reason ?? "denied by policy"}${rule}`;
}

function denied(reason: string): LineVerdict {
  return { status: "error", decision: "deny", reason, risk: 100, commands: [] };
}
