// The primary destinations (src/audit/destinations.ts) on real files and a
// real child process: a line is in the audit file as soon as `emit`
// returns, rotated or not; rotation starts a new numbered file at the size
// limit, keeps `keep` old ones (across restarts too) and points current.log
// at the file in use; hourly rotation puts the hour in the name; stdout is
// plain JSON lines, with `<N>` priority prefixes only when $JOURNAL_STREAM
// says stdout is the journal.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  closeSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { LoggingConfig } from "../../src/audit/destinations.js";
import { openAuditLog } from "../../src/audit/log.js";
import { ConfigError } from "../../src/util/errors.js";
import { eventually } from "../harness/eventually.js";
import { logLines, testDir } from "./logs-receivers.js";

const dir = testDir("logs-file");

function fileLogging(file: string, rotate?: LoggingConfig["rotate"]): LoggingConfig {
  return { level: "info", stdout: false, audit_file: file, ...(rotate ? { rotate } : {}) };
}

/** The numbered files of `base` (audit.N.log) in `logDir`, by number. */
function numberedFiles(logDir: string): { name: string; number: number; size: number }[] {
  return readdirSync(logDir)
    .flatMap((name) => {
      const match = /^audit\.(\d+)\.log$/.exec(name);
      return match === null
        ? []
        : [{ name, number: Number(match[1]), size: statSync(join(logDir, name)).size }];
    })
    .sort((a, b) => a.number - b.number);
}

test("a line is in the file when emit returns, with and without rotation", async () => {
  const plain = join(dir, "plain", "audit.log");
  const log = await openAuditLog(fileLogging(plain));
  log.emit("session.start", { session: "sync-1" });
  assert.equal(logLines(plain).at(-1)?.session, "sync-1");

  const rotatedDir = join(dir, "sync-rotated");
  const rotated = await openAuditLog(
    fileLogging(join(rotatedDir, "audit.log"), { size: 1_000_000, keep: 3 }),
  );
  rotated.emit("session.start", { session: "sync-2" });
  assert.equal(logLines(join(rotatedDir, "current.log")).at(-1)?.session, "sync-2");
  assert.equal(readlinkSync(join(rotatedDir, "current.log")), "audit.1.log");
});

test("rotation starts a new file at the size limit and keeps `keep` old ones, across restarts", async () => {
  const logDir = join(dir, "rotated");
  const file = join(logDir, "audit.log");
  const rotate = { size: 4000, keep: 2 };
  const emitMany = async (log: Awaited<ReturnType<typeof openAuditLog>>, from: number) => {
    for (let i = from; i < from + 200; i++) {
      log.emit("command", { session: "rot", line: `line ${String(i).padStart(4, "0")}` });
      await nextTurn(); // rotation happens between turns of the event loop
    }
  };
  const first = await openAuditLog(fileLogging(file, rotate));
  await emitMany(first, 0);
  await eventually(() => assert.equal(numberedFiles(logDir).length, 3, "2 old + the current"));
  const files = numberedFiles(logDir);
  const lineSize = (readFileSync(join(logDir, files[0]?.name ?? ""), "utf8").split("\n")[0] ?? "")
    .length;
  for (const old of files.slice(0, -1)) {
    assert.ok(old.size >= 4000 && old.size < 4000 + 2 * lineSize, `${old.name}: ${old.size} bytes`);
  }
  const newest = files.at(-1);
  assert.equal(readlinkSync(join(logDir, "current.log")), newest?.name);
  assert.ok((newest?.number ?? 0) > 3, "older files were removed");
  assert.equal(logLines(join(logDir, "current.log")).at(-1)?.line, "line 0199");

  // a new process continues the numbering and the limit counts the old process's files
  const second = await openAuditLog(fileLogging(file, rotate));
  second.emit("server.start", { ssh_listen: "127.0.0.1:0" });
  assert.equal(numberedFiles(logDir).at(-1)?.number, newest?.number, "continues the last file");
  await emitMany(second, 200);
  await eventually(() => assert.equal(numberedFiles(logDir).length, 3));
  assert.ok((numberedFiles(logDir)[0]?.number ?? 0) > (newest?.number ?? 0) - 2);
});

test("an audit file that cannot be opened fails start-up with one line", async () => {
  writeFileSync(join(dir, "a-file"), "");
  const notADirectory = join(dir, "a-file", "audit.log");
  for (const rotate of [undefined, { size: 1000, keep: 1 }]) {
    await assert.rejects(openAuditLog(fileLogging(notADirectory, rotate)), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^logging\.audit_file: cannot open .*audit\.log: E[A-Z]+$/);
      return true;
    });
  }
});

test("hourly rotation puts the hour in the file name", async () => {
  const logDir = join(dir, "hourly");
  const log = await openAuditLog(
    fileLogging(join(logDir, "audit.log"), { size: 1_000_000, frequency: "hourly", keep: 24 }),
  );
  log.emit("session.start", { session: "hourly" });
  const names = readdirSync(logDir).filter((name) => name !== "current.log");
  assert.equal(names.length, 1);
  assert.match(names[0] ?? "", /^audit\.\d{4}-\d\d-\d\d-\d\d\.1\.log$/);
  assert.equal(logLines(join(logDir, names[0] ?? "")).at(-1)?.session, "hourly");
});

const LOG_MODULE = fileURLToPath(new URL("../../src/audit/log.js", import.meta.url));
const CHILD = `
const { openAuditLog } = await import(process.argv[1]);
const log = await openAuditLog({ level: "info", stdout: true });
log.emit("server.start", { ssh_listen: "127.0.0.1:2222" });
log.error("audit index write failed", { reason: "test" });
`;

/** What a child process writes on stdout (a file), with $JOURNAL_STREAM naming that file or not. */
function childStdout(journal: boolean): string[] {
  const path = join(dir, `stdout-${journal}.txt`);
  const fd = openSync(path, "w");
  try {
    const { dev, ino } = fstatSync(fd, { bigint: true });
    const env = {
      ...process.env,
      JOURNAL_STREAM: journal ? `${dev}:${ino}` : `${dev}:${ino + 1n}`,
    };
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", CHILD, LOG_MODULE], {
      stdio: ["ignore", fd, "pipe"],
      env,
    });
    assert.equal(child.status, 0, child.stderr.toString());
  } finally {
    closeSync(fd);
  }
  return readFileSync(path, "utf8").split("\n").filter(Boolean);
}

test("stdout has plain JSON lines, prefixed with <priority> only when it is the journal", () => {
  const plain = childStdout(false);
  assert.equal(plain.length, 2);
  const [start, failure] = plain.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(start?.event, "server.start");
  assert.equal(start?.level, "info");
  assert.equal(failure?.level, "error");

  const journal = childStdout(true);
  assert.match(journal[0] ?? "", /^<6>\{"level":"info",/);
  assert.match(journal[1] ?? "", /^<3>\{"level":"error",/);
  assert.equal(JSON.parse((journal[0] ?? "").slice(3)).event, "server.start");
});
