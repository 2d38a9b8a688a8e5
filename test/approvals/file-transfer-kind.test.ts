// The `file_transfer` approval kind in the store: a database from before it
// (schema version 11) is upgraded with its requests, votes and grants kept
// and its foreign keys still enforced; file transfer requests are stored,
// decided with the usual rules, and never give a session grant.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { createApprovals, openSqliteApprovalStore } from "../../src/approvals/index.js";
import { MIGRATIONS, migrate } from "../../src/store/schema.js";
import { alice, bob, commandRequest, freshPath, openService, recordingAudit } from "./helpers.js";

const BEFORE_FILE_TRANSFER = 11;
const NOW = Date.parse("2026-11-23T10:00:00Z");

/** A version-11 database with an approved session request, its vote and its grant. */
function databaseBeforeFileTransfer(path: string): void {
  const db = new Database(path);
  db.pragma("foreign_keys = ON");
  migrate(db, BEFORE_FILE_TRANSFER);
  db.prepare(
    `INSERT INTO approval_requests (id, kind, requester, requester_groups, session, target, line, rule,
       reason, approver_users, approver_groups, quorum, grant_ms, timeout_ms, created_at, expires_at,
       status, decided_at, decided_by)
     VALUES ('s3ss10', 'session', 'alice@example.com', '["ops"]', 'S1', 'web1', 'session',
       'access:web', 'needs approval', '[]', '["leads"]', 1, 3600000, 60000, ?, ?, 'approved', ?,
       '["bob@example.com"]')`,
  ).run(NOW, NOW + 60_000, NOW + 1000);
  db.prepare(
    `INSERT INTO approval_votes (request, approver, verdict, at, via)
     VALUES ('s3ss10', 'bob@example.com', 'approve', ?, 'cli')`,
  ).run(NOW + 1000);
  db.prepare(
    `INSERT INTO session_grants (id, request, user, target, granted_at, expires_at)
     VALUES ('s3ss10', 's3ss10', 'alice@example.com', 'web1', ?, ?)`,
  ).run(NOW + 1000, NOW + 3_601_000);
  db.close();
}

describe("file_transfer approval kind", () => {
  test("an older database is upgraded with its requests, votes and grants kept", () => {
    const path = freshPath();
    databaseBeforeFileTransfer(path);
    const store = openSqliteApprovalStore({ path });
    const approvals = createApprovals({
      store,
      audit: recordingAudit(),
      now: () => new Date(NOW + 2000),
      background: false,
    });
    try {
      const kept = approvals.get("s3ss10");
      assert.equal(kept?.status, "approved");
      assert.deepEqual(
        kept?.votes.map((vote) => vote.approver),
        ["bob@example.com"],
      );
      assert.equal(approvals.activeGrant("alice@example.com", "web1")?.id, "s3ss10");
      const request = approvals.request(
        commandRequest({ kind: "file_transfer", line: "sftp", rule: "access:web" }),
      );
      assert.equal(approvals.get(request.id)?.kind, "file_transfer");
    } finally {
      approvals.close();
    }
    const db = new Database(path);
    db.pragma("foreign_keys = ON");
    assert.equal(db.pragma("user_version", { simple: true }), MIGRATIONS.length);
    assert.throws(
      () =>
        db
          .prepare(
            "INSERT INTO approval_votes (request, approver, verdict, at, via) VALUES ('nope', 'x', 'approve', 1, 'cli')",
          )
          .run(),
      /FOREIGN KEY/,
    );
    assert.equal(
      db.prepare("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'kept_%'").pluck().get(),
      0,
    );
    db.close();
  });

  test("a file transfer request follows the rules and gives no grant", () => {
    const { approvals } = openService();
    const request = approvals.request(
      commandRequest({
        kind: "file_transfer",
        line: "sftp",
        rule: "access:web",
        grantMs: 3_600_000,
      }),
    );
    assert.throws(
      () => approvals.decide(request.id, alice, "approve", undefined, "cli"),
      /cannot decide their own request/,
    );
    const decided = approvals.decide(request.id, bob, "approve", undefined, "cli");
    assert.equal(decided.status, "approved");
    assert.equal(approvals.activeGrant(alice.user, "web1"), undefined);
  });
});
