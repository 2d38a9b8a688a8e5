// Tests for the write queue (src/store/audit-index.ts): events reach the
// file only when a batch is due (size, age by the injected clock, the timer,
// or an explicit flush), never in the caller's turn, each batch in one
// transaction and one batch per turn; and a failing
// database reaches onFailure, never the caller of record().
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { describe, test } from "node:test";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { type AuditIndex, openAuditIndex } from "../../src/store/index.js";
import { at, connection, freshPath, recordAll, typicalConnection } from "./helpers.js";

/** Counts the events on disk through a separate connection, as another process would. */
function eventsOnDisk(path: string): number {
  const db = new Database(path, { readonly: true });
  const count = db.prepare("SELECT count(*) FROM events").pluck().get() as number;
  db.close();
  return count;
}

function tick(index: AuditIndex, n: number): void {
  index.record({ event: "signal", time: at(n), fields: { session: "s", kind: "test", n } });
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(5);
  }
}

describe("batched writes", () => {
  test("nothing is written until flush() when no batch is due", () => {
    const path = freshPath();
    const index = openAuditIndex({ path, flushIntervalMs: 60_000, maxBatch: 1_000 });
    recordAll(index, typicalConnection(connection()));
    assert.equal(eventsOnDisk(path), 0);
    index.flush();
    assert.equal(eventsOnDisk(path), 7);
    index.close();
  });

  test("a full batch is written in the next turn of the event loop, not in the caller's", async () => {
    const path = freshPath();
    const index = openAuditIndex({ path, flushIntervalMs: 60_000, maxBatch: 5 });
    for (let n = 0; n < 4; n++) tick(index, n);
    await nextTurn();
    assert.equal(eventsOnDisk(path), 0);
    tick(index, 4);
    assert.equal(eventsOnDisk(path), 0);
    await nextTurn();
    assert.equal(eventsOnDisk(path), 5);
    index.close();
  });

  test("a long queue is written one batch per turn", async () => {
    const path = freshPath();
    const index = openAuditIndex({ path, flushIntervalMs: 60_000, maxBatch: 5 });
    for (let n = 0; n < 12; n++) tick(index, n);
    const written: number[] = [];
    for (let turn = 0; turn < 4; turn++) {
      await nextTurn();
      written.push(eventsOnDisk(path));
    }
    assert.deepEqual(written, [5, 10, 12, 12]);
    assert.deepEqual(index.verifyChain(), []);
    index.close();
  });

  test("the oldest queued event's age, by the injected clock, makes a batch due", async () => {
    const path = freshPath();
    let clock = 0;
    const index = openAuditIndex({
      path,
      flushIntervalMs: 1_000,
      maxBatch: 1_000,
      now: () => new Date(clock),
    });
    tick(index, 0);
    clock = 999;
    tick(index, 1);
    assert.equal(eventsOnDisk(path), 0);
    clock = 1_000;
    tick(index, 2);
    await nextTurn();
    assert.equal(eventsOnDisk(path), 3);
    clock = 1_500;
    tick(index, 3);
    await nextTurn();
    assert.equal(eventsOnDisk(path), 3, "the age counts from the oldest event still queued");
    index.close();
    assert.equal(eventsOnDisk(path), 4, "close() writes what is queued");
  });

  test("an idle queue is written by the timer", async () => {
    const path = freshPath();
    const index = openAuditIndex({ path, flushIntervalMs: 20, maxBatch: 1_000 });
    tick(index, 0);
    assert.equal(eventsOnDisk(path), 0);
    await waitFor(() => eventsOnDisk(path) === 1);
    index.close();
  });

  test("a large queue is written in transactions of maxBatch rows, chain intact", () => {
    const path = freshPath();
    const index = openAuditIndex({ path, flushIntervalMs: 60_000, maxBatch: 7 });
    for (let n = 0; n < 100; n++) tick(index, n);
    index.flush();
    assert.equal(eventsOnDisk(path), 100);
    assert.deepEqual(index.verifyChain(), []);
    index.close();
  });
});

describe("failures reach onFailure, not the caller", () => {
  test("a locked database: record() does not throw, the failure is reported and the events are retried", async () => {
    const path = freshPath();
    const index = openAuditIndex({ path, flushIntervalMs: 60_000, maxBatch: 1, busyTimeoutMs: 20 });
    const failures: Error[] = [];
    index.onFailure((error) => failures.push(error));
    const intruder = new Database(path);
    intruder.exec("BEGIN EXCLUSIVE");
    assert.doesNotThrow(() => tick(index, 0));
    assert.doesNotThrow(() => tick(index, 1));
    await waitFor(() => failures.length >= 1);
    assert.match(failures[0]?.message ?? "", /locked|busy/i);
    intruder.exec("ROLLBACK");
    intruder.close();
    index.flush();
    assert.equal(eventsOnDisk(path), 2, "no event was lost");
    assert.deepEqual(index.verifyChain(), []);
    index.close();
  });

  test("recordingOpened on a locked database is reported, not thrown", () => {
    const path = freshPath();
    const index = openAuditIndex({ path, busyTimeoutMs: 20 });
    const failures: Error[] = [];
    index.onFailure((error) => failures.push(error));
    const intruder = new Database(path);
    intruder.exec("BEGIN EXCLUSIVE");
    assert.doesNotThrow(() =>
      index.recordingOpened({ id: "r", session: "s", relativePath: "r.cast", startedAt: at(0) }),
    );
    intruder.exec("ROLLBACK");
    intruder.close();
    assert.equal(failures.length, 1);
    index.close();
  });

  test("an event without a valid time, or with cyclic fields, is refused alone", () => {
    const { index, failures, path } = withFailures();
    const cyclic: Record<string, unknown> = { session: "s" };
    cyclic.self = cyclic;
    index.record({ event: "signal", time: new Date(Number.NaN), fields: {} });
    index.record({ event: "signal", time: at(0), fields: cyclic });
    tick(index, 1);
    index.flush();
    assert.equal(failures.length, 2);
    assert.match(failures[0]?.message ?? "", /valid time/);
    assert.equal(eventsOnDisk(path), 1);
    index.close();
  });

  test("record() after close() is reported, not thrown", () => {
    const { index, failures } = withFailures();
    index.close();
    assert.doesNotThrow(() => tick(index, 0));
    assert.match(failures[0]?.message ?? "", /closed/);
  });

  test("a throwing listener does not reach the caller", () => {
    const { index } = withFailures();
    index.onFailure(() => {
      throw new Error("listener bug");
    });
    index.close();
    assert.doesNotThrow(() => tick(index, 0));
  });
});

function withFailures(): { index: AuditIndex; failures: Error[]; path: string } {
  const path = freshPath();
  const index = openAuditIndex({ path, flushIntervalMs: 60_000 });
  const failures: Error[] = [];
  index.onFailure((error) => failures.push(error));
  return { index, failures, path };
}

describe("WAL checkpoints for the server", () => {
  /** Writes `count` events in batches, waits a little and returns the database file's size. */
  async function fill(index: AuditIndex, path: string, count: number): Promise<number> {
    for (let n = 0; n < count; n++) tick(index, n);
    index.flush();
    await sleep(300);
    return statSync(path).size;
  }

  const serverIndex = (path: string, checkpointIntervalMs: number) =>
    openAuditIndex({ path, flushIntervalMs: 60_000, maxBatch: 100, checkpointIntervalMs });

  test("the writer's commits never checkpoint: the database file waits for the thread", async () => {
    const path = freshPath();
    const index = serverIndex(path, 60_000);
    const before = statSync(path).size;
    assert.equal(await fill(index, path, 20_000), before);
    assert.ok(statSync(`${path}-wal`).size > before, "everything is in the WAL");
    index.close();
  });

  test("the checkpoint thread copies the WAL into the database file every interval", async () => {
    const path = freshPath();
    const index = serverIndex(path, 50);
    const before = statSync(path).size;
    assert.ok((await fill(index, path, 20_000)) > before);
    assert.deepEqual(index.verifyChain(), []);
    index.close();
  });
});
