// Signal rules on file transfer paths (docs/signals.md) applied where files
// are opened: an sftp open and a legacy scp/rsync request. A firing rule's
// `deny` or `end-session` refuses the transfer (the session's signals end the
// session for the latter); `approve` also refuses it, as file transfers
// cannot wait for an approval yet; `warn` only scores (an sftp client shows
// no warnings).
import type { FileAccess, FilePolicy, FileVerdict } from "../policy/files.js";
import type { TransferCommand } from "../policy/transfer-commands.js";
import type { SignalHit } from "../policy/types.js";

/** The session's signal rules for a file about to move; the most severe acting hit. */
export type TransferStarts = (
  path: string,
  direction: "download" | "upload",
  /** The session's home on the target, when known (relative paths and `~/` globs are resolved against it). */
  home?: string,
) => SignalHit | undefined;

const DIRECTIONS: Partial<Record<FileAccess, readonly ("download" | "upload")[]>> = {
  read: ["download"],
  write: ["upload"],
  readwrite: ["download", "upload"],
};

/** The refusal a signal's action means for a transfer; undefined when it may go on. */
function refusalOf(hit: SignalHit | undefined): FileVerdict | undefined {
  if (hit?.action === undefined || hit.action === "warn") return undefined;
  const why =
    hit.action === "approve" ? "needs approval, which file transfers cannot wait for" : "";
  const reason = why ? `${hit.reason} (${why})` : hit.reason;
  return { decision: "deny", reason, rule: `signal:${hit.rule}` };
}

function firstRefusal(
  paths: readonly string[],
  directions: readonly ("download" | "upload")[],
  transferStarts: TransferStarts,
  home?: string,
): FileVerdict | undefined {
  for (const path of paths) {
    for (const direction of directions) {
      const refusal = refusalOf(transferStarts(path, direction, home));
      if (refusal) return refusal;
    }
  }
  return undefined;
}

/** The file policy with the signal rules consulted on every open the policy allows. */
export function withTransferSignals(
  policy: FilePolicy,
  transferStarts: TransferStarts,
): FilePolicy {
  return {
    ...policy,
    decide: (access, path) => {
      const verdict = policy.decide(access, path);
      const directions = DIRECTIONS[access];
      if (verdict.decision === "deny" || directions === undefined) return verdict;
      return firstRefusal([path], directions, transferStarts, policy.home) ?? verdict;
    },
  };
}

/** A legacy scp/rsync request the file policy allowed: refused when a signal rule on its paths says so. */
export function legacyTransferRefusal(
  command: TransferCommand,
  transferStarts: TransferStarts,
): FileVerdict | undefined {
  return firstRefusal(command.paths, [command.direction], transferStarts);
}
