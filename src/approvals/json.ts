// A request and a grant as JSON objects (snake_case keys, ISO times, null
// for absent values): the webhook body's `approval` and the CLI's `--json`.
import type { ApprovalRequest, SessionGrant } from "./types.js";

export function approvalJson(request: ApprovalRequest) {
  return {
    id: request.id,
    kind: request.kind,
    status: request.status,
    requester: request.requester.user,
    requester_groups: request.requester.groups,
    session: request.session,
    target: request.target,
    login: request.login ?? null,
    line: request.line,
    rule: request.rule,
    reason: request.reason,
    justification: request.justification ?? null,
    approvers: request.approvers,
    quorum: request.quorum,
    reuse_ms: request.reuseMs ?? null,
    grant_ms: request.grantMs ?? null,
    created: request.created.toISOString(),
    expires: request.expires.toISOString(),
    decided_at: request.decidedAt?.toISOString() ?? null,
    decided_by: request.decidedBy,
    comment: request.comment ?? null,
    votes: request.votes.map((vote) => ({
      approver: vote.approver,
      verdict: vote.verdict,
      comment: vote.comment ?? null,
      at: vote.at.toISOString(),
      via: vote.via,
    })),
  };
}

export function grantJson(grant: SessionGrant) {
  return {
    id: grant.id,
    request: grant.request,
    user: grant.user,
    target: grant.target,
    granted: grant.granted.toISOString(),
    expires: grant.expires.toISOString(),
    revoked_at: grant.revokedAt?.toISOString() ?? null,
    revoked_by: grant.revokedBy ?? null,
  };
}
