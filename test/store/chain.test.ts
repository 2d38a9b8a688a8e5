// Tests for the hash chain (src/store/chain.ts): an intact chain verifies,
// and editing, deleting (in the middle and the newest rows), reordering or
// re-hashing rows with direct SQL is reported at the first row concerned.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { canonicalJson, chainHash, type EventRow, GENESIS_HASH } from "../../src/store/chain.js";
import { openAuditIndex } from "../../src/store/index.js";
import { connection, freshPath, recordAll, typicalConnection } from "./helpers.js";

/** A closed index file holding 14 chained events (two typical connections). */
function chainedFile(): string {
  const path = freshPath();
  const index = openAuditIndex({ path });
  recordAll(index, typicalConnection(connection({ session: "s-one" })));
  recordAll(index, typicalConnection(connection({ session: "s-two", startMs: 100_000 })));
  index.close();
  return path;
}

function eventRow(db: Database.Database, seq: number): EventRow {
  return db.prepare("SELECT * FROM events WHERE seq = ?").get(seq) as EventRow;
}

/** Tampers with the file through a separate connection, as an intruder would. */
function tamper(path: string, sql: string, ...params: unknown[]): void {
  const db = new Database(path);
  db.prepare(sql).run(...params);
  db.close();
}

function problemsOf(path: string) {
  const index = openAuditIndex({ path });
  const problems = index.verifyChain();
  index.close();
  return problems;
}

describe("canonical JSON and the link hash", () => {
  test("key order does not matter, nesting is sorted, undefined members are dropped", () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: "x" }, e: undefined }),
      '{"a":{"c":"x","d":[2,{"z":1}]},"b":1}',
    );
    assert.equal(
      canonicalJson({ when: new Date(0), n: 10n }),
      '{"n":"10","when":"1970-01-01T00:00:00.000Z"}',
    );
  });

  test("the hash covers every part of a row", () => {
    const base = chainHash(GENESIS_HASH, 1, 1000, "command", "{}");
    assert.match(base, /^[0-9a-f]{64}$/);
    const variants = [
      chainHash("1".repeat(64), 1, 1000, "command", "{}"),
      chainHash(GENESIS_HASH, 2, 1000, "command", "{}"),
      chainHash(GENESIS_HASH, 1, 1001, "command", "{}"),
      chainHash(GENESIS_HASH, 1, 1000, "signal", "{}"),
      chainHash(GENESIS_HASH, 1, 1000, "command", '{"a":1}'),
    ];
    for (const variant of variants) assert.notEqual(variant, base);
  });
});

describe("verifyChain", () => {
  test("an intact chain has no problems, also across reopen and further writes", () => {
    const path = chainedFile();
    const index = openAuditIndex({ path });
    recordAll(index, typicalConnection(connection({ session: "s-three", startMs: 200_000 })));
    assert.deepEqual(index.verifyChain(), []);
    index.close();
    const db = new Database(path, { readonly: true });
    assert.deepEqual(db.prepare("SELECT seq FROM chain_head").pluck().get(), 21);
    db.close();
  });

  test("an empty index verifies", () => {
    assert.deepEqual(problemsOf(freshPath()), []);
  });

  test("an edited row is reported at that row", () => {
    const path = chainedFile();
    tamper(
      path,
      "UPDATE events SET fields = replace(fields, '\"deny\"', '\"allow\"') WHERE seq = 4",
    );
    assert.deepEqual(problemsOf(path), [
      { row: 4, problem: "edited", detail: "row 4 does not match its hash" },
    ]);
  });

  test("an edited time is reported as an edit", () => {
    const path = chainedFile();
    tamper(path, "UPDATE events SET time = time + 1 WHERE seq = 9");
    assert.deepEqual(
      problemsOf(path).map((p) => [p.row, p.problem]),
      [[9, "edited"]],
    );
  });

  test("an edited row whose hash was recomputed breaks the link to the next row", () => {
    const path = chainedFile();
    const db = new Database(path);
    const row = eventRow(db, 4);
    const fields = row.fields.replace('"deny"', '"allow"');
    const hash = chainHash(row.prev_hash, 4, row.time, row.event, fields);
    db.prepare("UPDATE events SET fields = ?, hash = ? WHERE seq = 4").run(fields, hash);
    db.close();
    const [first] = problemsOf(path);
    assert.equal(first?.row, 5);
    assert.equal(first?.problem, "bad-link");
    assert.match(first?.detail ?? "", /row 4 was changed and re-hashed/);
  });

  test("a row deleted in the middle is reported as removed at its position", () => {
    const path = chainedFile();
    tamper(path, "DELETE FROM events WHERE seq = 6");
    assert.deepEqual(problemsOf(path), [
      { row: 6, problem: "removed", detail: "row 6 is missing from the chain" },
    ]);
  });

  test("several consecutive rows deleted are reported as one range", () => {
    const path = chainedFile();
    tamper(path, "DELETE FROM events WHERE seq BETWEEN 3 AND 5");
    assert.deepEqual(problemsOf(path), [
      { row: 3, problem: "removed", detail: "rows 3..5 are missing from the chain" },
    ]);
  });

  test("the newest rows deleted are detected through the chain head", () => {
    const path = chainedFile();
    tamper(path, "DELETE FROM events WHERE seq >= 13");
    const problems = problemsOf(path);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.row, 13);
    assert.equal(problems[0]?.problem, "removed");
    assert.match(problems[0]?.detail ?? "", /newest rows 13..14 are missing/);
  });

  test("deleting the chain head too is reported", () => {
    const path = chainedFile();
    tamper(path, "DELETE FROM chain_head");
    assert.deepEqual(
      problemsOf(path).map((p) => [p.row, p.problem]),
      [[14, "bad-link"]],
    );
  });

  test("writing after the newest rows were deleted keeps the gap visible", () => {
    const path = chainedFile();
    tamper(path, "DELETE FROM events WHERE seq = 14");
    const index = openAuditIndex({ path });
    recordAll(index, typicalConnection(connection({ session: "s-later", startMs: 300_000 })));
    assert.deepEqual(
      index.verifyChain().map((p) => [p.row, p.problem]),
      [[14, "removed"]],
    );
    index.close();
  });

  test("two rows swapped are reported as reordered at the first of them", () => {
    const path = chainedFile();
    const db = new Database(path);
    db.transaction(() => {
      db.prepare("UPDATE events SET seq = -1 WHERE seq = 7").run();
      db.prepare("UPDATE events SET seq = 7 WHERE seq = 8").run();
      db.prepare("UPDATE events SET seq = 8 WHERE seq = -1").run();
    })();
    db.close();
    const [first] = problemsOf(path);
    assert.deepEqual(first, {
      row: 7,
      problem: "reordered",
      detail: "the row stored at 7 follows the row now stored at 8, not row 6",
    });
  });

  test("a well-formed row appended outside the index is caught by the chain head", () => {
    const path = chainedFile();
    const db = new Database(path);
    const last = eventRow(db, 14);
    const fields = '{"line":"forged"}';
    const hash = chainHash(last.hash, 15, last.time, "command", fields);
    db.prepare(
      "INSERT INTO events (seq, time, event, fields, prev_hash, hash) VALUES (15, ?, 'command', ?, ?, ?)",
    ).run(last.time, fields, last.hash, hash);
    db.close();
    assert.deepEqual(
      problemsOf(path).map((p) => [p.row, p.problem]),
      [[15, "bad-link"]],
    );
  });
});
