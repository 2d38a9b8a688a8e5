// Tests for the versioned migrations (src/store/schema.ts): a new file gets
// every migration, reopening is idempotent, an older file is upgraded with
// its data kept (back-filled into new indexes, new columns empty), and a
// newer file is refused with a clear error.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { openAuditIndex } from "../../src/store/index.js";
import { MIGRATIONS, migrate, schemaVersion } from "../../src/store/schema.js";
import { PortcullisError } from "../../src/util/errors.js";
import { connection, freshPath, recordAll, typicalConnection } from "./helpers.js";

function fileVersion(path: string): { version: number; journal: unknown; tables: string[] } {
  const db = new Database(path, { readonly: true });
  const result = {
    version: schemaVersion(db),
    journal: db.pragma("journal_mode", { simple: true }),
    tables: db
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'commands_text_%' ORDER BY name",
      )
      .pluck()
      .all() as string[],
  };
  db.close();
  return result;
}

describe("migrations", () => {
  test("a new file gets every migration, in WAL mode", () => {
    const path = freshPath();
    openAuditIndex({ path }).close();
    assert.deepEqual(fileVersion(path), {
      version: MIGRATIONS.length,
      journal: "wal",
      tables: [
        "approval_outbox",
        "approval_requests",
        "approval_votes",
        "auth_events",
        "chain_head",
        "commands",
        "commands_text",
        "events",
        "issued_certificates",
        "recordings",
        "session_grants",
        "sessions",
        "share_links",
        "signals",
        "transfer_events",
        "web_sessions",
      ],
    });
  });

  test("reopening is idempotent and keeps the data", () => {
    const path = freshPath();
    const first = openAuditIndex({ path });
    recordAll(first, typicalConnection(connection()));
    first.close();
    const second = openAuditIndex({ path });
    assert.equal(second.listSessions({}).length, 1);
    assert.deepEqual(second.verifyChain(), []);
    second.close();
    assert.equal(fileVersion(path).version, MIGRATIONS.length);
  });

  test("a file at version 1 is upgraded and its commands become searchable", () => {
    const path = freshPath();
    const old = new Database(path);
    migrate(old, 1);
    old.prepare("INSERT INTO sessions (id, started_at) VALUES ('s-old', 0)").run();
    old
      .prepare(
        "INSERT INTO commands (event_seq, session, time, offset_ms, line, decision) VALUES (1, 's-old', 0, 0, 'journalctl -u nginx', 'allow')",
      )
      .run();
    assert.equal(schemaVersion(old), 1);
    old.close();

    const index = openAuditIndex({ path });
    assert.deepEqual(
      index.listSessions({ text: "journalctl" }).map((s) => s.id),
      ["s-old"],
    );
    index.close();
    assert.equal(fileVersion(path).version, MIGRATIONS.length);
  });

  test("a file at version 2 gets pruned_at: its recordings start unpruned, pruned once", () => {
    const path = freshPath();
    const old = new Database(path);
    migrate(old, 2);
    old.prepare("INSERT INTO sessions (id, started_at) VALUES ('s-old', 0)").run();
    old
      .prepare(
        "INSERT INTO recordings (id, session, relative_path, started_at, status) VALUES ('s-old', 's-old', '1970/01/01/s-old.cast', 0, 'closed')",
      )
      .run();
    old.close();

    const index = openAuditIndex({ path });
    assert.equal(index.recordings()[0]?.prunedAt, undefined);
    index.markPruned("s-old", new Date(5));
    assert.deepEqual(index.recordings()[0]?.prunedAt, new Date(5));
    assert.throws(
      () => index.markPruned("s-old", new Date(6)),
      (error: unknown) =>
        error instanceof PortcullisError && error.code === "ERR_AUDIT_INDEX_RECORDING",
    );
    index.close();
  });

  test("a file from a newer Portcullis is refused, untouched", () => {
    const path = freshPath();
    const db = new Database(path);
    db.pragma("user_version = 99");
    db.close();
    assert.throws(
      () => openAuditIndex({ path }),
      (error: unknown) =>
        error instanceof PortcullisError &&
        error.code === "ERR_AUDIT_INDEX_VERSION" &&
        /schema version 99 is newer/.test(error.message),
    );
    assert.equal(fileVersion(path).version, 99);
  });

  test("a path that cannot be opened is a PortcullisError naming it", () => {
    const path = `${freshPath()}-missing-dir/index.db`;
    assert.throws(
      () => openAuditIndex({ path }),
      (error: unknown) =>
        error instanceof PortcullisError &&
        error.code === "ERR_AUDIT_INDEX" &&
        error.message.startsWith(`cannot open the audit index ${path}: `),
    );
  });
});
