// Tests for crash durability (src/recording/session-recording.ts and
// interrupted.ts): a real child process is SIGKILLed while it writes; the
// file is valid v2 up to the last write, and closeInterrupted() cuts torn or
// zero-filled tails, appends one "interrupted" marker and is repeatable.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createLocalRecordingStore, type RecordingStore } from "../../src/recording/index.js";
import { asciinemaCat, outputText, parseCast, tempRoot } from "./helpers.js";

const root = tempRoot("recording-durability");
const CRASH_WRITER = fileURLToPath(new URL("./fixtures/crash-writer.js", import.meta.url));
let counter = 0;

function newStore(): { store: RecordingStore; dir: string } {
  const dir = `${root}/${counter++}`;
  return { dir, store: createLocalRecordingStore({ dir, fsyncIntervalMs: 10, now: Date.now }) };
}

/** Runs the crash writer, SIGKILLs it once it flushed and wrote a bit more. */
function runAndKill(dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CRASH_WRITER, dir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    let relativePath: string | undefined;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const match = /^flushed (\S+)\n/.exec(stdout);
      if (match?.[1] === undefined || relativePath !== undefined) return;
      relativePath = match[1];
      const path = `${dir}/${relativePath}`;
      const flushedSize = statSync(path).size;
      const poll = setInterval(() => {
        if (statSync(path).size < flushedSize + 200) return;
        clearInterval(poll);
        child.kill("SIGKILL");
      }, 2);
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      if (signal !== "SIGKILL" || relativePath === undefined)
        reject(new Error(`crash writer ended without being killed: ${stdout}`));
      else resolve(relativePath);
    });
  });
}

function sha256Of(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

describe("a bastion killed mid-session", () => {
  test("leaves a valid v2 file up to its last write; closeInterrupted marks it", async () => {
    const { dir, store } = newStore();
    const relativePath = await runAndKill(dir);
    const path = store.absolutePath(relativePath);
    const killed = parseCast(path);
    assert.equal(killed.header.title, "crash test");
    assert.match(outputText(killed), /^before the kill\r\nafter flush 0\r\n/);
    assert.ok(killed.events.some(([, code, data]) => code === "m" && data === "allow: ls -la"));

    const [closed, ...others] = await store.closeInterrupted([relativePath]);
    assert.deepEqual(others, []);
    assert.deepEqual(closed, {
      relativePath,
      sha256: sha256Of(path),
      bytes: statSync(path).size,
    });
    const repaired = parseCast(path);
    assert.deepEqual(repaired.events.slice(0, -1), killed.events);
    const last = repaired.events.at(-1);
    assert.deepEqual(last, [killed.events.at(-1)?.[0], "m", "interrupted"]);
    assert.match(asciinemaCat(path), /before the kill/);
  });
});

describe("the writer thread stopping mid-session", () => {
  test("fails the open recording once and closes its file as a crash would, marked", async () => {
    const { store } = newStore();
    const header = { width: 80, height: 24, title: "writer stops", startedAt: new Date() };
    const recording = store.create("20261122T031600Z-stopped001", header);
    const failures: Error[] = [];
    recording.onFailure((error) => failures.push(error));
    recording.output(Buffer.from("written before the stop\r\n"));
    await recording.whenBelow(0);
    await store.close();
    recording.output(Buffer.from("after the stop\r\n"));
    const closed = await recording.close();
    assert.equal(failures.length, 1);
    assert.match(
      failures[0]?.message ?? "",
      /^recording \S+ could not be written: the writer thread stopped/,
    );
    const path = store.absolutePath(recording.relativePath);
    assert.deepEqual(closed, {
      relativePath: recording.relativePath,
      sha256: sha256Of(path),
      bytes: statSync(path).size,
    });
    const cast = parseCast(path);
    assert.equal(outputText(cast), "written before the stop\r\n");
    assert.equal(cast.events.at(-1)?.[2], "interrupted");

    const next = store.create("20261122T031600Z-stopped002", header);
    next.output(Buffer.from("a new writer thread\r\n"));
    await next.close();
    assert.equal(
      outputText(parseCast(store.absolutePath(next.relativePath))),
      "a new writer thread\r\n",
    );
  });
});

describe("closeInterrupted()", () => {
  function writeFile(store: RecordingStore, relativePath: string, content: string): string {
    const path = store.absolutePath(relativePath);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    return path;
  }
  const HEADER =
    '{"version":2,"width":80,"height":24,"timestamp":1795000000,"env":{},"title":"t"}\n';
  const EVENTS = '[0.5, "o", "one\\r\\n"]\n[1.25, "o", "two\\r\\n"]\n';

  test("drops a torn last line and the zeros a power loss can leave", async () => {
    const { store } = newStore();
    const torn = writeFile(store, "2026/11/22/torn.cast", `${HEADER}${EVENTS}[1.5, "o", "thr`);
    const zeros = writeFile(store, "2026/11/22/zeros.cast", HEADER + EVENTS);
    appendFileSync(zeros, Buffer.alloc(5000));
    const closed = await store.closeInterrupted(["2026/11/22/torn.cast", "2026/11/22/zeros.cast"]);
    assert.equal(closed.length, 2);
    for (const path of [torn, zeros])
      assert.equal(
        readFileSync(path, "utf8"),
        `${HEADER}${EVENTS}[1.250000, "m", "interrupted"]\n`,
      );
  });

  test("drops complete trailing lines that are not JSON", async () => {
    const { store } = newStore();
    const path = writeFile(
      store,
      "2026/11/22/junk.cast",
      `${HEADER}${EVENTS}garbage\n\u0000\u0000\n`,
    );
    await store.closeInterrupted(["2026/11/22/junk.cast"]);
    assert.equal(readFileSync(path, "utf8"), `${HEADER}${EVENTS}[1.250000, "m", "interrupted"]\n`);
  });

  test("a file with only its header gets the marker at 0", async () => {
    const { store } = newStore();
    const path = writeFile(store, "2026/11/22/empty.cast", HEADER);
    await store.closeInterrupted(["2026/11/22/empty.cast"]);
    assert.equal(readFileSync(path, "utf8"), `${HEADER}[0.000000, "m", "interrupted"]\n`);
  });

  test("handles lines longer than its read block", async () => {
    const { store } = newStore();
    const long = `[2.0, "o", "${"x".repeat(200_000)}"]\n`;
    const path = writeFile(store, "2026/11/22/long.cast", `${HEADER}${EVENTS}${long}[2.5, "o", "y`);
    await store.closeInterrupted(["2026/11/22/long.cast"]);
    assert.equal(
      readFileSync(path, "utf8"),
      `${HEADER}${EVENTS}${long}[2.000000, "m", "interrupted"]\n`,
    );
  });

  test("running it again changes nothing and returns the same digest", async () => {
    const { store } = newStore();
    const path = writeFile(store, "2026/11/22/twice.cast", HEADER + EVENTS);
    const [first] = await store.closeInterrupted(["2026/11/22/twice.cast"]);
    const [second] = await store.closeInterrupted(["2026/11/22/twice.cast"]);
    assert.deepEqual(second, first);
    assert.equal(first?.sha256, sha256Of(path));
  });

  test("skips absent files and files without a header, leaving them as they are", async () => {
    const { store } = newStore();
    const path = writeFile(store, "2026/11/22/noheader.cast", EVENTS);
    const closed = await store.closeInterrupted([
      "2026/11/22/absent.cast",
      "2026/11/22/noheader.cast",
    ]);
    assert.deepEqual(closed, []);
    assert.equal(readFileSync(path, "utf8"), EVENTS);
  });

  test("refuses a path outside the store", async () => {
    const { store } = newStore();
    await assert.rejects(store.closeInterrupted(["../../etc/passwd"]), {
      code: "ERR_RECORDING_PATH",
    });
  });
});
