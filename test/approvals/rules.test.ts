// The pure approval rules (src/approvals/rules.ts): who may decide, what a
// vote does (quorum of distinct approvers, deny wins), expiry, withdrawal,
// the reuse window and the grant of an approved session request.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  applyVote,
  checkNewRequest,
  expire,
  grantFor,
  isApprover,
  mayDecide,
  reuseUntil,
  withdraw,
} from "../../src/approvals/rules.js";
import {
  ApprovalError,
  type ApprovalRequest,
  type ApprovalVerdict,
  type Principal,
} from "../../src/approvals/types.js";
import { alice, bob, carol, commandRequest, dave } from "./helpers.js";

const T0 = Date.parse("2026-11-23T10:00:00Z");
const at = (offsetMs: number) => new Date(T0 + offsetMs);

function pending(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    ...commandRequest(),
    id: "a7k2m9",
    created: at(0),
    expires: at(60_000),
    status: "pending",
    votes: [],
    decidedBy: [],
    ...overrides,
  };
}

function vote(
  request: ApprovalRequest,
  who: Principal,
  verdict: ApprovalVerdict = "approve",
  offsetMs = 1000,
  comment?: string,
): ApprovalRequest {
  return applyVote(request, who, {
    approver: who.user,
    verdict,
    at: at(offsetMs),
    via: "ssh",
    ...(comment === undefined ? {} : { comment }),
  });
}

function refusal(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof ApprovalError, String(error));
    assert.equal(error.code, code);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  };
}

describe("who may decide", () => {
  test("a listed user or a member of a listed group", () => {
    const approvers = { users: ["dave@example.com"], groups: ["leads"] };
    assert.equal(isApprover(approvers, bob), true);
    assert.equal(isApprover(approvers, dave), true);
    assert.equal(isApprover(approvers, { user: "eve@example.com", groups: ["ops"] }), false);
  });

  test("nobody approves their own request, even when listed", () => {
    const request = pending({ approvers: { users: [alice.user], groups: ["ops"] } });
    assert.throws(() => vote(request, alice), refusal("ERR_APPROVAL_SELF"));
    assert.equal(mayDecide(request, alice, at(1000)), false);
  });

  test("a non-approver is refused, naming who may decide", () => {
    assert.throws(
      () => vote(pending(), dave),
      (error: unknown) =>
        refusal("ERR_APPROVAL_NOT_APPROVER")(error) &&
        /dave@example.com is not an approver of a7k2m9 \(approvers: groups leads\)/.test(
          (error as Error).message,
        ),
    );
  });

  test("nobody votes twice", () => {
    const once = vote(pending({ quorum: 2 }), bob);
    assert.throws(() => vote(once, bob, "approve", 2000), refusal("ERR_APPROVAL_ALREADY_VOTED"));
    assert.throws(() => vote(once, bob, "deny", 2000), refusal("ERR_APPROVAL_ALREADY_VOTED"));
  });

  test("a decided or expired request takes no vote", () => {
    const approved = vote(pending(), bob);
    assert.throws(() => vote(approved, carol), refusal("ERR_APPROVAL_NOT_PENDING"));
    assert.throws(() => vote(pending(), bob, "approve", 60_000), refusal("ERR_APPROVAL_EXPIRED"));
  });
});

describe("votes", () => {
  test("one approval decides a quorum of 1", () => {
    const approved = vote(pending(), bob, "approve", 1000, "go ahead");
    assert.equal(approved.status, "approved");
    assert.deepEqual(approved.decidedBy, [bob.user]);
    assert.deepEqual(approved.decidedAt, at(1000));
    assert.equal(approved.comment, "go ahead");
  });

  test("a quorum of 2 needs two distinct approvers", () => {
    const first = vote(pending({ quorum: 2 }), bob);
    assert.equal(first.status, "pending");
    assert.equal(first.votes.length, 1);
    assert.equal(first.decidedAt, undefined);
    const second = vote(first, carol, "approve", 2000);
    assert.equal(second.status, "approved");
    assert.deepEqual(second.decidedBy, [bob.user, carol.user]);
    assert.deepEqual(second.decidedAt, at(2000));
  });

  test("any denial denies, even after approvals", () => {
    const first = vote(pending({ quorum: 2 }), bob);
    const denied = vote(first, carol, "deny", 2000, "not during the sale");
    assert.equal(denied.status, "denied");
    assert.deepEqual(denied.decidedBy, [carol.user]);
    assert.equal(denied.comment, "not during the sale");
  });
});

describe("expiry and withdrawal", () => {
  test("a request expires at its deadline, not before", () => {
    assert.equal(expire(pending(), at(59_999)), undefined);
    const expired = expire(pending(), at(60_000));
    assert.equal(expired?.status, "expired");
    assert.deepEqual(expired?.decidedAt, at(60_000));
    assert.equal(expire(vote(pending(), bob), at(70_000)), undefined);
  });

  test("only a pending request can be withdrawn", () => {
    assert.equal(withdraw(pending(), at(5))?.status, "withdrawn");
    assert.equal(withdraw(vote(pending(), bob), at(5000)), undefined);
  });
});

describe("after approval", () => {
  test("the reuse window starts at the decision", () => {
    assert.deepEqual(reuseUntil(vote(pending({ reuseMs: 900_000 }), bob)), at(901_000));
    assert.equal(reuseUntil(vote(pending(), bob)), undefined);
    assert.equal(reuseUntil(vote(pending({ reuseMs: 900_000 }), bob, "deny")), undefined);
  });

  test("an approved session request grants access for grantMs", () => {
    const session = pending({ kind: "session", line: "session", grantMs: 3_600_000 });
    assert.deepEqual(grantFor(vote(session, bob)), {
      id: "a7k2m9",
      request: "a7k2m9",
      user: alice.user,
      target: "web1",
      granted: at(1000),
      expires: at(3_601_000),
    });
    assert.equal(grantFor(vote(pending(), bob)), undefined);
    assert.equal(grantFor(session), undefined);
  });
});

test("a request nobody could ever decide is refused", () => {
  assert.throws(
    () => checkNewRequest({ quorum: 0, timeoutMs: 0, approvers: { users: [], groups: [] } }),
    (error: unknown) =>
      refusal("ERR_APPROVAL_INVALID")(error) &&
      (error as Error).message ===
        "invalid approval request: quorum must be an integer ≥ 1, timeout must be positive, no approvers",
  );
});
