// Tests for failing closed (src/recording/session-recording.ts and
// local-store.ts) on real filesystems: a full 256 KiB tmpfs (needs root, to
// mount it), a read-only mount, and a backlog larger than the memory bound.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { fileDigest } from "../../src/recording/fd-io.js";
import {
  createLocalRecordingStore,
  RecordingError,
  type SessionRecording,
} from "../../src/recording/index.js";
import { parseCast } from "./helpers.js";

const root = mkdtempSync(join(tmpdir(), "portcullis-recording-fail-closed-"));
const full = join(root, "full");
const readOnly = join(root, "read-only");
const STARTED = new Date("2026-11-22T03:16:00Z");
const HEADER = { width: 80, height: 24, term: "xterm", title: "t", startedAt: STARTED };

function mountTmpfs(dir: string, options: string): void {
  mkdirSync(dir);
  execFileSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]);
}

before(() => {
  mountTmpfs(full, "size=256k,mode=0755");
  mountTmpfs(readOnly, "size=64k,ro");
});
after(() => {
  for (const dir of [full, readOnly]) execFileSync("umount", [dir]);
  rmSync(root, { recursive: true, force: true });
});

/** Collects failures; resolves `first` on the first one. */
function watchFailures(recording: SessionRecording) {
  const errors: Error[] = [];
  const first = new Promise<Error>((resolve) =>
    recording.onFailure((error) => {
      errors.push(error);
      resolve(error);
    }),
  );
  return { errors, first };
}

function isOneLineRecordingError(error: unknown, code: string, pattern: RegExp): boolean {
  return (
    error instanceof RecordingError &&
    error.code === code &&
    pattern.test(error.message) &&
    !error.message.includes("\n")
  );
}

/** Writes a filler file until the filesystem is full. */
function fillUp(dir: string): void {
  const fd = openSync(join(dir, "filler"), "w");
  try {
    for (;;) writeSync(fd, Buffer.alloc(4096, 1));
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, "ENOSPC");
  } finally {
    closeSync(fd);
  }
}

describe("a full disk", () => {
  const store = createLocalRecordingStore({ dir: full, fsyncIntervalMs: 5, now: Date.now });

  test("fails a running recording once, with a one-line ENOSPC error, leaving a valid file", async () => {
    const recording = store.create("20261122T031600Z-full000001", HEADER);
    const failures = watchFailures(recording);
    const chunk = Buffer.from(`${"output that fills the disk ".repeat(600)}\r\n`);
    let failed = false;
    void failures.first.then(() => {
      failed = true;
    });
    for (let i = 0; i < 1000 && !failed; i++) {
      recording.output(chunk);
      await recording.whenBelow(2 ** 20); // as a session's output is paced
      await nextTurn();
    }
    const error = await failures.first;
    assert.ok(isOneLineRecordingError(error, "ERR_RECORDING_WRITE", /ENOSPC/), error.message);
    recording.output(chunk);
    const closed = await recording.close();
    await nextTurn();
    assert.equal(failures.errors.length, 1);
    const path = store.absolutePath(recording.relativePath);
    assert.ok(parseCast(path).events.length > 0);
    assert.deepEqual(await fileDigest(path), { sha256: closed.sha256, bytes: closed.bytes });
    rmSync(path);
  });

  test("a listener added after the failure is still told, once", async () => {
    const recording = store.create("20261122T031600Z-full000002", HEADER);
    recording.output(Buffer.alloc(300_000, 0x61));
    await watchFailures(recording).first;
    const late = watchFailures(recording);
    assert.match((await late.first).message, /ENOSPC/);
    await recording.close();
    rmSync(store.absolutePath(recording.relativePath));
  });

  test("refuses a new recording with a one-line error and leaves no file behind", () => {
    fillUp(full);
    assert.throws(
      () => store.create("20261122T031600Z-full000003", HEADER),
      (error: unknown) => isOneLineRecordingError(error, "ERR_RECORDING_CREATE", /ENOSPC/),
    );
    assert.ok(!existsSync(store.absolutePath("2026/11/22/20261122T031600Z-full000003.cast")));
  });
});

test("a read-only directory refuses new recordings with a one-line error", () => {
  const store = createLocalRecordingStore({ dir: readOnly, fsyncIntervalMs: 5, now: Date.now });
  assert.throws(
    () => store.create("20261122T031600Z-readonly01", HEADER),
    (error: unknown) => isOneLineRecordingError(error, "ERR_RECORDING_CREATE", /EROFS/),
  );
});

test("more unwritten data than the bound fails the recording instead of growing", async () => {
  const dir = join(root, "backlog");
  const store = createLocalRecordingStore({
    dir,
    fsyncIntervalMs: 5,
    now: Date.now,
    maxBufferedBytes: 64 * 1024,
  });
  const recording = store.create("20261122T031600Z-backlog001", HEADER);
  const failures = watchFailures(recording);
  for (let i = 0; i < 100; i++) recording.output(Buffer.alloc(4096, 0x62));
  const error = await failures.first;
  assert.ok(
    isOneLineRecordingError(error, "ERR_RECORDING_BACKLOG", /more than 0\.1 MiB/),
    error.message,
  );
  const closed = await recording.close();
  assert.equal(failures.errors.length, 1);
  const path = store.absolutePath(recording.relativePath);
  assert.ok(parseCast(path).events.length < 17);
  assert.deepEqual(await fileDigest(path), { sha256: closed.sha256, bytes: closed.bytes });
});
