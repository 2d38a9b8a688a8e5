// Tests for the audit index's derived rows (src/store/derive.ts): sessions,
// commands and auth rows from a realistic event sequence, refused and
// never-connected sessions, crash recovery (interrupted sessions, open
// recordings) and the recording lifecycle.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { openAuditIndex } from "../../src/store/index.js";
import {
  at,
  authSuccess,
  command,
  connection,
  event,
  freshPath,
  openFresh,
  recordAll,
  sessionStart,
  typicalConnection,
} from "./helpers.js";

describe("deriving sessions and commands", () => {
  test("a typical connection becomes one session with its commands, groups and counters", () => {
    const { index } = openFresh();
    const c = connection();
    const [...records] = typicalConnection(c);
    records.splice(
      -1,
      0,
      event(c, "mask", 3_100, { detector: "credit-card", count: 2 }),
      event(c, "mask", 3_200, { detector: "jwt", count: 1 }),
    );
    recordAll(index, records);
    const found = index.getSession(c.session);
    assert.ok(found);
    const { session, commands } = found;
    assert.deepEqual(
      { ...session, recordings: undefined },
      {
        id: c.session,
        user: "alice",
        groups: ["dba", "oncall"],
        sourceIp: "192.0.2.10",
        target: "db1",
        login: "postgres",
        access: "dba-db",
        startedAt: at(50),
        endedAt: at(60_000),
        endReason: "connection to db1 closed",
        commands: 3,
        denials: 1,
        maxRisk: 90,
        riskScore: 0,
        signals: 1,
        masked: 3,
        files: 0,
        bytesDown: 0,
        bytesUp: 0,
        recordings: undefined,
      },
    );
    assert.deepEqual(
      commands.map((row) => [row.offsetMs, row.line, row.decision, row.rule, row.determinedBy]),
      [
        [950, "ls -la", "allow", undefined, "markers"],
        [1_950, "rm -rf /", "deny", "baseline#1", "markers"],
        [2_950, "psql -c 'select 1'", "warn", "baseline#1", "markers"],
      ],
    );
    assert.equal(commands[1]?.reason, "destructive command");
    assert.equal(commands[1]?.cwd, "/var/lib/postgresql");
    assert.deepEqual(commands[1]?.time, at(2_000));
    index.close();
  });

  test("auth events are stored in their own table with the certificate's identity", () => {
    const { index, path } = openFresh();
    const c = connection();
    recordAll(index, [
      authSuccess(c),
      {
        event: "auth.failure",
        time: at(5),
        fields: {
          session: "other",
          source_ip: "198.51.100.7",
          code: "expired",
          reason: "certificate expired",
          key_id: "mallory",
        },
      },
    ]);
    index.close();
    const db = new Database(path, { readonly: true });
    const rows = db
      .prepare("SELECT event, user, key_id, code, groups FROM auth_events ORDER BY id")
      .all();
    db.close();
    assert.deepEqual(rows, [
      {
        event: "auth.success",
        user: "alice",
        key_id: "alice@example",
        code: null,
        groups: '["dba","oncall"]',
      },
      { event: "auth.failure", user: null, key_id: "mallory", code: "expired", groups: null },
    ]);
  });

  test("a connection refused after login is a session ended with the reason", () => {
    const { index } = openFresh();
    const c = connection();
    recordAll(index, [
      authSuccess(c),
      {
        event: "session.denied",
        time: at(30),
        fields: {
          session: c.session,
          user: c.user,
          target: "db1",
          reason: "access to db1 denied: outside hours",
        },
      },
    ]);
    const session = index.getSession(c.session)?.session;
    assert.equal(session?.endReason, "denied: access to db1 denied: outside hours");
    assert.deepEqual(session?.endedAt, at(30));
    assert.deepEqual(session?.groups, ["dba", "oncall"]);
    assert.deepEqual(index.markInterrupted(at(99_000)), []);
    index.close();
  });

  test("a refused feature during a running session does not end it", () => {
    const { index } = openFresh();
    const c = connection();
    recordAll(index, [
      authSuccess(c),
      sessionStart(c),
      {
        event: "session.denied",
        time: at(500),
        fields: { session: c.session, reason: "port forwarding is not allowed" },
      },
    ]);
    const session = index.getSession(c.session)?.session;
    assert.equal(session?.endedAt, undefined);
    assert.equal(session?.endReason, undefined);
    index.close();
  });

  test("an exec line denied before any upstream connection leaves a 'not connected' session", () => {
    const { index } = openFresh();
    const c = connection();
    recordAll(index, [
      authSuccess(c),
      command(c, 10, "shutdown -h now", "deny", { determined_by: "exec" }),
    ]);
    const found = index.getSession(c.session);
    assert.equal(found?.session.endReason, "not connected");
    assert.equal(found?.session.denials, 1);
    assert.deepEqual(found?.session.groups, ["dba", "oncall"]);
    assert.equal(found?.commands[0]?.determinedBy, "exec");
    assert.deepEqual(
      index.markInterrupted(at(99_000)),
      [],
      "a session that never connected is not interrupted",
    );
    index.close();
  });
});

describe("crash recovery", () => {
  test("sessions left open are marked interrupted once, after a reopen", () => {
    const path = freshPath();
    const first = openAuditIndex({ path });
    const open = connection({ session: "20261122T031600Z-aaaaaaaaaa" });
    const ended = connection({ session: "20261122T031700Z-bbbbbbbbbb", startMs: 60_000 });
    recordAll(first, [authSuccess(open), sessionStart(open), command(open, 900, "top", "allow")]);
    recordAll(first, typicalConnection(ended));
    first.close();

    const second = openAuditIndex({ path });
    assert.deepEqual(second.markInterrupted(at(120_000)), [open.session]);
    const session = second.getSession(open.session)?.session;
    assert.equal(session?.endReason, "interrupted");
    assert.deepEqual(session?.endedAt, at(120_000));
    assert.equal(second.getSession(ended.session)?.session.endReason, "connection to db1 closed");
    assert.deepEqual(second.markInterrupted(at(130_000)), []);
    second.close();
  });
});

describe("recordings", () => {
  const c = connection();
  const opened = (id: string, startMs: number) => ({
    id,
    session: c.session,
    relativePath: `2026/11/22/${id}.cast`,
    startedAt: at(startMs),
    width: 120,
    height: 40,
    title: "alice → postgres@db1",
  });

  test("open, close, list per session and in the session summary", () => {
    const { index } = openFresh();
    recordAll(index, [authSuccess(c), sessionStart(c)]);
    index.recordingOpened(opened(c.session, 60));
    index.recordingOpened(opened(`${c.session}.2`, 70));
    assert.deepEqual(
      index.openRecordings().map((row) => row.id),
      [c.session, `${c.session}.2`],
    );
    index.recordingClosed(c.session, {
      endedAt: at(5_000),
      sha256: "ab".repeat(32),
      bytes: 1234,
      signature: "c2lnbmF0dXJl",
      status: "closed",
    });
    assert.deepEqual(
      index.openRecordings().map((row) => row.id),
      [`${c.session}.2`],
    );
    assert.deepEqual(index.recordings(c.session)[0], {
      ...opened(c.session, 60),
      status: "closed",
      endedAt: at(5_000),
      sha256: "ab".repeat(32),
      bytes: 1234,
      signature: "c2lnbmF0dXJl",
    });
    assert.equal(index.recordings().length, 2);
    assert.deepEqual(index.recordings("no-such-session"), []);
    const listed = index.listSessions({})[0];
    assert.deepEqual(
      listed?.recordings.map((row) => row.status),
      ["closed", "open"],
    );
    index.close();
  });

  test("a recording opened before its session's events were written still gets a session row", () => {
    const { index } = openFresh();
    index.recordingOpened(opened(c.session, 60));
    recordAll(index, [authSuccess(c), sessionStart(c, 55)]);
    const session = index.getSession(c.session)?.session;
    assert.equal(session?.user, "alice");
    assert.deepEqual(session?.startedAt, at(55));
    assert.equal(session?.recordings.length, 1);
    index.close();
  });

  test("an open recording survives a crash and is closed as interrupted after restart", () => {
    const path = freshPath();
    const first = openAuditIndex({ path });
    first.recordingOpened(opened(c.session, 60));
    // No close(): the process died. The row was written at once.
    const second = openAuditIndex({ path });
    const [left] = second.openRecordings();
    assert.equal(left?.id, c.session);
    second.recordingClosed(c.session, {
      endedAt: at(9_000),
      sha256: "cd".repeat(32),
      bytes: 10,
      signature: "c2ln",
      status: "interrupted",
    });
    assert.deepEqual(second.openRecordings(), []);
    assert.equal(second.recordings(c.session)[0]?.status, "interrupted");
    second.close();
    first.close();
  });

  test("closing an unknown recording is reported through onFailure, not thrown", () => {
    const { index } = openFresh();
    const failures: Error[] = [];
    index.onFailure((error) => failures.push(error));
    index.recordingClosed("nope", {
      endedAt: at(1),
      sha256: "",
      bytes: 0,
      signature: "",
      status: "failed",
    });
    assert.equal(failures.length, 1);
    assert.match(failures[0]?.message ?? "", /recording nope is not in the audit index/);
    index.close();
  });
});
