// The approval rules, pure (time is passed in): who may decide a request
// (a listed user or a member of a listed group; never the requester; once
// each), what a vote does to it (a quorum of distinct approvals approves it,
// any denial denies it), expiry, withdrawal, the reuse window of an approved
// line and the grant an approved session request gives.
import {
  ApprovalError,
  type ApprovalRequest,
  type ApprovalVote,
  type ApproverSet,
  type Principal,
  type SessionGrant,
} from "./types.js";

export function isApprover(approvers: ApproverSet, principal: Principal): boolean {
  return (
    approvers.users.includes(principal.user) ||
    principal.groups.some((group) => approvers.groups.includes(group))
  );
}

/** Pending and not yet past its deadline. */
export function isOpen(request: ApprovalRequest, now: Date): boolean {
  return request.status === "pending" && now.getTime() < request.expires.getTime();
}

/** Pending but past its deadline: to be marked expired. */
export function isOverdue(request: ApprovalRequest, now: Date): boolean {
  return request.status === "pending" && now.getTime() >= request.expires.getTime();
}

export function describeApprovers(approvers: ApproverSet): string {
  const parts = [
    approvers.users.length > 0 ? `users ${approvers.users.join(", ")}` : "",
    approvers.groups.length > 0 ? `groups ${approvers.groups.join(", ")}` : "",
  ].filter((part) => part !== "");
  return parts.length > 0 ? parts.join("; ") : "nobody";
}

/** Throws ApprovalError (one line) unless `approver` may vote on `request` now. */
export function checkVoter(request: ApprovalRequest, approver: Principal, now: Date): void {
  const { id } = request;
  if (request.status !== "pending") {
    throw new ApprovalError(
      "ERR_APPROVAL_NOT_PENDING",
      `approval ${id} is already ${request.status}`,
    );
  }
  if (isOverdue(request, now)) {
    throw new ApprovalError(
      "ERR_APPROVAL_EXPIRED",
      `approval ${id} expired at ${request.expires.toISOString()}`,
    );
  }
  if (approver.user === request.requester.user) {
    throw new ApprovalError(
      "ERR_APPROVAL_SELF",
      `${approver.user} cannot decide their own request ${id}`,
    );
  }
  if (!isApprover(request.approvers, approver)) {
    throw new ApprovalError(
      "ERR_APPROVAL_NOT_APPROVER",
      `${approver.user} is not an approver of ${id} (approvers: ${describeApprovers(request.approvers)})`,
    );
  }
  if (request.votes.some((vote) => vote.approver === approver.user)) {
    throw new ApprovalError(
      "ERR_APPROVAL_ALREADY_VOTED",
      `${approver.user} already voted on approval ${id}`,
    );
  }
}

/** Whether `approver` may vote on `request` now. */
export function mayDecide(request: ApprovalRequest, approver: Principal, now: Date): boolean {
  try {
    checkVoter(request, approver, now);
    return true;
  } catch (error) {
    if (error instanceof ApprovalError) return false;
    throw error;
  }
}

/** The distinct approvers who approved, in voting order. */
export function approvingVoters(request: ApprovalRequest): string[] {
  const voters = request.votes
    .filter((vote) => vote.verdict === "approve")
    .map((vote) => vote.approver);
  return [...new Set(voters)];
}

/**
 * The request with `vote` counted (checked with checkVoter first): denied by
 * any denial, approved once `quorum` distinct approvers approved, else still
 * pending with one more vote.
 */
export function applyVote(
  request: ApprovalRequest,
  approver: Principal,
  vote: ApprovalVote,
): ApprovalRequest {
  checkVoter(request, approver, vote.at);
  const voted: ApprovalRequest = { ...request, votes: [...request.votes, vote] };
  const comment = vote.comment === undefined ? {} : { comment: vote.comment };
  if (vote.verdict === "deny") {
    return {
      ...voted,
      ...comment,
      status: "denied",
      decidedAt: vote.at,
      decidedBy: [vote.approver],
    };
  }
  const approvers = approvingVoters(voted);
  if (approvers.length < request.quorum) return voted;
  return { ...voted, ...comment, status: "approved", decidedAt: vote.at, decidedBy: approvers };
}

/** The request marked expired, or undefined when it is not overdue at `now`. */
export function expire(request: ApprovalRequest, now: Date): ApprovalRequest | undefined {
  if (!isOverdue(request, now)) return undefined;
  return { ...request, status: "expired", decidedAt: now };
}

/** The request marked withdrawn, or undefined when it is no longer pending. */
export function withdraw(request: ApprovalRequest, now: Date): ApprovalRequest | undefined {
  if (request.status !== "pending") return undefined;
  return { ...request, status: "withdrawn", decidedAt: now };
}

/** Until when an approved command line may run again without asking; undefined without a window. */
export function reuseUntil(request: ApprovalRequest): Date | undefined {
  if (request.kind !== "command" || request.status !== "approved") return undefined;
  if (request.reuseMs === undefined || request.reuseMs <= 0 || request.decidedAt === undefined) {
    return undefined;
  }
  return new Date(request.decidedAt.getTime() + request.reuseMs);
}

/** The grant an approved session request gives (same id as the request); none without `grantMs`. */
export function grantFor(request: ApprovalRequest): SessionGrant | undefined {
  if (request.kind !== "session" || request.status !== "approved") return undefined;
  if (request.grantMs === undefined || request.decidedAt === undefined) return undefined;
  return {
    id: request.id,
    request: request.id,
    user: request.requester.user,
    target: request.target,
    granted: request.decidedAt,
    expires: new Date(request.decidedAt.getTime() + request.grantMs),
  };
}

/** Checks a new request's numbers and approvers; throws ApprovalError when it could never be decided. */
export function checkNewRequest(input: {
  readonly quorum: number;
  readonly timeoutMs: number;
  readonly approvers: ApproverSet;
  readonly reuseMs?: number;
  readonly grantMs?: number;
}): void {
  const problems = [
    Number.isInteger(input.quorum) && input.quorum >= 1 ? "" : "quorum must be an integer ≥ 1",
    input.timeoutMs > 0 ? "" : "timeout must be positive",
    input.approvers.users.length + input.approvers.groups.length > 0 ? "" : "no approvers",
    input.reuseMs === undefined || input.reuseMs >= 0 ? "" : "reuse must not be negative",
    input.grantMs === undefined || input.grantMs > 0 ? "" : "grant must be positive",
  ].filter((problem) => problem !== "");
  if (problems.length > 0) {
    throw new ApprovalError(
      "ERR_APPROVAL_INVALID",
      `invalid approval request: ${problems.join(", ")}`,
    );
  }
}
