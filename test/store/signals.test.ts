// Tests for insider-threat signals in the audit index: `signal` events
// derived into `signals` rows (new and older event shapes, in and outside a
// session) and the session's risk score and count, listSignals' filters and
// paging, listSessions' minRisk, a user's history for baselines, the query
// plans behind them, and the back-fill of a file written at schema version 10.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { type AuditIndex, type AuditRecord, openAuditIndex } from "../../src/store/index.js";
import { type Query, sessionQuery, signalQuery, USER_HISTORY } from "../../src/store/queries.js";
import { migrate } from "../../src/store/schema.js";
import {
  at,
  command,
  connection,
  event,
  freshPath,
  openFresh,
  recordAll,
  sessionEnd,
  sessionStart,
} from "./helpers.js";

/** The migration that added `signals`. */
const SIGNALS_VERSION = 11;

const alice = connection();
const bob = connection({
  session: "20261122T032600Z-bbbbbbbbbb",
  user: "bob",
  target: "web1",
  startMs: 600_000,
});

function signal(
  c: typeof alice,
  offsetMs: number,
  rule: string,
  score: number,
  sessionScore: number,
  extra: Record<string, unknown> = {},
): AuditRecord {
  return event(c, "signal", offsetMs, {
    rule,
    source: "policy",
    score,
    session_score: sessionScore,
    reason: `${rule} matched`,
    evidence: { line: "auditctl -D", matched: ["auditctl"] },
    ...extra,
  });
}

const records: AuditRecord[] = [
  sessionStart(alice),
  command(alice, 1_000, "auditctl -D", "warn"),
  signal(alice, 1_000, "disable-audit", 60, 60, { action: "warn" }),
  // An older event: `kind`, `risk`, no score.
  event(alice, "signal", 2_000, {
    kind: "unverified",
    reason: "no markers",
    action: "warn",
    risk: 40,
  }),
  signal(alice, 3_000, "first-target", 25, 80.5, { source: "behaviour", user: undefined }),
  sessionEnd(alice, 60_000),
  sessionStart(bob),
  signal(bob, 5_000, "credential-access", 30, 30),
  sessionEnd(bob, 30_000),
  // Outside any session (e.g. a behavioural check at login).
  {
    event: "signal",
    time: at(700_000),
    fields: {
      user: "carol",
      rule: "new-network",
      source: "behaviour",
      score: 10,
      session_score: 0,
      reason: "new network",
      evidence: {},
    },
  },
];

function filled(): AuditIndex {
  const { index } = openFresh();
  recordAll(index, records);
  return index;
}

const rules = (rows: readonly { rule: string }[]) => rows.map((row) => row.rule);

describe("signal events", () => {
  test("become rows of their session, in time order, with every field", () => {
    const index = filled();
    const found = index.getSession(alice.session);
    index.close();
    assert.deepEqual(found?.signals, [
      {
        seq: 3,
        session: alice.session,
        user: "alice",
        target: "db1",
        time: at(1_000),
        offsetMs: 950,
        rule: "disable-audit",
        source: "policy",
        score: 60,
        sessionScore: 60,
        reason: "disable-audit matched",
        action: "warn",
        evidence: { line: "auditctl -D", matched: ["auditctl"] },
      },
      {
        seq: 4,
        session: alice.session,
        user: "alice",
        target: "db1",
        time: at(2_000),
        offsetMs: 1_950,
        rule: "unverified",
        source: "integrity",
        score: 0,
        sessionScore: 0,
        reason: "no markers",
        action: "warn",
        evidence: {},
      },
      {
        seq: 5,
        session: alice.session,
        user: "alice",
        target: "db1",
        time: at(3_000),
        offsetMs: 2_950,
        rule: "first-target",
        source: "behaviour",
        score: 25,
        sessionScore: 80.5,
        reason: "first-target matched",
        evidence: { line: "auditctl -D", matched: ["auditctl"] },
      },
    ]);
  });

  test("raise the session's risk score to its peak and count, keeping max_risk", () => {
    const index = filled();
    const [session] = index.listSessions({ user: "alice" });
    index.close();
    assert.equal(session?.riskScore, 80.5);
    assert.equal(session?.signals, 3);
    assert.equal(session?.maxRisk, 40, "the older event's risk");
  });

  test("outside a session have no session and offset 0", () => {
    const index = filled();
    const [row] = index.listSignals({ user: "carol" });
    index.close();
    assert.equal(row?.session, undefined);
    assert.equal(row?.offsetMs, 0);
    assert.equal(row?.rule, "new-network");
  });
});

describe("listSignals", () => {
  let index: AuditIndex;
  before(() => {
    index = filled();
  });
  after(() => index.close());

  test("lists newest first", () => {
    assert.deepEqual(rules(index.listSignals({})), [
      "new-network",
      "credential-access",
      "first-target",
      "unverified",
      "disable-audit",
    ]);
  });

  test("filters by user, session, rule, source, score and time", () => {
    assert.deepEqual(rules(index.listSignals({ user: "bob" })), ["credential-access"]);
    assert.deepEqual(rules(index.listSignals({ session: alice.session, source: "policy" })), [
      "disable-audit",
    ]);
    assert.deepEqual(rules(index.listSignals({ rule: "unverified" })), ["unverified"]);
    assert.deepEqual(rules(index.listSignals({ minScore: 25 })), [
      "credential-access",
      "first-target",
      "disable-audit",
    ]);
    assert.deepEqual(rules(index.listSignals({ since: at(2_000), until: at(605_000) })), [
      "first-target",
      "unverified",
    ]);
  });

  test("pages with limit and offset", () => {
    assert.deepEqual(rules(index.listSignals({ limit: 2, offset: 1 })), [
      "credential-access",
      "first-target",
    ]);
  });

  test("minRisk lists the sessions whose score reached it", () => {
    const ids = (minRisk: number) => index.listSessions({ minRisk }).map((s) => s.id);
    assert.deepEqual(ids(30), [bob.session, alice.session]);
    assert.deepEqual(ids(31), [alice.session]);
    assert.deepEqual(ids(81), []);
    assert.equal(index.listSessions({ minRisk: 0 }).length, 2);
  });
});

describe("userHistory", () => {
  test("lists the user's connected sessions started in the window, oldest first", () => {
    const { index } = openFresh();
    const day = 86_400_000;
    const earlier = connection({ session: "s-earlier", startMs: -2 * day });
    const old = connection({ session: "s-old", startMs: -40 * day });
    const refused = connection({ session: "s-refused", startMs: -day });
    const other = connection({ session: "s-other", user: "bob", startMs: -day });
    recordAll(index, [
      ...[old, earlier, alice, other].map((c) => sessionStart(c)),
      event(earlier, "file.transfer", 1_000, {
        direction: "download",
        path: "/srv/dump.sql",
        bytes_read: 5_000_000,
        bytes_written: 0,
        result: "ok",
      }),
      event(refused, "session.denied", 10, { reason: "outside hours" }),
      command(connection({ session: "s-never", startMs: -day }), 10, "ls", "deny"),
    ]);
    const history = index.userHistory("alice", at(-30 * day), at(day));
    index.close();
    assert.deepEqual(history, [
      {
        id: "s-earlier",
        target: "db1",
        sourceIp: "192.0.2.10",
        startedAt: at(-2 * day + 50),
        bytesDown: 5_000_000,
      },
      { id: alice.session, target: "db1", sourceIp: "192.0.2.10", startedAt: at(50), bytesDown: 0 },
    ]);
  });
});

describe("query plans", () => {
  function plan(query: Query | string, params: Record<string, unknown> = {}): string[] {
    const path = freshPath();
    openAuditIndex({ path }).close();
    const db = new Database(path, { readonly: true });
    const [sql, values] = typeof query === "string" ? [query, params] : [query.sql, query.params];
    const details = db
      .prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .all(values)
      .map((row) => (row as { detail: string }).detail);
    db.close();
    return details;
  }

  test("signals are read through the index of their filter, in order, without sorting", () => {
    assert.deepEqual(plan(signalQuery({})), ["SCAN signals USING INDEX signals_by_time"]);
    assert.deepEqual(plan(signalQuery({ user: "alice", minScore: 10 })), [
      "SEARCH signals USING INDEX signals_by_user (user=?)",
    ]);
    assert.deepEqual(plan(signalQuery({ session: "s" })), [
      "SEARCH signals USING INDEX signals_by_session (session=?)",
    ]);
    assert.deepEqual(plan(signalQuery({ since: new Date(0), rule: "r" })), [
      "SEARCH signals USING INDEX signals_by_time (time>?)",
    ]);
  });

  test("minRisk walks the scored sessions only; a user's history uses the user's index", () => {
    assert.deepEqual(plan(sessionQuery({ minRisk: 50 })), ["SCAN s USING INDEX sessions_scored"]);
    assert.deepEqual(plan(USER_HISTORY, { user: "u", since: 0, until: 1 }), [
      "SEARCH sessions USING INDEX sessions_by_user (user=? AND started_at>? AND started_at<?)",
      // Sorts only sessions that started in the same millisecond, by id.
      "USE TEMP B-TREE FOR LAST TERM OF ORDER BY",
    ]);
  });
});

describe("a file written at schema version 10", () => {
  test("gets its signal events back-filled and its sessions scored", () => {
    const path = freshPath();
    const old = new Database(path);
    migrate(old, SIGNALS_VERSION - 1);
    old
      .prepare(
        "INSERT INTO sessions (id, user, target, started_at, max_risk) VALUES ('s-old', 'dave', 'db9', 1000, 40)",
      )
      .run();
    const insert = old.prepare(
      "INSERT INTO events (seq, time, event, fields, prev_hash, hash) VALUES (?, ?, 'signal', ?, '', '')",
    );
    insert.run(
      1,
      3_000,
      JSON.stringify({ session: "s-old", kind: "recording", reason: "recording failed", risk: 40 }),
    );
    insert.run(
      2,
      4_000,
      JSON.stringify({
        session: "s-old",
        user: "dave",
        rule: "history-off",
        source: "policy",
        score: 35,
        session_score: 35.5,
        reason: "history disabled",
        evidence: { line: "unset HISTFILE" },
      }),
    );
    insert.run(3, 5_000, JSON.stringify({ rule: "new-network", score: 10, reason: "new network" }));
    old.close();

    const index = openAuditIndex({ path });
    const found = index.getSession("s-old");
    const outside = index.listSignals({ rule: "new-network" });
    index.close();
    assert.equal(found?.session.riskScore, 35.5);
    assert.equal(found?.session.signals, 2);
    assert.equal(found?.session.maxRisk, 40);
    assert.deepEqual(found?.signals, [
      {
        seq: 1,
        session: "s-old",
        user: "dave",
        target: "db9",
        time: new Date(3_000),
        offsetMs: 2_000,
        rule: "recording",
        source: "integrity",
        score: 0,
        sessionScore: 0,
        reason: "recording failed",
        evidence: {},
      },
      {
        seq: 2,
        session: "s-old",
        user: "dave",
        target: "db9",
        time: new Date(4_000),
        offsetMs: 3_000,
        rule: "history-off",
        source: "policy",
        score: 35,
        sessionScore: 35.5,
        reason: "history disabled",
        evidence: { line: "unset HISTFILE" },
      },
    ]);
    assert.deepEqual(
      outside.map((row) => [row.seq, row.session, row.offsetMs, row.source, row.score]),
      [[3, undefined, 0, "integrity", 10]],
    );
  });
});
