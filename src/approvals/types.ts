// The approvals module's public shapes (SPEC §8, issue 7): a request for a
// second pair of eyes on one command line, a session or a connection's file
// transfers, the votes on it, the grant a session approval gives, and the
// service the SSH data path, the approver console and the CLI share. One
// store, every channel final.
import type { Principals } from "../policy/types.js";
import { PortcullisError } from "../util/errors.js";

export type ApprovalKind = "command" | "session" | "file_transfer";
export type ApprovalStatus = "pending" | "approved" | "denied" | "expired" | "withdrawn";
export type ApprovalVerdict = "approve" | "deny";

export interface Principal {
  readonly user: string;
  readonly groups: readonly string[];
}

/** Who may decide: the policy's users and groups. */
export type ApproverSet = Principals;

export interface NewApprovalRequest {
  readonly kind: ApprovalKind;
  readonly requester: Principal;
  /** The session that asks (its id in the audit log). */
  readonly session: string;
  readonly target: string;
  readonly login?: string;
  /** The exact command line, "session" for a session approval, the first transfer ("sftp", `scp -f …`) for a file transfer approval. */
  readonly line: string;
  /** The rule id (`ruleset#N`) or `access:<entry>` for a session or file transfer approval. */
  readonly rule: string;
  readonly reason: string;
  readonly approvers: ApproverSet;
  /** Distinct approvers needed (default 1). */
  readonly quorum: number;
  /** Command: an approved exact line may run again without asking within this window. */
  readonly reuseMs?: number;
  /** Session: how long the grant lasts once approved. */
  readonly grantMs?: number;
  readonly justification?: string;
  /** How long the request waits for a decision. */
  readonly timeoutMs: number;
}

export interface ApprovalVote {
  readonly approver: string;
  readonly verdict: ApprovalVerdict;
  readonly comment?: string;
  readonly at: Date;
  /** Where it came from: "ssh", "cli", "web", … */
  readonly via: string;
}

export interface ApprovalRequest extends NewApprovalRequest {
  /** Short, unique, easy to type (e.g. "a7k2m9"). */
  readonly id: string;
  readonly created: Date;
  readonly expires: Date;
  readonly status: ApprovalStatus;
  readonly votes: readonly ApprovalVote[];
  /** Set once the request left pending. */
  readonly decidedAt?: Date;
  /** The approvers whose votes decided it (all approving votes, or the denying one). */
  readonly decidedBy: readonly string[];
  /** The deciding comment (a denial's, or the last approval's). */
  readonly comment?: string;
}

/** What a waiting session learns once its request left pending. */
export interface ApprovalOutcome {
  readonly status: Exclude<ApprovalStatus, "pending">;
  readonly request: ApprovalRequest;
}

export interface SessionGrant {
  readonly id: string;
  /** The approval request that granted it. */
  readonly request: string;
  readonly user: string;
  readonly target: string;
  readonly granted: Date;
  readonly expires: Date;
  readonly revokedAt?: Date;
  readonly revokedBy?: string;
}

/** The approvals service, one per server process; every method is safe to call from the data path. */
export interface Approvals {
  /** Stores, audits (`approval.requested`) and announces (webhook) a new request. */
  request(input: NewApprovalRequest): ApprovalRequest;
  /**
   * Resolves once the request leaves pending: decided here or in another
   * process (seen within a second), expired, or withdrawn.
   */
  outcome(id: string): Promise<ApprovalOutcome>;
  /** The requester gives up (Ctrl-C, channel closed); a no-op unless pending. */
  withdraw(id: string, by: string): void;
  /** One approver's vote; throws ApprovalError (one line) when it is not allowed. */
  decide(
    id: string,
    approver: Principal,
    verdict: ApprovalVerdict,
    comment: string | undefined,
    via: string,
  ): ApprovalRequest;
  get(id: string): ApprovalRequest | undefined;
  /** Pending requests; with `approver`, only those that principal may decide. */
  pending(approver?: Principal): ApprovalRequest[];
  /** The most recent requests in every status, newest first (default 100). */
  recent(limit?: number): ApprovalRequest[];
  /** Requests no longer pending, newest first: `limit` of them after skipping `offset`. */
  history(limit: number, offset?: number): ApprovalRequest[];
  /**
   * An approved request for exactly this line whose reuse window is still
   * open; finding one audits `approval.reused` (with `session` when given).
   */
  reusable(
    requester: string,
    target: string,
    line: string,
    session?: string,
  ): ApprovalRequest | undefined;
  /** The grant letting `user` open sessions to `target` now, if any. */
  activeGrant(user: string, target: string): SessionGrant | undefined;
  grants(): SessionGrant[];
  revokeGrant(id: string, by: string): SessionGrant;
  /** Stops timers and polling, rejects the waiting `outcome`s (ERR_APPROVALS_CLOSED), closes the store. */
  close(): void;
}

/** An expected refusal (self-approval, not an approver, not pending, …); the message is one line. */
export class ApprovalError extends PortcullisError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = "ApprovalError";
  }
}
