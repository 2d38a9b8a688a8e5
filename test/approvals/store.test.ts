// The SQLite approvals store (src/approvals/sqlite-store.ts) under the
// service: pending requests survive a restart, a new service expires what
// went overdue while it was down, and concurrent decisions from several
// connections give exactly one outcome with every vote counted once.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import {
  createApprovals,
  openSqliteApprovalStore,
  type Principal,
} from "../../src/approvals/index.js";
import { MIGRATIONS, schemaVersion } from "../../src/store/schema.js";
import {
  bob,
  carol,
  commandRequest,
  delay,
  freshPath,
  openService,
  recordingAudit,
} from "./helpers.js";

const WORKER = new URL("./fixtures/vote-worker.js", import.meta.url);

type WorkerResult = { status: string } | { refused: string };

function voteInWorkers(path: string, id: string, approvers: readonly Principal[]) {
  const barrier = new SharedArrayBuffer(4);
  return Promise.all(
    approvers.map(
      (approver) =>
        new Promise<WorkerResult>((resolve, reject) => {
          const worker = new Worker(WORKER, {
            workerData: { path, id, approver, barrier, workers: approvers.length },
          });
          worker.once("message", resolve);
          worker.once("error", reject);
        }),
    ),
  );
}

function leads(count: number): Principal[] {
  return Array.from({ length: count }, (_, i) => ({
    user: `lead${i}@example.com`,
    groups: ["leads"],
  }));
}

describe("restart", () => {
  test("the database gets the approvals migration", () => {
    const { path, approvals } = openService();
    approvals.request(commandRequest());
    const db = new Database(path, { readonly: true });
    assert.equal(schemaVersion(db), MIGRATIONS.length);
    db.close();
  });

  test("a pending request is still pending for the next service, and can be decided there", async () => {
    const first = openService({ background: true });
    const request = first.approvals.request(
      commandRequest({ justification: "hotfix", reuseMs: 1000 }),
    );
    first.approvals.close();

    const second = openService({ path: first.path });
    assert.deepEqual(second.approvals.get(request.id), request);
    assert.deepEqual(
      second.approvals.pending().map((pending) => pending.id),
      [request.id],
    );
    const waiting = second.approvals.outcome(request.id);
    second.approvals.decide(request.id, bob, "approve", "ok", "ssh");
    const outcome = await waiting;
    assert.equal(outcome.status, "approved");
    assert.deepEqual(outcome.request.decidedBy, [bob.user]);
  });

  test("a request that went overdue while the server was down expires at start-up", async () => {
    const first = openService();
    const request = first.approvals.request(commandRequest({ timeoutMs: 50 }));
    first.approvals.close();
    await delay(80);
    const second = openService({ path: first.path });
    await delay(20);
    assert.equal(second.approvals.get(request.id)?.status, "expired");
    assert.deepEqual(
      second.audit.named("approval.expired").map((event) => event.fields.id),
      [request.id],
    );
  });
});

describe("concurrent decisions", () => {
  test("several approvers at once on a quorum of 1: exactly one approves, the rest are refused", async () => {
    const { approvals, path } = openService();
    const request = approvals.request(commandRequest());
    const results = await voteInWorkers(path, request.id, leads(6));
    const approved = results.filter((result) => "status" in result && result.status === "approved");
    const refused = results.filter(
      (result) => "refused" in result && result.refused === "ERR_APPROVAL_NOT_PENDING",
    );
    assert.equal(approved.length, 1, JSON.stringify(results));
    assert.equal(refused.length, 5, JSON.stringify(results));
    const decided = approvals.get(request.id);
    assert.equal(decided?.status, "approved");
    assert.equal(decided?.votes.length, 1);
  });

  test("a quorum of 3 with 5 approvers at once: three votes count, the decision is made once", async () => {
    const { approvals, path } = openService();
    const request = approvals.request(commandRequest({ quorum: 3 }));
    const results = await voteInWorkers(path, request.id, leads(5));
    const statuses = results.map((result) => ("status" in result ? result.status : result.refused));
    assert.deepEqual(statuses.sort(), [
      "ERR_APPROVAL_NOT_PENDING",
      "ERR_APPROVAL_NOT_PENDING",
      "approved",
      "pending",
      "pending",
    ]);
    const decided = approvals.get(request.id);
    assert.equal(decided?.votes.length, 3);
    assert.equal(decided?.decidedBy.length, 3);
  });

  test("the queued audit events of another process are emitted once, by one service", async () => {
    const { approvals, path, audit } = openService({ pollIntervalMs: 20 });
    const other = openService({ path, pollIntervalMs: 20 });
    const request = approvals.request(commandRequest());
    await voteInWorkers(path, request.id, [carol]);
    await delay(100);
    const emitted = [
      ...audit.named("approval.approved"),
      ...other.audit.named("approval.approved"),
    ];
    assert.equal(emitted.length, 1);
    assert.equal(emitted[0]?.fields.via, "worker");
  });
});

test("a store that cannot be opened fails with one line", () => {
  assert.throws(
    () => openSqliteApprovalStore({ path: "/nonexistent-dir/x/approvals.db" }),
    (error: unknown) =>
      error instanceof Error &&
      (error as { code?: string }).code === "ERR_APPROVAL_STORE" &&
      /^cannot open the approvals database \/nonexistent-dir\/x\/approvals.db: /.test(
        error.message,
      ) &&
      !error.message.includes("\n"),
  );
});

test("a closed service refuses work and rejects its waiters", async () => {
  const store = openSqliteApprovalStore({ path: freshPath() });
  const approvals = createApprovals({ store, audit: recordingAudit(), now: () => new Date() });
  const request = approvals.request(commandRequest());
  const waiting = approvals.outcome(request.id);
  approvals.close();
  await assert.rejects(waiting, { code: "ERR_APPROVALS_CLOSED" });
  assert.throws(() => approvals.pending(), { code: "ERR_APPROVALS_CLOSED" });
});
