// SFTP mediation for one channel: every request the user's client sends is
// decided by the file policy (src/policy/files.ts) and, when allowed,
// re-issued on the target's SFTP session with the resolved path; the
// target's answer goes back under the user's request id. Requests are
// forwarded as they come (a client's pipelined reads and writes stay
// pipelined) and answered when the target answers. Refusals are
// SSH_FX_PERMISSION_DENIED with a one-line message; the channel goes on.
// Each file closed, and each change or refusal, is reported (the caller
// audits and records it). Requests that arrive before the target's side is
// ready wait in order.

import { type FilePolicy, type FileVerdict, openAccess } from "../policy/files.js";
import { type FileHandle, HandleTable, type SessionTransfers } from "./handles.js";
import {
  knownStatus,
  type SftpAttributes,
  type SftpName,
  type SftpReplies,
  type SftpUpstream,
  STATUS,
  type UpstreamError,
} from "./protocol.js";

/** Longest read forwarded at once (OpenSSH's sftp-server answers at most 256 KiB as well). */
export const MAX_READ_BYTES = 256 * 1024;

export type TransferDirection = "download" | "upload" | "both";

export interface FileTransferReport {
  readonly kind: "transfer";
  readonly direction: TransferDirection;
  readonly path: string;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  /**
   * `limited`: closed after `max_download` refused one of its reads;
   * `interrupted`: the channel closed with the file still open.
   */
  readonly result: "ok" | "error" | "denied" | "limited" | "interrupted";
  /** Why it was refused or failed, or that `max_download` cut it short. */
  readonly reason?: string;
  readonly rule?: string;
}

export type FileOperation =
  | "remove"
  | "rename"
  | "mkdir"
  | "rmdir"
  | "setstat"
  | "symlink"
  | "stat"
  | "opendir"
  | "readlink";

export interface FileOperationReport {
  readonly kind: "operation";
  readonly op: FileOperation;
  readonly path: string;
  /** rename: the new path; symlink: the link's target. */
  readonly to?: string;
  readonly result: "ok" | "error" | "denied";
  readonly reason?: string;
  readonly rule?: string;
}

export type SftpReport = FileTransferReport | FileOperationReport;

export interface SftpMediatorOptions {
  replies: SftpReplies;
  /** Bytes moved by this session across its SFTP channels (max_download applies to the sum). */
  transfers: SessionTransfers;
  report(report: SftpReport): void;
}

const EMPTY = Buffer.alloc(0);

function directionOf(access: FileHandle["access"]): TransferDirection {
  if (access === "read") return "download";
  return access === "write" ? "upload" : "both";
}

function refusalMessage(verdict: Extract<FileVerdict, { decision: "deny" }>): string {
  return `portcullis: ${verdict.reason}${verdict.rule ? ` (rule ${verdict.rule})` : ""}`;
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

interface Attached {
  upstream: SftpUpstream;
  policy: FilePolicy;
}

export class SftpMediator {
  private readonly handles = new HandleTable();
  private attached: Attached | undefined;
  /** Requests waiting for `attach`; undefined once attached or aborted. */
  private waiting: Array<(side: Attached | undefined) => void> | undefined = [];
  private abortReason = "the target's sftp session is gone";

  constructor(private readonly options: SftpMediatorOptions) {}

  /** The target's side is ready: runs the waiting requests in order. */
  attach(upstream: SftpUpstream, policy: FilePolicy): void {
    this.attached = { upstream, policy };
    this.flush(this.attached);
  }

  /** The target's side could not be opened (or must stop): waiting and later requests fail with `reason`. */
  abort(reason: string): void {
    this.abortReason = reason;
    this.flush(undefined);
    this.attached?.upstream.end();
    this.attached = undefined;
  }

  /** The user's channel closed: open files are reported as interrupted, the target's side ends. */
  close(): void {
    this.flush(undefined);
    for (const file of this.handles.drain()) this.reportTransfer(file, "interrupted");
    this.attached?.upstream.end();
    this.attached = undefined;
  }

  open(reqId: number, path: string, pflags: number, attrs: SftpAttributes): void {
    this.withPolicy(reqId, ({ upstream, policy }) => {
      const resolved = policy.resolve(path);
      const access = openAccess(pflags);
      const verdict = policy.decide(access, resolved);
      const nothingMoved = {
        kind: "transfer",
        direction: directionOf(access),
        path: resolved,
        bytesRead: 0,
        bytesWritten: 0,
      } as const;
      if (verdict.decision === "deny") {
        this.report({ ...nothingMoved, result: "denied", ...denialFields(verdict) });
        return this.refuse(reqId, verdict);
      }
      upstream.open(resolved, pflags, attrs, (error, handle) => {
        if (error) {
          this.report({ ...nothingMoved, result: "error", reason: error.message });
          return this.fail(reqId, error);
        }
        const file: FileHandle = {
          kind: "file",
          upstream: handle,
          path: resolved,
          access,
          bytesRead: 0,
          bytesWritten: 0,
          limited: false,
        };
        this.options.replies.handle(reqId, this.handles.add(file));
      });
    });
  }

  read(reqId: number, handle: Buffer, offset: number, length: number): void {
    this.withFile(reqId, handle, "read", (upstream, file) => {
      if (length === 0) return this.options.replies.data(reqId, EMPTY);
      const wanted = Math.min(length, MAX_READ_BYTES);
      upstream.read(
        file.upstream,
        Buffer.allocUnsafe(wanted),
        0,
        wanted,
        offset,
        (error, bytes, data) => {
          if (error) return this.fail(reqId, error);
          if (bytes === 0) return this.options.replies.status(reqId, STATUS.EOF);
          const limit = this.attached?.policy.maxDownload;
          if (!this.options.transfers.takeDownload(bytes, limit)) {
            file.limited = true;
            return this.refuse(reqId, downloadLimitVerdict(limit));
          }
          file.bytesRead += bytes;
          this.options.replies.data(reqId, data.length === bytes ? data : data.subarray(0, bytes));
        },
      );
    });
  }

  write(reqId: number, handle: Buffer, offset: number, data: Buffer): void {
    this.withFile(reqId, handle, "write", (upstream, file) => {
      upstream.write(file.upstream, data, 0, data.length, offset, (error) => {
        if (error) return this.fail(reqId, error);
        file.bytesWritten += data.length;
        this.options.replies.status(reqId, STATUS.OK);
      });
    });
  }

  closeHandle(reqId: number, handle: Buffer): void {
    this.withPolicy(reqId, ({ upstream }) => {
      const state = this.handles.take(handle);
      if (state === undefined) return this.invalidHandle(reqId);
      upstream.close(state.upstream, (error) => {
        if (state.kind === "file") this.reportTransfer(state, error ? "error" : "ok", error);
        this.answer(reqId, error);
      });
    });
  }

  fstat(reqId: number, handle: Buffer): void {
    this.withPolicy(reqId, ({ upstream }) => {
      const state = this.handles.get(handle);
      if (state === undefined) return this.invalidHandle(reqId);
      upstream.fstat(state.upstream, (error, attrs) => this.answerAttrs(reqId, error, attrs));
    });
  }

  fsetstat(reqId: number, handle: Buffer, attrs: SftpAttributes): void {
    this.withPolicy(reqId, ({ upstream, policy }) => {
      const state = this.handles.get(handle);
      if (state === undefined) return this.invalidHandle(reqId);
      const verdict = policy.decide("modify", state.path);
      this.changed(reqId, "setstat", state.path, undefined, verdict, (done) =>
        upstream.fsetstat(state.upstream, attrs, done),
      );
    });
  }

  opendir(reqId: number, path: string): void {
    this.inspect(reqId, "opendir", path, (upstream, resolved) =>
      upstream.opendir(resolved, (error, handle) => {
        if (error) return this.fail(reqId, error);
        const directory = { kind: "directory" as const, upstream: handle, path: resolved };
        this.options.replies.handle(reqId, this.handles.add(directory));
      }),
    );
  }

  readdir(reqId: number, handle: Buffer): void {
    this.withPolicy(reqId, ({ upstream, policy }) => {
      const state = this.handles.get(handle);
      if (state?.kind !== "directory") return this.invalidHandle(reqId);
      const prefix = state.path === "/" ? "/" : `${state.path}/`;
      const shown = (entry: SftpName) =>
        entry.filename === "." ||
        entry.filename === ".." ||
        policy.visible(`${prefix}${entry.filename}`);
      // A batch the rules hide entirely is skipped: an empty NAME reply ends a listing.
      const next = () =>
        upstream.readdir(state.upstream, { full: true }, (error, names) => {
          if (error) return this.fail(reqId, error);
          const visible = names.filter(shown);
          if (visible.length === 0 && names.length > 0) return next();
          this.options.replies.name(reqId, visible);
        });
      next();
    });
  }

  stat(reqId: number, path: string, follow: boolean): void {
    this.inspect(reqId, "stat", path, (upstream, resolved) => {
      const done = (error: UpstreamError, attrs: SftpAttributes) =>
        this.answerAttrs(reqId, error, attrs);
      if (follow) upstream.stat(resolved, done);
      else upstream.lstat(resolved, done);
    });
  }

  readlink(reqId: number, path: string): void {
    this.inspect(reqId, "readlink", path, (upstream, resolved) =>
      upstream.readlink(resolved, (error, target) => this.answerName(reqId, error, target)),
    );
  }

  realpath(reqId: number, path: string): void {
    this.withPolicy(reqId, ({ upstream, policy }) =>
      upstream.realpath(policy.resolve(path), (error, resolved) =>
        this.answerName(reqId, error, resolved),
      ),
    );
  }

  setstat(reqId: number, path: string, attrs: SftpAttributes): void {
    this.modify(reqId, "setstat", path, (upstream, resolved, done) =>
      upstream.setstat(resolved, attrs, done),
    );
  }

  remove(reqId: number, path: string): void {
    this.modify(reqId, "remove", path, (upstream, resolved, done) =>
      upstream.unlink(resolved, done),
    );
  }

  mkdir(reqId: number, path: string, attrs: SftpAttributes): void {
    this.modify(reqId, "mkdir", path, (upstream, resolved, done) =>
      upstream.mkdir(resolved, attrs, done),
    );
  }

  rmdir(reqId: number, path: string): void {
    this.modify(reqId, "rmdir", path, (upstream, resolved, done) => upstream.rmdir(resolved, done));
  }

  rename(reqId: number, from: string, to: string): void {
    this.withPolicy(reqId, ({ upstream, policy }) => {
      const source = policy.resolve(from);
      const destination = policy.resolve(to);
      const verdict = firstDenial([
        policy.decide("modify", source),
        policy.decide("modify", destination),
      ]);
      this.changed(reqId, "rename", source, destination, verdict, (done) =>
        upstream.rename(source, destination, done),
      );
    });
  }

  /** `target` as written goes to the target; a relative one is checked against the link's directory. */
  symlink(reqId: number, target: string, link: string): void {
    this.withPolicy(reqId, ({ upstream, policy }) => {
      const linkPath = policy.resolve(link);
      const targetPath = target.startsWith("/")
        ? policy.resolve(target)
        : policy.resolve(`${parentOf(linkPath)}/${target}`);
      const verdict = firstDenial([
        policy.decide("modify", linkPath),
        policy.decide("modify", targetPath),
      ]);
      this.changed(reqId, "symlink", linkPath, targetPath, verdict, (done) =>
        upstream.symlink(target, linkPath, done),
      );
    });
  }

  private inspect(
    reqId: number,
    op: FileOperation,
    path: string,
    forward: (upstream: SftpUpstream, resolved: string) => void,
  ): void {
    this.withPolicy(reqId, ({ upstream, policy }) => {
      const resolved = policy.resolve(path);
      const verdict = policy.decide("inspect", resolved);
      if (verdict.decision === "allow") return forward(upstream, resolved);
      this.report({
        kind: "operation",
        op,
        path: resolved,
        result: "denied",
        ...denialFields(verdict),
      });
      this.refuse(reqId, verdict);
    });
  }

  private modify(
    reqId: number,
    op: FileOperation,
    path: string,
    forward: (
      upstream: SftpUpstream,
      resolved: string,
      done: (error: UpstreamError) => void,
    ) => void,
  ): void {
    this.withPolicy(reqId, ({ upstream, policy }) => {
      const resolved = policy.resolve(path);
      const verdict = policy.decide("modify", resolved);
      this.changed(reqId, op, resolved, undefined, verdict, (done) =>
        forward(upstream, resolved, done),
      );
    });
  }

  /** A change: refused and reported, or forwarded and reported with its outcome. */
  private changed(
    reqId: number,
    op: FileOperation,
    path: string,
    to: string | undefined,
    verdict: FileVerdict,
    forward: (done: (error: UpstreamError) => void) => void,
  ): void {
    const subject = { kind: "operation" as const, op, path, ...(to === undefined ? {} : { to }) };
    if (verdict.decision === "deny") {
      this.report({ ...subject, result: "denied", ...denialFields(verdict) });
      this.refuse(reqId, verdict);
      return;
    }
    forward((error) => {
      this.report({ ...subject, result: error ? "error" : "ok", ...errorFields(error) });
      this.answer(reqId, error);
    });
  }

  private withFile(
    reqId: number,
    handle: Buffer,
    use: "read" | "write",
    run: (upstream: SftpUpstream, file: FileHandle) => void,
  ): void {
    this.withPolicy(reqId, ({ upstream }) => {
      const state = this.handles.get(handle);
      if (state?.kind !== "file") return this.invalidHandle(reqId);
      if (state.access !== use && state.access !== "readwrite") {
        const message = `portcullis: the file was not opened for ${use === "read" ? "reading" : "writing"}`;
        return this.options.replies.status(reqId, STATUS.PERMISSION_DENIED, message);
      }
      run(upstream, state);
    });
  }

  /** Runs `run` once the target's side is attached; fails the request when it never will be. */
  private withPolicy(reqId: number, run: (side: Attached) => void): void {
    const go = (side: Attached | undefined) =>
      side ? run(side) : this.options.replies.status(reqId, STATUS.FAILURE, this.abortReason);
    if (this.waiting) this.waiting.push(go);
    else go(this.attached);
  }

  private flush(side: Attached | undefined): void {
    const waiting = this.waiting ?? [];
    this.waiting = undefined;
    for (const go of waiting) go(side);
  }

  private reportTransfer(
    file: FileHandle,
    result: "ok" | "error" | "interrupted",
    error?: UpstreamError,
  ): void {
    const limit = this.attached?.policy.maxDownload;
    const cut = file.limited && result === "ok";
    this.report({
      kind: "transfer",
      direction: directionOf(file.access),
      path: file.path,
      bytesRead: file.bytesRead,
      bytesWritten: file.bytesWritten,
      result: cut ? "limited" : result,
      ...(cut ? { reason: downloadLimitVerdict(limit).reason } : errorFields(error)),
    });
  }

  private report(report: SftpReport): void {
    this.options.report(report);
  }

  private refuse(reqId: number, verdict: Extract<FileVerdict, { decision: "deny" }>): void {
    this.options.replies.status(reqId, STATUS.PERMISSION_DENIED, refusalMessage(verdict));
  }

  private invalidHandle(reqId: number): void {
    this.options.replies.status(reqId, STATUS.FAILURE, "portcullis: invalid handle");
  }

  private fail(reqId: number, error: NonNullable<UpstreamError>): void {
    this.options.replies.status(reqId, knownStatus(error.code), error.message);
  }

  private answer(reqId: number, error: UpstreamError): void {
    if (error) this.fail(reqId, error);
    else this.options.replies.status(reqId, STATUS.OK);
  }

  private answerAttrs(reqId: number, error: UpstreamError, attrs: SftpAttributes): void {
    if (error) this.fail(reqId, error);
    else this.options.replies.attrs(reqId, attrs);
  }

  private answerName(reqId: number, error: UpstreamError, filename: string): void {
    if (error) this.fail(reqId, error);
    else this.options.replies.name(reqId, [{ filename, longname: filename, attrs: {} }]);
  }
}

function downloadLimitVerdict(
  limit: number | undefined,
): Extract<FileVerdict, { decision: "deny" }> {
  return { decision: "deny", reason: `download limit reached (max_download ${limit ?? 0} bytes)` };
}

function firstDenial(verdicts: readonly FileVerdict[]): FileVerdict {
  return verdicts.find((verdict) => verdict.decision === "deny") ?? { decision: "allow" };
}

function denialFields(verdict: Extract<FileVerdict, { decision: "deny" }>) {
  return { reason: verdict.reason, ...(verdict.rule === undefined ? {} : { rule: verdict.rule }) };
}

function errorFields(error: UpstreamError | undefined) {
  return error ? { reason: error.message } : {};
}
