// File transfers that need a second pair of eyes (`file_transfer: approve`,
// SPEC §5.3; docs/file-transfer.md "Approval"). The first transfer a
// connection attempts (an sftp channel, a legacy scp or rsync exec) asks:
// its channel's stderr carries the conversation (approval-gate.ts), and every
// other transfer channel of the connection waits for the same answer.
// Approved, the connection's transfers are decided as under `allow` (the
// `files:` rules and `max_download` still apply) until it ends; no grant
// outlives the connection. A refusal holds for the transfers that waited
// for it (each is refused and audited); the next transfer asks again.

import type { ServerChannel } from "ssh2";
import type { AuditEventName } from "../audit/events.js";
import type { AuditFields } from "../audit/log.js";
import { type ApprovalSettings, sessionApprovalSettings } from "../policy/approval-settings.js";
import { approvedTransfers } from "../policy/files.js";
import type { AccessEntry, Policy } from "../policy/index.js";
import { recognizeTransfer } from "../policy/transfer-commands.js";
import {
  type ApprovalGateContext,
  type ApprovalSubject,
  waitForApproval,
} from "./approval-gate.js";
import { type ChannelStart, endWithStatus } from "./session-channel.js";

/** Exit status of a refused exec transfer, like any refused exec command. */
const REFUSED_EXIT_STATUS = 126;
const NOT_APPROVED = "file transfer was not approved";

export interface TransferApprovalHooks {
  /** The access entry the connection was let in under. */
  readonly entryName: string | undefined;
  /** The policy in force now. */
  policy(): Policy;
  /** Config `approvals.timeout`, for an entry whose `approval:` has none. */
  readonly defaultTimeoutMs: number;
  audit(event: AuditEventName, fields: AuditFields): void;
}

/** One transfer channel asking. */
export interface TransferAsk {
  /** Who asks, for which target; markers go to this channel's recording. */
  readonly gate: ApprovalGateContext;
  /** What the transfer is: "sftp", or the exec's command line. */
  readonly line: string;
  /** The program, for the refusal's audit: "sftp", "scp", "rsync". */
  readonly via: string;
  /** Writes to the channel's stderr. */
  write(text: string): void;
  /** A reason given with the request (`ssh -o SetEnv=PORTCULLIS_REASON=…`). */
  readonly reason?: string;
  /** Runs `then` when the channel closes (a waiting request is withdrawn). */
  onClose(then: () => void): void;
}

export class TransferApproval {
  private approved = false;
  private answer: Promise<boolean> | undefined;

  constructor(private readonly hooks: TransferApprovalHooks) {}

  /** Whether a transfer must wait for an answer: the entry in force says `approve` and none was given. */
  needed(): boolean {
    return !this.approved && this.currentEntry()?.file_transfer === "approve";
  }

  /** `entry` as this connection's transfers are decided under it. */
  entryFor(entry: AccessEntry | undefined): AccessEntry | undefined {
    return this.approved && entry !== undefined ? approvedTransfers(entry) : entry;
  }

  /** The policy as this connection's transfers see it: once approved, its entry's `approve` counts as `allow`. */
  policy(): Policy {
    const policy = this.hooks.policy();
    if (!this.approved) return policy;
    const access = policy.access.map((entry) =>
      entry.name === this.hooks.entryName ? approvedTransfers(entry) : entry,
    );
    return { ...policy, access };
  }

  /**
   * Resolves true once the connection's transfers are approved; false when
   * refused (the channel was told why, the refusal audited). The first
   * asker carries the conversation, later ones wait for the same answer.
   */
  whenApproved(ask: TransferAsk): Promise<boolean> {
    if (this.approved) return Promise.resolve(true);
    let answer = this.answer;
    if (answer === undefined) {
      answer = this.ask(ask);
      this.answer = answer;
    } else {
      ask.write("portcullis: waiting for the file transfer approval asked on another channel\r\n");
    }
    return answer.then((allowed) => {
      if (!allowed) this.refused(ask);
      return allowed;
    });
  }

  /**
   * An exec that is a legacy scp or rsync transfer needing approval: resolves
   * once decided (false: refused, the channel ended with status 126);
   * undefined when the exec need not wait.
   */
  holdExec(
    start: ChannelStart,
    channel: ServerChannel,
    gate: ApprovalGateContext,
  ): Promise<boolean> | undefined {
    if (start.kind !== "exec" || !this.needed()) return undefined;
    const line = start.command ?? "";
    const recognized = recognizeTransfer(line);
    if (recognized.kind !== "transfer") return undefined;
    let open = true;
    channel.once("close", () => {
      open = false;
    });
    const asked = this.whenApproved({
      gate,
      line,
      via: recognized.command.program,
      write: (text) => channel.stderr.write(text),
      ...(start.reason === undefined ? {} : { reason: start.reason }),
      onClose: (then) => channel.once("close", then),
    });
    return asked.then((allowed) => {
      if (!allowed) endWithStatus(channel, REFUSED_EXIT_STATUS);
      return allowed && open; // a channel that went away while waiting runs nothing
    });
  }

  private async ask(ask: TransferAsk): Promise<boolean> {
    const wait = waitForApproval(ask.gate, this.subject(ask), {
      write: (text) => ask.write(text),
      interactive: false,
      ...(ask.reason === undefined ? {} : { reason: ask.reason }),
    });
    ask.onClose(() => wait.abandon());
    const { allowed } = await wait.outcome;
    this.approved = allowed;
    this.answer = undefined; // a refusal holds for those who waited; the next transfer asks again
    return allowed;
  }

  private subject(ask: TransferAsk): ApprovalSubject {
    const entryName = this.hooks.entryName ?? "";
    return {
      kind: "file_transfer",
      line: ask.line,
      rule: `access:${entryName}`,
      reason: "file_transfer: approve",
      description: `file transfer on ${ask.gate.target}: ${ask.line} (access ${entryName})`,
      settings: () => {
        const entry = this.currentEntry();
        return entry && transferApprovalSettings(entry, this.hooks.defaultTimeoutMs);
      },
    };
  }

  private refused(ask: TransferAsk): void {
    const entryName = this.hooks.entryName ?? "";
    ask.write(`portcullis: blocked: ${NOT_APPROVED}; nothing was transferred\r\n`);
    this.hooks.audit("session.denied", {
      reason: `${ask.via} is not allowed: ${NOT_APPROVED} (access ${entryName})`,
      access: entryName,
    });
  }

  private currentEntry(): AccessEntry | undefined {
    return this.hooks.policy().access.find((entry) => entry.name === this.hooks.entryName);
  }
}

/** The entry's `approval:` as for `session: approve`, without a grant: an approval covers one connection. */
function transferApprovalSettings(entry: AccessEntry, defaultTimeoutMs: number): ApprovalSettings {
  const { grantMs: _perConnection, ...settings } = sessionApprovalSettings(entry, defaultTimeoutMs);
  return settings;
}
