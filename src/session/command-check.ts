// Deciding one command line a user sent in a session, as the SSH data path
// needs it: with the policy in force now and the session's access entry
// looked up again by name (a reload applies to the next command), failing
// closed when the entry is gone or the evaluation throws. Exec requests use
// the command policy alone; lines typed in an interactive shell also get the
// shell's aliases, functions and `on_unverified` (src/policy/interactive.ts).
// Given the session's facts, both also raise the policy's signal rules.

import type { LineVerdict } from "../policy/command-types.js";
import {
  type AccessEntry,
  decideCommandLine,
  decideInteractiveLine,
  extractCommands,
  type Policy,
  type SessionFacts,
  type ShellFacts,
} from "../policy/index.js";
import { errorMessage } from "../util/errors.js";

/** An exec request's command line (with its signals, given the session's `facts`). */
export function decideSessionLine(
  policy: Policy,
  accessEntryName: string | undefined,
  line: string,
  facts?: SessionFacts,
): LineVerdict {
  return decideForEntry(policy, accessEntryName, (entry) =>
    decideCommandLine(policy, entry, extractCommands(line), facts),
  );
}

/** A complete line about to run in an interactive shell whose startup files gave `shellFacts`. */
export function decideShellLine(
  policy: Policy,
  accessEntryName: string | undefined,
  line: string,
  shellFacts: ShellFacts,
  facts?: SessionFacts,
): LineVerdict {
  return decideForEntry(policy, accessEntryName, (entry) =>
    decideInteractiveLine(policy, entry, line, shellFacts, facts),
  );
}

function decideForEntry(
  policy: Policy,
  accessEntryName: string | undefined,
  decide: (entry: AccessEntry) => LineVerdict,
): LineVerdict {
  const entry = policy.access.find((candidate) => candidate.name === accessEntryName);
  if (entry === undefined) {
    return denied(`access entry ${accessEntryName ?? "(none)"} is no longer in the policy`);
  }
  try {
    return decide(entry);
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
