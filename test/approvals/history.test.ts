// Tests for the approvals history (`Approvals.history`, used by the web
// viewer's approvals page): only requests that left pending, newest first,
// paged by limit and offset.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bob, commandRequest, openService } from "./helpers.js";

describe("history", () => {
  test("lists decided requests newest first, paged, without the pending ones", () => {
    let clock = Date.parse("2026-11-22T10:00:00Z");
    const tick = () => {
      clock += 1000; // every request a second after the previous one: a strict order
      return new Date(clock);
    };
    const { approvals } = openService({ now: tick });
    const first = approvals.request(commandRequest({ line: "first" }));
    const pending = approvals.request(commandRequest({ line: "still waiting" }));
    const second = approvals.request(commandRequest({ line: "second" }));
    approvals.decide(first.id, bob, "approve", "fine", "web");
    approvals.withdraw(second.id, "alice@example.com");
    const ids = (page: { id: string }[]) => page.map((request) => request.id);

    assert.deepEqual(ids(approvals.history(10)), [second.id, first.id]);
    assert.deepEqual(ids(approvals.history(1)), [second.id]);
    assert.deepEqual(ids(approvals.history(1, 1)), [first.id]);
    assert.deepEqual(approvals.history(10, 2), []);
    const [decided] = approvals.history(1, 1);
    assert.equal(decided?.status, "approved");
    assert.deepEqual(decided?.decidedBy, [bob.user]);
    assert.equal(decided?.votes[0]?.via, "web");
    assert.ok(approvals.pending().some((request) => request.id === pending.id));
  });
});
