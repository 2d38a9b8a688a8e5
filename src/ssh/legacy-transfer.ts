// A file transfer that arrives as an exec request (legacy `scp -O`, rsync over
// ssh; recognised and decided by src/policy/transfer-commands.ts) on its
// channel: refused with exit status 126, or proxied through pass-through
// counters on stdin and stdout that enforce the session's `max_download` on
// downloads and, when the channel closes, report one `file.transfer` audit
// event and one recording marker for the whole command (the bastion does not
// parse scp's or rsync's stream, so it sees no per-file names).

import { Transform } from "node:stream";
import type { ServerChannel } from "ssh2";
import type { AuditEventName } from "../audit/events.js";
import type { AuditFields } from "../audit/log.js";
import type { TransferCommand, TransferVerdict } from "../policy/transfer-commands.js";
import type { SessionTransfers } from "../sftp/index.js";
import type { ChannelRecorder } from "./channel-recording.js";
import { type ChannelFilters, endWithMessage } from "./session-channel.js";

/** Exit status of a refused transfer, like any refused exec command. */
const REFUSED_EXIT_STATUS = 126;

export interface LegacyTransferContext {
  /** The access entry's name, for the audit. */
  access: string | undefined;
  audit(event: AuditEventName, fields: AuditFields): void;
  recorder?: ChannelRecorder;
  /** The session's download budget (shared with its sftp channels). */
  transfers: SessionTransfers;
  maxDownload: number | undefined;
}

type TransferResult = "ok" | "denied" | "limited" | "interrupted";

interface TransferOutcome {
  result: TransferResult;
  bytesUp: number;
  bytesDown: number;
  reason?: string;
  rule?: string;
}

/** Ends the channel with the refusal and reports it. */
export function refuseTransfer(
  command: TransferCommand,
  verdict: Extract<TransferVerdict, { decision: "deny" }>,
  channel: ServerChannel,
  context: LegacyTransferContext,
): void {
  report(command, context, {
    result: "denied",
    bytesUp: 0,
    bytesDown: 0,
    reason: verdict.reason,
    ...(verdict.rule === undefined ? {} : { rule: verdict.rule }),
  });
  const rule = verdict.rule === undefined ? "" : ` (rule ${verdict.rule})`;
  endWithMessage(channel, `blocked: ${verdict.reason}${rule}`, REFUSED_EXIT_STATUS);
}

/**
 * The filters that count an allowed transfer's bytes: `input` (client to
 * target) and `output` (target to client, first of the output filters). The
 * report goes out when the channel closes.
 */
export function countTransfer(
  command: TransferCommand,
  channel: ServerChannel,
  context: LegacyTransferContext,
): Required<Pick<ChannelFilters, "input">> & { output: Transform } {
  const outcome: TransferOutcome = { result: "interrupted", bytesUp: 0, bytesDown: 0 };
  const input = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      outcome.bytesUp += chunk.length;
      done(null, chunk);
    },
  });
  const output = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (outcome.result === "limited") return done();
      const allowed = downloadAllowance(command, context, chunk.length);
      outcome.bytesDown += allowed;
      if (allowed === chunk.length) return done(null, chunk);
      outcome.result = "limited";
      outcome.reason = `download limit reached (max_download ${context.maxDownload} bytes)`;
      done(null, chunk.subarray(0, allowed));
      endWithMessage(channel, outcome.reason, 1);
    },
    flush(done) {
      if (outcome.result === "interrupted") outcome.result = "ok";
      done();
    },
  });
  channel.once("close", () => report(command, context, outcome));
  return { input, output };
}

/** How many of `bytes` from the target the session may still receive (all of an upload's answers). */
function downloadAllowance(
  command: TransferCommand,
  context: LegacyTransferContext,
  bytes: number,
): number {
  if (command.direction === "upload" || context.maxDownload === undefined) return bytes;
  const left = Math.max(0, context.maxDownload - context.transfers.downloaded);
  const allowed = Math.min(bytes, left);
  context.transfers.takeDownload(allowed, context.maxDownload);
  return allowed;
}

/**
 * One `file.transfer` event in the sftp events' shape (the index adds
 * `bytes_read` and `bytes_written` to the session's totals): the bytes of
 * the transfer's direction count, the protocol's answers the other way do
 * not; `channel_bytes_up` / `channel_bytes_down` keep both.
 */
function report(
  command: TransferCommand,
  context: LegacyTransferContext,
  outcome: TransferOutcome,
): void {
  const upload = command.direction === "upload";
  const bytes = upload ? outcome.bytesUp : outcome.bytesDown;
  const path = command.paths.join(" ");
  context.audit("file.transfer", {
    access: context.access,
    via: command.program,
    direction: command.direction,
    path,
    bytes,
    bytes_read: upload ? 0 : bytes,
    bytes_written: upload ? bytes : 0,
    channel_bytes_up: outcome.bytesUp,
    channel_bytes_down: outcome.bytesDown,
    result: outcome.result,
    ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
    ...(outcome.rule === undefined ? {} : { rule: outcome.rule }),
  });
  context.recorder?.marker(markerOf(command, path, bytes, outcome));
}

/** `allow: upload /srv/x (1234 bytes, scp)`, `deny: download /etc/shadow (files#1, rsync)`. */
function markerOf(
  command: TransferCommand,
  path: string,
  bytes: number,
  outcome: TransferOutcome,
): string {
  const denied = outcome.result === "denied";
  const details = denied
    ? [outcome.rule ?? outcome.reason ?? "", command.program]
    : [
        `${bytes} bytes`,
        command.program,
        ...(outcome.result === "ok" ? [] : [outcome.result]),
        ...(outcome.reason === undefined ? [] : [outcome.reason]),
      ];
  return `${denied ? "deny" : "allow"}: ${command.direction} ${path} (${details.join(", ")})`;
}
