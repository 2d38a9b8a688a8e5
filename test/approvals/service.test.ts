// The approvals service (src/approvals/service.ts): audit events for every
// transition, outcomes at once for a decision in this process and within a
// second for one made on another connection, expiry, withdrawal, the reuse
// window, session grants and their revocation.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApprovalError } from "../../src/approvals/index.js";
import { alice, bob, carol, commandRequest, dave, delay, openService } from "./helpers.js";

describe("outcome", () => {
  test("a decision in this process resolves the waiter at once, audited", async () => {
    const { approvals, audit } = openService();
    const request = approvals.request(commandRequest());
    assert.match(request.id, /^[2-9a-km-np-z]{6}$/);
    const waiting = approvals.outcome(request.id);
    const started = performance.now();
    approvals.decide(request.id, bob, "approve", "looks fine", "ssh");
    const outcome = await waiting;
    assert.ok(performance.now() - started < 50);
    assert.equal(outcome.status, "approved");
    assert.deepEqual(
      audit.events.map((event) => event.event),
      ["approval.requested", "approval.approved"],
    );
    assert.deepEqual(audit.named("approval.approved")[0]?.fields, {
      session: request.session,
      user: alice.user,
      target: "web1",
      login: "deploy",
      id: request.id,
      kind: "command",
      line: "systemctl restart nginx",
      rule: "prod#1",
      approver: bob.user,
      verdict: "approve",
      via: "ssh",
      comment: "looks fine",
      votes: 1,
      quorum: 1,
      decided_by: [bob.user],
    });
  });

  test("a decision written on another connection reaches the waiter within a second", async () => {
    const server = openService();
    const cli = openService({ path: server.path, background: false });
    const request = server.approvals.request(commandRequest());
    const waiting = server.approvals.outcome(request.id);
    const started = performance.now();
    cli.approvals.decide(request.id, bob, "deny", "not now", "cli");
    const outcome = await waiting;
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `took ${elapsed} ms`);
    assert.equal(outcome.status, "denied");
    assert.equal(outcome.request.comment, "not now");
    assert.equal(
      server.audit.named("approval.denied").length,
      0,
      "audited by the deciding process",
    );
    assert.equal(cli.audit.named("approval.denied").length, 1);
  });

  test("an unknown id is refused", async () => {
    const { approvals } = openService();
    await assert.rejects(approvals.outcome("nope42"), { code: "ERR_APPROVAL_NOT_FOUND" });
    assert.throws(() => approvals.decide("nope42", bob, "approve", undefined, "ssh"), {
      code: "ERR_APPROVAL_NOT_FOUND",
      message: "no approval request nope42",
    });
  });

  test("votes before the quorum are audited, the decision once", async () => {
    const { approvals, audit } = openService();
    const request = approvals.request(commandRequest({ quorum: 2 }));
    const waiting = approvals.outcome(request.id);
    assert.equal(approvals.decide(request.id, bob, "approve", undefined, "ssh").status, "pending");
    assert.throws(() => approvals.decide(request.id, alice, "approve", undefined, "ssh"), {
      code: "ERR_APPROVAL_SELF",
    });
    assert.throws(() => approvals.decide(request.id, dave, "approve", undefined, "ssh"), {
      code: "ERR_APPROVAL_NOT_APPROVER",
    });
    approvals.decide(request.id, carol, "approve", undefined, "web");
    assert.equal((await waiting).status, "approved");
    assert.equal(audit.named("approval.vote").length, 1);
    assert.deepEqual(audit.named("approval.approved")[0]?.fields.decided_by, [
      bob.user,
      carol.user,
    ]);
  });
});

describe("pending", () => {
  test("lists open requests, and for an approver only those they may decide", () => {
    const { approvals } = openService();
    const forLeads = approvals.request(commandRequest());
    const forDave = approvals.request(
      commandRequest({ approvers: { users: [dave.user], groups: [] } }),
    );
    const own = approvals.request(commandRequest({ requester: bob }));
    const ids = (list: { id: string }[]) => list.map((request) => request.id).sort();
    assert.deepEqual(ids(approvals.pending()), [forLeads.id, forDave.id, own.id].sort());
    assert.deepEqual(ids(approvals.pending(bob)), [forLeads.id]);
    assert.deepEqual(ids(approvals.pending(dave)), [forDave.id]);
    assert.deepEqual(ids(approvals.recent()), [forLeads.id, forDave.id, own.id].sort());
  });
});

describe("expiry and withdrawal", () => {
  test("an undecided request expires at its deadline and the waiter learns it", async () => {
    const { approvals, audit } = openService();
    const request = approvals.request(commandRequest({ timeoutMs: 100 }));
    const outcome = await approvals.outcome(request.id);
    assert.equal(outcome.status, "expired");
    assert.ok(outcome.request.decidedAt !== undefined);
    assert.ok(outcome.request.decidedAt.getTime() >= request.expires.getTime());
    assert.equal(audit.named("approval.expired").length, 1);
    assert.throws(() => approvals.decide(request.id, bob, "approve", undefined, "ssh"), {
      code: "ERR_APPROVAL_NOT_PENDING",
    });
  });

  test("a vote after the deadline (before the timer) expires the request and is refused", () => {
    let now = new Date("2026-11-23T10:00:00Z");
    const { approvals, audit } = openService({ now: () => now, background: false });
    const request = approvals.request(commandRequest({ timeoutMs: 1000 }));
    now = new Date(now.getTime() + 1000);
    assert.throws(() => approvals.decide(request.id, bob, "approve", undefined, "cli"), {
      code: "ERR_APPROVAL_EXPIRED",
    });
    assert.equal(approvals.get(request.id)?.status, "expired");
    assert.equal(audit.named("approval.expired").length, 1);
    assert.deepEqual(approvals.pending(), []);
  });

  test("withdrawal ends the wait; a withdrawn request cannot be approved", async () => {
    const { approvals, audit } = openService();
    const request = approvals.request(commandRequest());
    const waiting = approvals.outcome(request.id);
    approvals.withdraw(request.id, alice.user);
    assert.equal((await waiting).status, "withdrawn");
    approvals.withdraw(request.id, alice.user);
    assert.equal(audit.named("approval.withdrawn").length, 1);
    assert.equal(audit.named("approval.withdrawn")[0]?.fields.by, alice.user);
    assert.throws(() => approvals.decide(request.id, bob, "approve", undefined, "ssh"), {
      code: "ERR_APPROVAL_NOT_PENDING",
      message: `approval ${request.id} is already withdrawn`,
    });
  });
});

describe("reuse window", () => {
  test("the same approved line may run again within the window, audited; another line may not", () => {
    let now = new Date("2026-11-23T10:00:00Z");
    const { approvals, audit } = openService({ now: () => now });
    const request = approvals.request(commandRequest({ reuseMs: 15 * 60_000 }));
    const line = "systemctl restart nginx";
    assert.equal(approvals.reusable(alice.user, "web1", line), undefined, "not approved yet");
    approvals.decide(request.id, bob, "approve", undefined, "ssh");
    now = new Date(now.getTime() + 14 * 60_000);
    assert.equal(approvals.reusable(alice.user, "web1", line, "s2")?.id, request.id);
    const reused = audit.named("approval.reused");
    assert.equal(reused.length, 1);
    assert.equal(reused[0]?.fields.session, "s2");
    assert.equal(approvals.reusable(alice.user, "web1", `${line} `), undefined);
    assert.equal(approvals.reusable(alice.user, "web2", line), undefined);
    assert.equal(approvals.reusable(dave.user, "web1", line), undefined);
    now = new Date(now.getTime() + 60_000);
    assert.equal(approvals.reusable(alice.user, "web1", line), undefined, "window closed");
  });

  test("without reuse, an approval is good for one run", () => {
    const { approvals } = openService();
    const request = approvals.request(commandRequest());
    approvals.decide(request.id, bob, "approve", undefined, "ssh");
    assert.equal(approvals.reusable(alice.user, "web1", request.line), undefined);
  });
});

describe("session grants", () => {
  test("an approved session request grants access for its window; revoked, it ends", () => {
    const now = new Date("2026-11-23T10:00:00Z");
    const { approvals, audit } = openService({ now: () => now });
    const request = approvals.request(
      commandRequest({ kind: "session", line: "session", rule: "access:web", grantMs: 3_600_000 }),
    );
    assert.equal(approvals.activeGrant(alice.user, "web1"), undefined);
    approvals.decide(request.id, bob, "approve", undefined, "ssh");
    const grant = approvals.activeGrant(alice.user, "web1");
    assert.equal(grant?.id, request.id);
    assert.deepEqual(grant?.expires, new Date("2026-11-23T11:00:00Z"));
    assert.equal(
      audit.named("approval.approved")[0]?.fields.grant_expires,
      "2026-11-23T11:00:00.000Z",
    );
    assert.equal(approvals.activeGrant(alice.user, "web2"), undefined);
    assert.equal(approvals.activeGrant(bob.user, "web1"), undefined);
    assert.equal(approvals.grants().length, 1);

    const revoked = approvals.revokeGrant(request.id, carol.user);
    assert.equal(revoked.revokedBy, carol.user);
    assert.equal(approvals.activeGrant(alice.user, "web1"), undefined);
    assert.equal(audit.named("grant.revoked")[0]?.fields.by, carol.user);
    assert.throws(() => approvals.revokeGrant(request.id, carol.user), {
      code: "ERR_GRANT_REVOKED",
    });
    assert.throws(() => approvals.revokeGrant("zzzzzz", carol.user), {
      code: "ERR_GRANT_NOT_FOUND",
    });
  });

  test("a grant ends at its expiry and cannot be revoked afterwards", () => {
    let now = new Date("2026-11-23T10:00:00Z");
    const { approvals } = openService({ now: () => now });
    const request = approvals.request(
      commandRequest({ kind: "session", line: "session", grantMs: 60_000 }),
    );
    approvals.decide(request.id, bob, "approve", undefined, "ssh");
    now = new Date(now.getTime() + 60_000);
    assert.equal(approvals.activeGrant(alice.user, "web1"), undefined);
    assert.throws(() => approvals.revokeGrant(request.id, carol.user), {
      code: "ERR_GRANT_EXPIRED",
    });
  });

  test("a denied session request grants nothing", () => {
    const { approvals } = openService();
    const request = approvals.request(
      commandRequest({ kind: "session", line: "session", grantMs: 60_000 }),
    );
    approvals.decide(request.id, bob, "deny", "no", "ssh");
    assert.deepEqual(approvals.grants(), []);
  });
});

test("a request with no approvers is refused before it is stored", () => {
  const { approvals } = openService();
  assert.throws(
    () => approvals.request(commandRequest({ approvers: { users: [], groups: [] } })),
    (error: unknown) => error instanceof ApprovalError && error.code === "ERR_APPROVAL_INVALID",
  );
  assert.deepEqual(approvals.recent(), []);
});

test("the outcome of a request decided earlier resolves at once", async () => {
  const { approvals } = openService();
  const request = approvals.request(commandRequest());
  approvals.decide(request.id, bob, "approve", undefined, "cli");
  const outcome = await Promise.race([approvals.outcome(request.id), delay(10)]);
  assert.equal(outcome?.status, "approved");
});
