// Command policy on a started session channel (SPEC §6): an exec request's
// command line is decided before anything is sent upstream; an interactive
// shell is opened upstream with the shell integration (src/interactive) and
// every line is decided at its gate. Each decision is audited as `command`;
// each thing the bastion cannot be sure about as a `signal`, handled by the
// access entry's `on_unverified`.

import { randomBytes } from "node:crypto";
import { Transform } from "node:stream";
import type { ServerChannel } from "ssh2";
import type { AuditEventName } from "../audit/events.js";
import type { AuditFields } from "../audit/log.js";
import { integrationCommand } from "../interactive/integration.js";
import { ShellGuard, type ShellGuardTiming } from "../interactive/shell-guard.js";
import type { LineVerdict } from "../policy/command-types.js";
import type { AccessDecision, AccessEntry, Policy, RuleAction } from "../policy/index.js";
import {
  decideTransfer,
  recognizeTransfer,
  type TransferCommand,
  type TransferVerdict,
} from "../policy/transfer-commands.js";
import { decideSessionLine, decideShellLine, explainVerdict } from "../session/command-check.js";
import { SessionTransfers } from "../sftp/index.js";
import type { IntegrityCheck, SessionSignals } from "../signals/session-signals.js";
import {
  type ApprovalGateContext,
  type ApprovalSubject,
  waitForApproval,
} from "./approval-gate.js";
import { type ChannelRecorder, commandMarker } from "./channel-recording.js";
import { countTransfer, refuseTransfer } from "./legacy-transfer.js";
import {
  type ChannelStart,
  endWithMessage,
  endWithStatus,
  type PlanResult,
  type ProxyPlan,
} from "./session-channel.js";
import { legacyTransferRefusal, type TransferStarts } from "./transfer-signals.js";

/** Exit status of an exec request the command policy refused (like a shell's "cannot execute"). */
const BLOCKED_EXIT_STATUS = 126;

export interface CommandGateContext {
  policy(): Policy;
  access: AccessDecision;
  audit(event: AuditEventName, fields: AuditFields): void;
  guardTiming: ShellGuardTiming;
  /** The channel's recording, when there is one: markers per decided line, input. */
  recorder?: ChannelRecorder;
  /** For lines the policy decides `approve`. */
  approval: ApprovalGateContext;
  /** What such a line asks the approvers (with the policy's settings for it). */
  approvalSubject(line: string, verdict: LineVerdict): ApprovalSubject;
  /** Starts the upstream connection now (the user may use the target; only this line waits). */
  warmUpstream(): void;
  /** A command line as the audit and the recording keep it (`mask_input:` applied). */
  keptLine?(line: string): string;
  /** The session's file transfer totals (`max_download` across channels); absent: this channel's own. */
  transfers?: SessionTransfers;
  /** The session's signals: decided lines are reported there (absent: no signal rules apply). */
  signals?: Pick<SessionSignals, "facts" | "line" | "transferStarts">;
  /** Raises an integrity signal (a line or shell the bastion cannot be sure about). */
  integrity(check: IntegrityCheck, reason: string, fields: AuditFields): void;
}

/** How to proxy a started channel, or undefined when the bastion refused it. */
export function planChannel(
  start: ChannelStart,
  channel: ServerChannel,
  context: CommandGateContext,
): PlanResult {
  if (start.kind === "exec") return planExec(start, channel, context);
  if (start.pty) return planInteractiveShell(start, channel, context);
  const reason = "a shell without a terminal cannot be checked line by line";
  return continuesUnverified(reason, channel, context) ? { request: start } : undefined;
}

function planExec(
  start: ChannelStart,
  channel: ServerChannel,
  context: CommandGateContext,
): PlanResult {
  const line = start.command ?? "";
  const recognized = recognizeTransfer(line);
  if (recognized.kind === "transfer")
    return planTransfer(recognized.command, start, channel, context);
  const commandVerdict = decideSessionLine(
    context.policy(),
    context.access.entry?.name,
    line,
    context.signals?.facts(),
  );
  const verdict =
    recognized.kind === "lookalike"
      ? refuseLookalike(commandVerdict, recognized.reason, currentEntry(context))
      : commandVerdict;
  auditCommand(context, line, verdict, { determined_by: "exec" });
  const because = explainVerdict(verdict);
  const started = { request: start, ...recordedInput(start, context) };
  switch (verdict.decision) {
    case "allow":
      return started;
    case "warn":
      channel.stderr.write(`portcullis: warning: ${because}\r\n`);
      return started;
    case "approve":
      return execAfterApproval(line, verdict, started, channel, context);
    default:
      endWithMessage(channel, `blocked: ${because}`, BLOCKED_EXIT_STATUS);
      return undefined;
  }
}

/**
 * An exec request that is exactly a legacy scp or rsync server: decided by
 * the file policy alone, like sftp (SPEC §6: `file_transfer` decides them,
 * not command rules), then proxied with its bytes counted.
 */
function planTransfer(
  command: TransferCommand,
  start: ChannelStart,
  channel: ServerChannel,
  context: CommandGateContext,
): PlanResult {
  const entry = currentEntry(context);
  const verdict = transferVerdict(entry, command, context);
  const transferContext = {
    access: context.access.entry?.name,
    audit: context.audit,
    ...(context.recorder ? { recorder: context.recorder } : {}),
    transfers: context.transfers ?? new SessionTransfers(),
    maxDownload: entry?.max_download,
  };
  if (verdict.decision === "deny") {
    refuseTransfer(command, verdict, channel, transferContext);
    return undefined;
  }
  const { input, output } = countTransfer(command, channel, transferContext);
  return { request: start, filters: { input, output: [output] }, fileTransfer: true };
}

/** The file policy's verdict, then the signal rules on the paths of an allowed request. */
function transferVerdict(
  entry: AccessEntry | undefined,
  command: TransferCommand,
  context: CommandGateContext,
): TransferVerdict {
  const verdict = decideTransfer(entry, command);
  const { signals } = context;
  if (verdict.decision === "deny" || signals === undefined) return verdict;
  const transferStarts: TransferStarts = (path, direction) =>
    signals.transferStarts(path, direction);
  return legacyTransferRefusal(command, transferStarts) ?? verdict;
}

/**
 * A line that runs an scp or rsync server without being exactly one: the
 * command rules decide it, and it is refused unless file transfer is
 * allowed without path rules or a download limit (which it would escape).
 */
function refuseLookalike(
  verdict: LineVerdict,
  reason: string,
  entry: AccessEntry | undefined,
): LineVerdict {
  const unrestricted =
    entry?.file_transfer === "allow" &&
    entry.files.length === 0 &&
    entry.max_download === undefined;
  if (unrestricted || verdict.decision === "deny") return verdict;
  const mode = entry?.file_transfer ?? "deny";
  return {
    ...verdict,
    decision: "deny",
    rule: "file_transfer",
    reason: `${reason} (file_transfer: ${mode}${entry && entry.files.length > 0 ? " with files rules" : ""})`,
  };
}

/** The session's access entry in the policy in force now (a reload applies to the next request). */
function currentEntry(context: CommandGateContext): AccessEntry | undefined {
  const name = context.access.entry?.name;
  return context.policy().access.find((candidate) => candidate.name === name);
}

/**
 * The client waits (messages on stderr) until the request is decided; the
 * command is opened upstream only once approved. A closed channel withdraws.
 */
async function execAfterApproval(
  line: string,
  verdict: LineVerdict,
  started: ProxyPlan,
  channel: ServerChannel,
  context: CommandGateContext,
): Promise<ProxyPlan | undefined> {
  const wait = waitForApproval(context.approval, context.approvalSubject(line, verdict), {
    write: (text) => channel.stderr.write(text),
    interactive: false,
    ...(started.request.reason === undefined ? {} : { reason: started.request.reason }),
  });
  channel.once("close", () => wait.abandon());
  context.warmUpstream(); // so that an approved command starts at once
  const { allowed } = await wait.outcome;
  if (allowed) return started;
  endWithStatus(channel, BLOCKED_EXIT_STATUS); // the conversation said why
  return undefined;
}

function planInteractiveShell(
  start: ChannelStart,
  channel: ServerChannel,
  context: CommandGateContext,
): ProxyPlan {
  const nonce = randomBytes(16).toString("hex");
  const guard = new ShellGuard(
    nonce,
    {
      decide: (line, { cwd, shell }) => {
        const entryName = context.access.entry?.name;
        const facts = context.signals?.facts();
        const verdict = decideShellLine(context.policy(), entryName, line, shell.facts, facts);
        auditCommand(context, line, verdict, { determined_by: "markers", cwd, shell: shell.shell });
        return verdict;
      },
      unverified: (reason) => unverifiedAction(reason, context),
      end: (message) => endWithMessage(channel, message),
      typed: (data, atPrompt) => context.recorder?.input(data, atPrompt),
      approve: (line, verdict, write) =>
        waitForApproval(context.approval, context.approvalSubject(line, verdict), {
          write,
          interactive: true,
        }),
    },
    context.guardTiming,
  );
  const shell = context.access.target?.shell ?? "auto";
  return {
    request: { ...start, kind: "exec", command: integrationCommand(nonce, shell) },
    filters: { input: guard.input, output: [guard.output] },
  };
}

/** Audits a `signal` and applies `on_unverified`; true when the channel may go on. */
function continuesUnverified(
  reason: string,
  channel: ServerChannel,
  context: CommandGateContext,
): boolean {
  const action = unverifiedAction(reason, context);
  if (action === "deny" || action === "approve") {
    endWithMessage(channel, `blocked: ${reason} (on_unverified: ${action})`, BLOCKED_EXIT_STATUS);
    return false;
  }
  if (action === "warn") channel.stderr.write(`portcullis: warning: ${reason}\r\n`);
  return true;
}

/** The access entry's `on_unverified` in the policy in force now; deny when the entry is gone. */
function unverifiedAction(reason: string, context: CommandGateContext): RuleAction {
  const entryName = context.access.entry?.name;
  const entry = context.policy().access.find((candidate) => candidate.name === entryName);
  const action = entry?.on_unverified ?? "deny";
  context.integrity("unverified", reason, { access: entryName, action });
  context.recorder?.marker(`signal: ${reason} (on_unverified: ${action})`);
  return action;
}

function auditCommand(
  context: CommandGateContext,
  line: string,
  verdict: LineVerdict,
  how: AuditFields,
): void {
  const kept = context.keptLine?.(line) ?? line;
  context.recorder?.marker(commandMarker(kept, verdict));
  context.audit("command", {
    line: kept,
    access: context.access.entry?.name,
    decision: verdict.decision,
    rule: verdict.rule,
    reason: verdict.reason,
    risk: verdict.risk,
    ...how,
  });
  const keep = (text: string) => context.keptLine?.(text) ?? text;
  context.signals?.line(verdict, kept, keep, (label) => context.recorder?.marker(label));
}

/** For exec channels: a pass-through that shows the user's input to the recording. */
function recordedInput(
  start: ChannelStart,
  context: CommandGateContext,
): Pick<ProxyPlan, "filters"> {
  const recorder = context.recorder;
  if (!recorder?.recordsInput) return {};
  const shown = start.pty === undefined; // with a terminal, a program may read a password
  const input = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      recorder.input(chunk, shown);
      done(null, chunk);
    },
  });
  return { filters: { input } };
}
