// The sftp subsystem of a session channel (also what modern scp uses): refused
// when the access entry allows no file transfer, otherwise accepted at once
// (ssh2 drops what the client sends before the answer, and OpenSSH sends its
// first SFTP packet without waiting for it), served by ssh2's SFTP server and
// mediated request by request (src/sftp) onto an SFTP session of the
// target's upstream connection. Under `file_transfer: approve` the accepted
// channel holds its requests while the approval conversation runs on its
// stderr (transfer-approval.ts). Turns the mediator's reports into
// `file.transfer` / `file.op` audit events and recording markers.

import type {
  AcceptSftpConnection,
  FileEntryWithStats,
  RejectConnection,
  SFTPWrapper,
  Client as UpstreamClient,
} from "ssh2";
import type { AuditEventName } from "../audit/events.js";
import type { AuditFields } from "../audit/log.js";
import { compileFilePolicy, fileTransferRefusal } from "../policy/files.js";
import type { AccessEntry } from "../policy/index.js";
import type { SessionRecording } from "../recording/index.js";
import {
  type FileOperationReport,
  type FileTransferReport,
  type SessionTransfers,
  SftpMediator,
  type SftpReport,
} from "../sftp/index.js";
import type { IntegrityCheck } from "../signals/session-signals.js";
import { errorMessage } from "../util/errors.js";
import type { ApprovalGateContext } from "./approval-gate.js";
import type { TransferApproval } from "./transfer-approval.js";
import { type TransferStarts, withTransferSignals } from "./transfer-signals.js";

/** SSH extended data type of stderr. */
const STDERR = 1;

export interface SftpChannelContext {
  /** The chosen target's access entry; undefined when no target is chosen (yet). */
  entry: AccessEntry | undefined;
  /** Why this connection serves no sftp channel (refused, menu, approval pending). */
  unavailable?: string;
  upstream(): Promise<UpstreamClient>;
  /** Opens the channel's recording; throws a one-line error when it cannot. */
  openRecording(): SessionRecording;
  recordingsRequired: boolean;
  transfers: SessionTransfers;
  audit(event: AuditEventName, fields: AuditFields): void;
  /** Raises an integrity signal (a malformed request, a recording that cannot be written). */
  integrity(check: IntegrityCheck, reason: string, fields?: AuditFields): void;
  /** The signal rules on a file about to move (src/ssh/transfer-signals.ts). */
  transferStarts: TransferStarts;
  /** The connection's file transfer approval (`file_transfer: approve`). */
  approval?: SftpApproval;
}

export interface SftpApproval {
  readonly transfers: TransferApproval;
  /** Who asks; markers go to the channel's recording. */
  readonly gate: ApprovalGateContext;
  /** `ssh -o SetEnv=PORTCULLIS_REASON=…` (sftp and scp pass `-o` on). */
  readonly reason?: string;
}

export function serveSftp(
  accept: AcceptSftpConnection,
  reject: RejectConnection,
  context: SftpChannelContext,
): void {
  const { approval } = context;
  const entry = approval?.transfers.entryFor(context.entry) ?? context.entry;
  const asking = context.unavailable === undefined && approval?.transfers.needed() === true;
  const refusal = context.unavailable ?? (asking ? undefined : fileTransferRefusal(entry));
  if (refusal !== undefined || entry === undefined) {
    context.audit("session.denied", { reason: `sftp is not allowed: ${refusal}` });
    reject();
    return;
  }
  const recording = openRecording(context);
  if (recording === "refused") {
    reject();
    return;
  }
  const sftp = accept();
  const mediator = new SftpMediator({
    replies: sftp,
    transfers: context.transfers,
    report: (report) => {
      context.audit(auditEventOf(report), { access: entry.name, ...auditFieldsOf(report) });
      recording?.marker(markerOf(report));
    },
  });
  routeRequests(sftp, mediator);
  // ssh2 emits a malformed request as an error (the channel is already closing).
  sftp.on("error", (error: Error) => {
    context.integrity("sftp", `bad sftp request: ${error.message}`);
  });
  let closed = false;
  sftp.on("end", () => finish(sftp, 0));
  sftp.on("close", () => {
    closed = true;
    mediator.close();
    recording?.close().catch(() => undefined); // a failure was reported through onFailure
  });
  recording?.onFailure((error) => {
    const reason = `recording failed: ${errorMessage(error)}`;
    recordingProblem(context, reason);
    if (!context.recordingsRequired) return;
    mediator.abort(`portcullis: ${reason}`);
    finish(sftp, 1);
  });
  const approved =
    asking && approval ? askApproval(sftp, approval, recording) : Promise.resolve(true);
  const attach = () =>
    openUpstreamSftp(context).then(
      ({ upstream, home }) => {
        if (closed) return upstream.end();
        upstream.on("close", () => finish(sftp, 1));
        // After an approval: decided as the connection's transfers now are (approved: allow).
        const now = approval?.transfers.entryFor(context.entry) ?? entry;
        const policy = compileFilePolicy(now, home);
        mediator.attach(upstream, withTransferSignals(policy, context.transferStarts));
      },
      (error: unknown) => {
        const reason = errorMessage(error);
        context.audit("upstream.error", { reason });
        mediator.abort(`portcullis: ${reason}`);
        finish(sftp, 1);
      },
    );
  approved.then((allowed) => {
    if (allowed) return closed ? undefined : attach();
    mediator.abort("portcullis: file transfer was not approved");
    finish(sftp, 1);
  });
}

/** The connection's approval; the conversation goes to the channel's stderr. */
function askApproval(
  sftp: SFTPWrapper,
  approval: SftpApproval,
  recording: SessionRecording | undefined,
): Promise<boolean> {
  return approval.transfers.whenApproved({
    gate: { ...approval.gate, marker: (label) => recording?.marker(label) },
    line: "sftp",
    via: "sftp",
    write: (text) => writeStderr(sftp, text),
    ...(approval.reason === undefined ? {} : { reason: approval.reason }),
    onClose: (then) => sftp.once("close", then),
  });
}

/** What ssh2's SFTP server object keeps of its channel (it has no `exit` and no `stderr`). */
interface SftpChannelInternals {
  outgoing: { id: number; state: string; window: number };
  _protocol: {
    exitStatus(channel: number, status: number): void;
    channelExtData(channel: number, data: Buffer, type: number): void;
  };
}

/** Writes `text` on the channel's stderr while the client's window has room (a few lines, early on). */
function writeStderr(sftp: SFTPWrapper, text: string): void {
  const channel = sftp as unknown as SftpChannelInternals;
  const data = Buffer.from(text);
  if (channel.outgoing.state !== "open" || channel.outgoing.window < data.length) return;
  channel.outgoing.window -= data.length;
  channel._protocol.channelExtData(channel.outgoing.id, data, STDERR);
}

/**
 * Sends the exit status, then closes: OpenSSH's scp fails a copy whose
 * sftp channel ends without one, and ssh2's SFTP server never sends it.
 */
function finish(sftp: SFTPWrapper, status: number): void {
  const channel = sftp as unknown as SftpChannelInternals;
  if (channel.outgoing.state === "open") channel._protocol.exitStatus(channel.outgoing.id, status);
  sftp.end();
}

/** The recording; "refused" when it cannot be created and recordings are required. */
function openRecording(context: SftpChannelContext): SessionRecording | undefined | "refused" {
  try {
    return context.openRecording();
  } catch (error) {
    recordingProblem(context, `cannot record the session: ${errorMessage(error)}`);
    return context.recordingsRequired ? "refused" : undefined;
  }
}

/** A recording that cannot be written: a signal, and the channel's end when recordings are required. */
function recordingProblem(context: SftpChannelContext, reason: string): void {
  const action = context.recordingsRequired ? "deny" : "allow";
  context.integrity("recording", reason, { action });
}

/** ssh2's client takes `{ full: true }` (keeping "." and ".." in listings); its types omit it. */
type UpstreamSftp = SFTPWrapper & {
  readdir(
    handle: Buffer,
    options: { full: boolean },
    done: (error: Error | undefined, names: FileEntryWithStats[]) => void,
  ): void;
};

/** An SFTP session on the target and its home directory (the target's realpath of "."). */
async function openUpstreamSftp(
  context: SftpChannelContext,
): Promise<{ upstream: UpstreamSftp; home: string }> {
  const client = await context.upstream();
  const upstream = await new Promise<UpstreamSftp>((resolve, reject) =>
    client.sftp((error, sftp) =>
      error
        ? reject(new Error(`target refused sftp: ${error.message}`))
        : resolve(sftp as UpstreamSftp),
    ),
  );
  upstream.on("error", (error: Error) => {
    context.audit("upstream.error", { reason: `target's sftp: ${error.message}` });
  });
  const home = await new Promise<string>((resolve, reject) =>
    upstream.realpath(".", (error, path) =>
      error ? reject(new Error(`target's sftp has no home: ${error.message}`)) : resolve(path),
    ),
  );
  return { upstream, home };
}

/** Each SFTP request of the user's client to the mediator. */
function routeRequests(sftp: SFTPWrapper, mediator: SftpMediator): void {
  sftp.on("OPEN", (id, path, flags, attrs) => mediator.open(id, path, flags, attrs));
  sftp.on("READ", (id, handle, offset, length) => mediator.read(id, handle, offset, length));
  sftp.on("WRITE", (id, handle, offset, data) => mediator.write(id, handle, offset, data));
  sftp.on("CLOSE", (id, handle) => mediator.closeHandle(id, handle));
  sftp.on("FSTAT", (id, handle) => mediator.fstat(id, handle));
  sftp.on("FSETSTAT", (id, handle, attrs) => mediator.fsetstat(id, handle, attrs));
  sftp.on("OPENDIR", (id, path) => mediator.opendir(id, path));
  sftp.on("READDIR", (id, handle) => mediator.readdir(id, handle));
  sftp.on("STAT", (id, path) => mediator.stat(id, path, true));
  sftp.on("LSTAT", (id, path) => mediator.stat(id, path, false));
  sftp.on("SETSTAT", (id, path, attrs) => mediator.setstat(id, path, attrs));
  sftp.on("REMOVE", (id, path) => mediator.remove(id, path));
  sftp.on("RENAME", (id, from, to) => mediator.rename(id, from, to));
  sftp.on("MKDIR", (id, path, attrs) => mediator.mkdir(id, path, attrs));
  sftp.on("RMDIR", (id, path) => mediator.rmdir(id, path));
  sftp.on("REALPATH", (id, path) => mediator.realpath(id, path));
  sftp.on("READLINK", (id, path) => mediator.readlink(id, path));
  sftp.on("SYMLINK", (id, target, link) => mediator.symlink(id, target, link));
}

function auditEventOf(report: SftpReport): AuditEventName {
  return report.kind === "transfer" ? "file.transfer" : "file.op";
}

function auditFieldsOf(report: SftpReport): AuditFields {
  const outcome = {
    result: report.result,
    ...(report.reason === undefined ? {} : { reason: report.reason }),
    ...(report.rule === undefined ? {} : { rule: report.rule }),
  };
  if (report.kind === "operation") {
    return {
      op: report.op,
      path: report.path,
      ...(report.to ? { to: report.to } : {}),
      ...outcome,
    };
  }
  return {
    direction: report.direction,
    path: report.path,
    bytes: transferredBytes(report),
    bytes_read: report.bytesRead,
    bytes_written: report.bytesWritten,
    ...outcome,
  };
}

function transferredBytes(report: FileTransferReport): number {
  if (report.direction === "download") return report.bytesRead;
  if (report.direction === "upload") return report.bytesWritten;
  return report.bytesRead + report.bytesWritten;
}

/** `allow: download /var/log/syslog (5120 bytes)`, `deny: upload /etc/passwd (files#1)`. */
function markerOf(report: SftpReport): string {
  const decision = report.result === "denied" ? "deny" : "allow";
  const subject =
    report.kind === "transfer" ? `${report.direction} ${report.path}` : operationText(report);
  const details =
    report.result === "denied"
      ? (report.rule ?? report.reason ?? "")
      : [
          ...(report.kind === "transfer" ? [`${transferredBytes(report)} bytes`] : []),
          ...(report.result === "ok" ? [] : [report.result]),
          ...(report.reason === undefined ? [] : [report.reason]),
        ].join(", ");
  return `${decision}: ${subject}${details ? ` (${details})` : ""}`;
}

function operationText(report: FileOperationReport): string {
  return `${report.op} ${report.path}${report.to ? ` ${report.to}` : ""}`;
}
