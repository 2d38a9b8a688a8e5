// Tests for listSessions (src/store/queries.ts): each filter alone and
// combined, text search through the trigram index and through the short-text
// scan, and paging in newest-first order.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AuditIndex, SessionFilter } from "../../src/store/index.js";
import {
  at,
  command,
  connection,
  openFresh,
  recordAll,
  sessionStart,
  typicalConnection,
} from "./helpers.js";

const MINUTE = 60_000;
const alice = connection({ session: "s1-alice-db1", user: "alice", target: "db1", startMs: 0 });
const bob = connection({
  session: "s2-bob-web1",
  user: "bob",
  target: "web1",
  startMs: 10 * MINUTE,
});
const carol = connection({
  session: "s3-carol-db1",
  user: "carol",
  target: "db1",
  startMs: 20 * MINUTE,
});
const quiet = connection({
  session: "s4-alice-web1",
  user: "alice",
  target: "web1",
  startMs: 30 * MINUTE,
});

let index: AuditIndex;
before(() => {
  index = openFresh().index;
  recordAll(index, typicalConnection(alice));
  recordAll(index, [
    sessionStart(bob),
    command(bob, 1_000, "cat /etc/nginx/nginx.conf", "allow"),
    command(bob, 2_000, 'echo "100%_done" | tee /tmp/x', "allow"),
  ]);
  recordAll(index, [sessionStart(carol), command(carol, 1_000, "DROP TABLE users", "approve")]);
  recordAll(index, [sessionStart(quiet)]);
});
after(() => index.close());

const ids = (filter: SessionFilter) => index.listSessions(filter).map((session) => session.id);

describe("listSessions filters", () => {
  test("no filter lists every session, newest first", () => {
    assert.deepEqual(ids({}), [quiet.session, carol.session, bob.session, alice.session]);
  });

  test("by user and by target, alone and together", () => {
    assert.deepEqual(ids({ user: "alice" }), [quiet.session, alice.session]);
    assert.deepEqual(ids({ target: "db1" }), [carol.session, alice.session]);
    assert.deepEqual(ids({ user: "alice", target: "web1" }), [quiet.session]);
    assert.deepEqual(ids({ user: "mallory" }), []);
  });

  test("by start time: since is inclusive, until exclusive", () => {
    assert.deepEqual(ids({ since: at(bob.startMs + 50) }), [
      quiet.session,
      carol.session,
      bob.session,
    ]);
    assert.deepEqual(ids({ until: at(bob.startMs + 50) }), [alice.session]);
    assert.deepEqual(ids({ since: at(5 * MINUTE), until: at(25 * MINUTE) }), [
      carol.session,
      bob.session,
    ]);
  });

  test("by decision of any command", () => {
    assert.deepEqual(ids({ decision: "deny" }), [alice.session]);
    assert.deepEqual(ids({ decision: "approve" }), [carol.session]);
    assert.deepEqual(ids({ decision: "allow" }), [bob.session, alice.session]);
    assert.deepEqual(ids({ decision: "allow", user: "bob" }), [bob.session]);
  });

  test("by text of a command line: substring, case-insensitive", () => {
    assert.deepEqual(ids({ text: "nginx.conf" }), [bob.session]);
    assert.deepEqual(ids({ text: "drop table" }), [carol.session]);
    assert.deepEqual(ids({ text: "rm -rf" }), [alice.session]);
    assert.deepEqual(ids({ text: "not typed anywhere" }), []);
  });

  test("text with quotes, % and _ is matched literally", () => {
    assert.deepEqual(ids({ text: '"100%_done"' }), [bob.session]);
    assert.deepEqual(ids({ text: "%_" }), [bob.session]);
    assert.deepEqual(ids({ text: "0%" }), [bob.session]);
    assert.deepEqual(ids({ text: "_" }), [bob.session]);
  });

  test("text shorter than a trigram is still a substring match", () => {
    assert.deepEqual(ids({ text: "rm" }), [alice.session]);
    assert.deepEqual(ids({ text: "ls" }), [alice.session]);
    assert.deepEqual(ids({ text: "LS" }), [alice.session]);
  });

  test("a session with several matching commands is listed once", () => {
    assert.deepEqual(ids({ text: "/" }), [bob.session, alice.session]);
  });
});

describe("listSessions paging", () => {
  test("limit and offset walk the newest-first order without overlap", () => {
    const pages = [0, 1, 2].map((page) => ids({ limit: 2, offset: page * 2 }));
    assert.deepEqual(pages, [[quiet.session, carol.session], [bob.session, alice.session], []]);
  });

  test("paging applies after filtering", () => {
    assert.deepEqual(ids({ target: "db1", limit: 1, offset: 1 }), [alice.session]);
  });

  test("summaries carry the counters", () => {
    const [summary] = index.listSessions({ user: "bob" });
    assert.equal(summary?.commands, 2);
    assert.equal(summary?.denials, 0);
    assert.equal(summary?.maxRisk, 5);
    assert.equal(summary?.endedAt, undefined);
  });
});
