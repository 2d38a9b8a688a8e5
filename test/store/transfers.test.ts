// Tests for a session's file transfers, file operations and tunnels in the
// audit index: derived into `transfer_events` as recorded (fields parsed,
// offsets on the commands' basis, time order, other sessions kept apart),
// read through the (session, time) index, and back-filled from the events
// of a file written before the table existed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { openAuditIndex } from "../../src/store/index.js";
import { SESSION_TRANSFERS } from "../../src/store/queries.js";
import { migrate } from "../../src/store/schema.js";
import {
  at,
  command,
  connection,
  event,
  freshPath,
  openFresh,
  recordAll,
  sessionStart,
} from "./helpers.js";

const c = connection();
/** The migration that added `transfer_events`. */
const TRANSFER_EVENTS_VERSION = 10;

const transferRecords = [
  sessionStart(c),
  command(c, 1_000, "ls /var/log", "allow"),
  event(c, "tunnel.close", 9_000, {
    tunnel: `${c.session}.t1`,
    kind: "local",
    destination: "127.0.0.1:5432",
    bytes_to_target: 12_000,
    bytes_from_target: 3_000_000,
    duration_ms: 7_000,
  }),
  event(c, "file.transfer", 2_000, {
    direction: "download",
    path: "/var/log/app.log",
    bytes: 2_100_000,
    bytes_read: 2_100_000,
    bytes_written: 0,
    result: "ok",
  }),
  event(c, "file.op", 3_000, { op: "mkdir", path: "/tmp/x", result: "ok" }),
  event(c, "file.transfer", 4_000, {
    via: "scp",
    direction: "upload",
    path: "/etc/shadow",
    bytes: 0,
    result: "denied",
    reason: "/etc/shadow is denied",
    rule: "files#1",
  }),
  event(c, "tunnel.open", 2_000, {
    tunnel: `${c.session}.t1`,
    kind: "local",
    destination: "127.0.0.1:5432",
    decision: "allow",
    rule: "db-tunnels",
  }),
  event(connection({ session: "other-session" }), "file.op", 3_500, {
    op: "remove",
    path: "/tmp/y",
    result: "ok",
  }),
];

describe("a session's transfers and tunnels", () => {
  test("come with the session in time order, fields parsed, offsets like the commands'", () => {
    const { index } = openFresh();
    recordAll(index, transferRecords);
    const found = index.getSession(c.session);
    index.close();
    assert.ok(found);
    assert.equal(found.commands[0]?.offsetMs, 950, "commands count from session.start at 50 ms");
    assert.deepEqual(found.transfers, [
      {
        session: c.session,
        event: "file.transfer",
        time: at(2_000),
        offsetMs: 1_950,
        direction: "download",
        path: "/var/log/app.log",
        bytes: 2_100_000,
        result: "ok",
      },
      {
        session: c.session,
        event: "tunnel.open",
        time: at(2_000),
        offsetMs: 1_950,
        tunnel: `${c.session}.t1`,
        kind: "local",
        destination: "127.0.0.1:5432",
        decision: "allow",
        rule: "db-tunnels",
      },
      {
        session: c.session,
        event: "file.op",
        time: at(3_000),
        offsetMs: 2_950,
        op: "mkdir",
        path: "/tmp/x",
        result: "ok",
      },
      {
        session: c.session,
        event: "file.transfer",
        time: at(4_000),
        offsetMs: 3_950,
        via: "scp",
        direction: "upload",
        path: "/etc/shadow",
        bytes: 0,
        result: "denied",
        reason: "/etc/shadow is denied",
        rule: "files#1",
      },
      {
        session: c.session,
        event: "tunnel.close",
        time: at(9_000),
        offsetMs: 8_950,
        tunnel: `${c.session}.t1`,
        kind: "local",
        destination: "127.0.0.1:5432",
        bytesToTarget: 12_000,
        bytesFromTarget: 3_000_000,
      },
    ]);
  });

  test("are read through the (session, time) index, not a scan", () => {
    const path = freshPath();
    openAuditIndex({ path }).close();
    const db = new Database(path, { readonly: true });
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN ${SESSION_TRANSFERS}`)
      .all("s")
      .map((row) => (row as { detail: string }).detail);
    db.close();
    assert.deepEqual(plan, [
      "SEARCH transfer_events USING INDEX transfer_events_by_session (session=?)",
    ]);
  });

  test("recorded before the table existed are back-filled from the events", () => {
    const path = freshPath();
    const old = new Database(path);
    migrate(old, TRANSFER_EVENTS_VERSION - 1);
    old.prepare("INSERT INTO sessions (id, started_at) VALUES ('s-old', 1000)").run();
    const insert = old.prepare(
      "INSERT INTO events (seq, time, event, fields, prev_hash, hash) VALUES (?, ?, ?, ?, '', '')",
    );
    insert.run(1, 1_000, "session.start", JSON.stringify({ session: "s-old" }));
    insert.run(2, 4_000, "file.op", JSON.stringify({ session: "s-old", op: "rmdir", path: "/d" }));
    insert.run(3, 5_000, "command", JSON.stringify({ session: "s-old", line: "ls" }));
    old.close();

    const index = openAuditIndex({ path });
    const transfers = index.getSession("s-old")?.transfers;
    index.close();
    assert.deepEqual(transfers, [
      {
        session: "s-old",
        event: "file.op",
        time: new Date(4_000),
        offsetMs: 3_000,
        op: "rmdir",
        path: "/d",
      },
    ]);
  });
});
