// Retention (src/serve/retention.ts) on real recordings and a real SQLite
// index in private temp dirs, with an injected clock: old recordings are
// removed, audited and marked pruned; recent, open, changed, unknown and
// outside files are never touched; emptied date directories go; the timer
// runs at start-up and then on its interval; `portcullis recordings verify`
// stays quiet about pruned rows and still reports a file that disappeared.

import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import type { AuditEventName } from "../../src/audit/events.js";
import type { AuditFields, AuditLog } from "../../src/audit/log.js";
import {
  createLocalRecordingStore,
  generateAuditKey,
  loadAuditKey,
  recordingSignedMessage,
  type SessionRecording,
} from "../../src/recording/index.js";
import {
  createSessionRecordings,
  indexedAuditLog,
  type RecordingsSetup,
} from "../../src/serve/recordings.js";
import {
  pruneRecordings,
  type RetentionSetup,
  startRetentionPruner,
} from "../../src/serve/retention.js";
import { type AuditIndex, openAuditIndex, type RecordingRow } from "../../src/store/index.js";
import { initSetup, makeTempDir, removeDir } from "../cli/cli.js";
import { tempRoot } from "../recording/helpers.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse("2026-11-22T12:00:00.000Z");
const RETENTION = 365 * DAY;
/** A small valid JSON file and its digest, for forged rows. */
const TINY = {
  text: "{}\n",
  sha256: "ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356",
  bytes: 3,
};

/** An audit log that keeps what it is given (own properties: indexedAuditLog spreads it). */
class MemoryAudit implements AuditLog {
  readonly events: { event: AuditEventName; fields: AuditFields }[] = [];
  readonly errors: { message: string; fields: Record<string, unknown> }[] = [];
  readonly emit = (event: AuditEventName, fields: AuditFields = {}) => {
    this.events.push({ event, fields });
  };
  readonly info = () => {};
  readonly error = (message: string, fields: Record<string, unknown> = {}) => {
    this.errors.push({ message, fields });
  };
  readonly flush = () => {};

  pruned(): AuditFields[] {
    return this.events.filter((e) => e.event === "recording.pruned").map((e) => e.fields);
  }
}

interface Paths {
  recordingsDir: string;
  databasePath: string;
  keyPath: string;
}

interface Recorded {
  session: string;
  ids: string[];
  /** Absolute paths of the channels' files. */
  files: string[];
}

interface SessionPlan {
  startMs: number;
  /** When the channels close; absent: left open (a crash nobody recovered). */
  closeMs?: number;
  /** When the session ends; absent: still running. */
  endMs?: number;
  channels?: number;
}

/** The serve wiring on temp paths: a real store, index and key, every clock the test's. */
class Bench {
  readonly audit = new MemoryAudit();
  readonly index: AuditIndex;
  readonly setup: RetentionSetup;
  private readonly recordings: RecordingsSetup;
  readonly open: SessionRecording[] = [];
  clockMs = NOW;
  private serial = 0;

  constructor(readonly paths: Paths) {
    this.index = openAuditIndex({ path: paths.databasePath });
    const now = () => new Date(this.clockMs);
    const recordings: RecordingsSetup = {
      store: createLocalRecordingStore({
        dir: paths.recordingsDir,
        fsyncIntervalMs: 10,
        now: () => this.clockMs,
      }),
      index: this.index,
      key: loadAuditKey(paths.keyPath),
      required: true,
      recordInput: false,
      now,
    };
    const audit = indexedAuditLog(this.audit, this.index, now);
    this.recordings = recordings;
    this.setup = { ...recordings, audit, retentionMs: RETENTION };
  }

  static inTemp(name: string): Bench {
    const root = tempRoot(name);
    const keyPath = join(root, "audit_ed25519");
    generateAuditKey(keyPath);
    return new Bench({
      recordingsDir: join(root, "recordings"),
      databasePath: join(root, "index.db"),
      keyPath,
    });
  }

  async session(plan: SessionPlan): Promise<Recorded> {
    const session = this.sessionId(plan.startMs);
    const identity = { session, user: "alice", target: "db1", login: "postgres" };
    this.clockMs = plan.startMs;
    this.setup.audit.emit("session.start", identity);
    const ids = Array.from({ length: plan.channels ?? 1 }, (_, n) =>
      n === 0 ? session : `${session}.${n + 1}`,
    );
    const recordings = ids.map((id) => this.openChannel(id, session, plan.startMs));
    if (plan.closeMs !== undefined) {
      this.clockMs = plan.closeMs;
      await Promise.all(recordings.map((recording) => recording.close()));
    } else {
      this.open.push(...recordings);
    }
    if (plan.endMs !== undefined) {
      this.clockMs = plan.endMs;
      this.setup.audit.emit("session.end", identity);
    }
    this.clockMs = NOW;
    const files = recordings.map((r) => join(this.paths.recordingsDir, r.relativePath));
    return { session, ids, files };
  }

  /** A closed recording whose session ended at `endMs` (a quarter of an hour after it started). */
  ended(endMs: number, channels = 1): Promise<Recorded> {
    return this.session({ startMs: endMs - HOUR / 4, closeMs: endMs, endMs, channels });
  }

  prune(overrides: Partial<RetentionSetup> = {}) {
    return pruneRecordings({ ...this.setup, ...overrides });
  }

  row(id: string): RecordingRow {
    const row = this.index.recordings().find((candidate) => candidate.id === id);
    assert.ok(row, `recording ${id} in the index`);
    return row;
  }

  keptReasons(): Map<string, string> {
    return new Map(
      this.audit.errors.map((e) => [String(e.fields.recording), String(e.fields.reason)]),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.open.map((recording) => recording.close()));
    this.index.close();
  }

  private openChannel(id: string, session: string, startMs: number): SessionRecording {
    const recording = createSessionRecordings(this.recordings).open(id, session, {
      width: 80,
      height: 24,
      title: "alice → postgres@db1",
      startedAt: new Date(startMs),
    });
    recording.output(Buffer.from(`hello from ${id}\r\n`));
    recording.marker("allow: ls -la");
    return recording;
  }

  private sessionId(startMs: number): string {
    const compact = new Date(startMs).toISOString().replace(/[-:]|\.\d{3}/g, "");
    return `${compact}-${(this.serial++).toString(16).padStart(10, "0")}`;
  }
}

const dayDirectory = (file: string) => dirname(file);
const yearDirectory = (file: string) => dirname(dirname(dirname(file)));

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((wake) => setTimeout(wake, 10));
  }
}

describe("pruneRecordings", () => {
  test("removes old recordings, audits each, marks them pruned and removes emptied directories", async () => {
    const bench = Bench.inTemp("retention-old");
    const twoChannels = await bench.ended(NOW - 400 * DAY, 2);
    const otherYear = await bench.ended(NOW - 800 * DAY);
    const recent = await bench.ended(NOW - 10 * DAY);

    const outcome = await bench.prune();

    const old = [...twoChannels.ids, ...otherYear.ids];
    assert.deepEqual(outcome, { pruned: [...otherYear.ids, ...twoChannels.ids], kept: [] });
    for (const file of [...twoChannels.files, ...otherYear.files]) assert.ok(!existsSync(file));
    assert.ok(existsSync(recent.files[0] ?? ""), "the recent recording is kept");
    assert.ok(!existsSync(yearDirectory(otherYear.files[0] ?? "")), "an emptied year goes");
    assert.ok(!existsSync(dayDirectory(twoChannels.files[0] ?? "")), "an emptied day goes");
    assert.ok(existsSync(bench.paths.recordingsDir), "the root stays");

    const expected = old.map((id) => {
      const row = bench.row(id);
      assert.deepEqual(row.prunedAt, new Date(NOW));
      return {
        recording: id,
        path: row.relativePath,
        session: row.session,
        ended_at: new Date(row.endedAt?.getTime() ?? 0).toISOString(),
        bytes: row.bytes,
        sha256: row.sha256,
      };
    });
    const byId = (a: AuditFields, b: AuditFields) =>
      String(a.recording).localeCompare(String(b.recording));
    assert.deepEqual(bench.audit.pruned().sort(byId), expected.sort(byId));
    assert.equal(bench.row(recent.session).prunedAt, undefined);
    assert.deepEqual(bench.audit.errors, []);
    assert.deepEqual(
      bench.index.verifyChain(),
      [],
      "the audit rows, pruned events included, chain",
    );

    assert.deepEqual(await bench.prune(), { pruned: [], kept: [] }, "a second pass has nothing");
    await bench.close();
  });

  test("keeps recent recordings, open ones, and closed channels of a session still running", async () => {
    const bench = Bench.inTemp("retention-keep");
    const recent = await bench.ended(NOW - 364 * DAY);
    const neverClosed = await bench.session({ startMs: NOW - 500 * DAY, endMs: NOW - 499 * DAY });
    const running = await bench.session({ startMs: NOW - 500 * DAY, closeMs: NOW - 499 * DAY });

    assert.deepEqual(await bench.prune(), { pruned: [], kept: [] });
    for (const file of [...recent.files, ...neverClosed.files, ...running.files])
      assert.ok(existsSync(file), file);
    assert.equal(bench.row(neverClosed.session).status, "open");
    assert.deepEqual(bench.audit.pruned(), []);
    await bench.close();
  });

  test("keeps a changed, truncated or re-digested file and reports it on every pass", async () => {
    const bench = Bench.inTemp("retention-changed");
    const [flipped, truncated, redigested] = [
      await bench.ended(NOW - 400 * DAY),
      await bench.ended(NOW - 400 * DAY),
      await bench.ended(NOW - 400 * DAY),
    ].map((recorded) => ({ id: recorded.session, file: recorded.files[0] ?? "" }));
    assert.ok(flipped && truncated && redigested);
    const bytes = readFileSync(flipped.file);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 1;
    writeFileSync(flipped.file, bytes);
    truncateSync(truncated.file, 10);
    writeFileSync(redigested.file, TINY.text);
    const db = new Database(bench.paths.databasePath); // an attacker also rewrites the digest
    db.prepare("UPDATE recordings SET sha256 = ?, bytes = ? WHERE id = ?").run(
      TINY.sha256,
      TINY.bytes,
      redigested.id,
    );
    db.close();
    const contents = () => [flipped, truncated, redigested].map((r) => readFileSync(r.file));
    const before = contents();

    for (let pass = 1; pass <= 2; pass++) {
      const outcome = await bench.prune();
      assert.deepEqual(outcome.pruned, []);
      assert.equal(outcome.kept.length, 3);
      assert.equal(bench.audit.errors.length, 3 * pass);
    }
    assert.deepEqual(contents(), before, "kept byte for byte");
    const reasons = bench.keptReasons();
    assert.match(reasons.get(flipped.id) ?? "", /^changed: sha256 /);
    assert.match(reasons.get(truncated.id) ?? "", /^truncated: 10 bytes/);
    assert.match(reasons.get(redigested.id) ?? "", /^bad-signature: /);
    for (const r of [flipped, truncated, redigested])
      assert.equal(bench.row(r.id).prunedAt, undefined);
    assert.deepEqual(bench.audit.pruned(), []);
    await bench.close();
  });

  test("never touches a file outside the store or unknown to the index", async () => {
    const bench = Bench.inTemp("retention-outside");
    const outside = join(dirname(bench.paths.recordingsDir), "outside");
    mkdirSync(outside);
    const neighbour = await bench.ended(NOW - 400 * DAY);
    const stray = join(dayDirectory(neighbour.files[0] ?? ""), "stray.cast");
    writeFileSync(stray, "not in the index\n");

    const linkedDay = await bench.ended(NOW - 500 * DAY);
    const linkedDayFile = linkedDay.files[0] ?? "";
    const movedDay = join(outside, "day");
    renameSync(dayDirectory(linkedDayFile), movedDay);
    symlinkSync(movedDay, dayDirectory(linkedDayFile));

    const linkedFile = await bench.ended(NOW - 600 * DAY);
    const movedFile = join(outside, "file.cast");
    renameSync(linkedFile.files[0] ?? "", movedFile);
    symlinkSync(movedFile, linkedFile.files[0] ?? "");

    const escaping = "20250101T000000Z-escaping";
    const escapingFile = join(outside, "escaping.cast");
    writeFileSync(escapingFile, TINY.text);
    bench.index.recordingOpened({
      id: escaping,
      session: escaping,
      relativePath: "../outside/escaping.cast",
      startedAt: new Date(NOW - 700 * DAY),
    });
    bench.index.recordingClosed(escaping, {
      endedAt: new Date(NOW - 700 * DAY),
      sha256: TINY.sha256,
      bytes: TINY.bytes,
      signature: bench.setup.key.sign(recordingSignedMessage(escaping, TINY.sha256, TINY.bytes)),
      status: "closed",
    });

    const outcome = await bench.prune();

    assert.deepEqual(outcome.pruned, neighbour.ids);
    assert.deepEqual(
      [...outcome.kept].sort(),
      [escaping, linkedDay.session, linkedFile.session].sort(),
    );
    assert.equal(readFileSync(stray, "utf8"), "not in the index\n");
    assert.ok(existsSync(join(movedDay, readdirSync(movedDay)[0] ?? "missing")));
    assert.equal(readdirSync(movedDay).length, 1);
    assert.ok(existsSync(movedFile));
    assert.ok(existsSync(escapingFile));
    const reasons = bench.keptReasons();
    assert.match(reasons.get(linkedDay.session) ?? "", /leads outside the recordings directory/);
    assert.match(reasons.get(linkedFile.session) ?? "", /not a regular file/);
    assert.match(reasons.get(escaping) ?? "", /is not a recording path/);
    await bench.close();
  });

  test("leaves today's directory even when its last recording goes", async () => {
    const bench = Bench.inTemp("retention-today");
    const earlyToday = await bench.ended(NOW - 2 * HOUR);
    const outcome = await bench.prune({ retentionMs: HOUR });
    assert.deepEqual(outcome.pruned, earlyToday.ids);
    const today = dayDirectory(earlyToday.files[0] ?? "");
    assert.ok(today.endsWith(join("2026", "11", "22")));
    assert.deepEqual(readdirSync(today), []);
    await bench.close();
  });
});

describe("startRetentionPruner", () => {
  test("prunes at once, then on every interval, until closed", async () => {
    const bench = Bench.inTemp("retention-timer");
    const first = await bench.ended(NOW - 400 * DAY);
    const second = await bench.ended(NOW - 360 * DAY);
    const pruned = () => bench.audit.pruned().map((fields) => fields.recording);

    const once = startRetentionPruner(bench.setup, HOUR);
    await once.close();
    assert.deepEqual(pruned(), first.ids, "the start-up pass ran, and close() waited for it");

    const pruner = startRetentionPruner(bench.setup, 30);
    bench.clockMs = NOW + 10 * DAY; // after the start-up pass took its cutoff
    await until(() => pruned().length === 2, "a pass on the timer");
    assert.deepEqual(pruned(), [...first.ids, ...second.ids]);

    await pruner.close();
    const late = await bench.ended(NOW - 400 * DAY);
    bench.clockMs = NOW + 10 * DAY;
    await new Promise((wake) => setTimeout(wake, 150));
    assert.ok(existsSync(late.files[0] ?? ""), "no pass after close()");
    await bench.close();
  });
});

describe("recordings verify after pruning", () => {
  test("says nothing about pruned rows and still reports a file that disappeared", async () => {
    const parent = makeTempDir("retention-verify");
    try {
      const setup = await initSetup(join(parent, "setup"));
      const bench = new Bench({
        recordingsDir: join(setup.dir, "recordings"),
        databasePath: join(setup.dir, "data", "portcullis.db"),
        keyPath: join(setup.dir, "keys", "audit_ed25519"),
      });
      const old = await bench.ended(NOW - 400 * DAY, 2);
      const recent = await bench.ended(NOW - 10 * DAY);
      assert.deepEqual((await bench.prune()).pruned, old.ids);
      await bench.close();

      const clean = await setup.cli(["recordings", "verify"]);
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.equal(clean.stdout, "all recordings and audit rows verified\n");
      const show = await setup.cli(["recordings", "show", old.session]);
      assert.match(show.stdout, /\(closed, pruned 2026-11-22T12:00:00\.000Z\)/);

      const recentFile = recent.files[0] ?? "";
      renameSync(recentFile, `${recentFile}.gone`);
      const missing = await setup.cli(["recordings", "verify"]);
      assert.equal(missing.code, 1);
      const relativePath = relative(join(setup.dir, "recordings"), recentFile);
      assert.equal(missing.stdout, `${recent.session}: missing: no file at ${relativePath}\n`);
    } finally {
      removeDir(parent);
    }
  });
});
