// Tests for the asciicast v2 writer (src/recording/session-recording.ts,
// local-store.ts): layout and modes, header, o/i/r/m events and their times,
// UTF-8 split across calls, close() digest, refusals, and replay by the real
// asciinema.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { describe, test } from "node:test";
import {
  type CastHeader,
  createLocalRecordingStore,
  RecordingError,
} from "../../src/recording/index.js";
import { asciinemaCat, manualClock, outputText, parseCast, tempRoot } from "./helpers.js";

process.umask(0o022);
const root = tempRoot("recording-format");
const STARTED = new Date("2026-11-22T23:59:58.500Z");
const clock = manualClock(STARTED.getTime());
const store = createLocalRecordingStore({ dir: root, fsyncIntervalMs: 50, now: clock.now });
let counter = 0;

function newRecording(overrides: Partial<CastHeader> = {}) {
  const id = `20261122T235958Z-${(counter++).toString().padStart(10, "0")}`;
  const header = { width: 132, height: 43, term: "xterm-256color", title: "alice → root@web1" };
  return store.create(id, { ...header, startedAt: STARTED, ...overrides });
}

describe("layout and header", () => {
  test("the file is YYYY/MM/DD/<id>.cast by the UTC start date, 0640 in 0750 directories", async () => {
    const recording = newRecording();
    await recording.close();
    assert.equal(recording.relativePath, "2026/11/22/20261122T235958Z-0000000000.cast");
    const path = store.absolutePath(recording.relativePath);
    assert.equal(statSync(path).mode & 0o777, 0o640);
    for (let dir = dirname(path); dir !== root; dir = dirname(dir))
      assert.equal(statSync(dir).mode & 0o777, 0o750, dir);
  });

  test("the header has version, size, unix timestamp, TERM and title", async () => {
    const recording = newRecording();
    await recording.close();
    const cast = parseCast(store.absolutePath(recording.relativePath));
    assert.deepEqual(cast.header, {
      version: 2,
      width: 132,
      height: 43,
      timestamp: Math.floor(STARTED.getTime() / 1000),
      env: { TERM: "xterm-256color" },
      title: "alice → root@web1",
    });
    assert.deepEqual(cast.events, []);
  });

  test("without a TERM the header's env is empty", async () => {
    const recording = newRecording({ term: undefined });
    await recording.close();
    assert.deepEqual(parseCast(store.absolutePath(recording.relativePath)).header.env, {});
  });
});

describe("events", () => {
  test("o, i, r and m lines in call order, timed in seconds since the start", async () => {
    const recording = newRecording();
    clock.advance(1234);
    recording.output(Buffer.from("$ "));
    recording.input("ls -la\r");
    clock.advance(10);
    recording.marker("allow: ls -la");
    recording.resize(200, 50);
    recording.input(Buffer.from("x"));
    await recording.close();
    const cast = parseCast(store.absolutePath(recording.relativePath));
    assert.deepEqual(cast.events, [
      [1.234, "o", "$ "],
      [1.234, "i", "ls -la\r"],
      [1.244, "m", "allow: ls -la"],
      [1.244, "r", "200x50"],
      [1.244, "i", "x"],
    ]);
  });

  test("times never go backwards when the clock does", async () => {
    const recording = newRecording();
    clock.advance(5000);
    recording.output(Buffer.from("a"));
    clock.advance(-3000);
    recording.output(Buffer.from("b"));
    await recording.close();
    const times = parseCast(store.absolutePath(recording.relativePath)).events.map(([t]) => t);
    assert.equal(times[1], times[0]);
  });

  test("a UTF-8 character split across output() and input() calls is joined", async () => {
    const recording = newRecording();
    const text = "héllo € 🦊 done";
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i++) recording.output(bytes.subarray(i, i + 1));
    const fox = Buffer.from("🦊");
    recording.input(fox.subarray(0, 3));
    recording.input(fox.subarray(3));
    await recording.close();
    const cast = parseCast(store.absolutePath(recording.relativePath));
    assert.equal(outputText(cast), text);
    assert.ok(!outputText(cast).includes("\uFFFD"));
    assert.deepEqual(
      cast.events.filter(([, code]) => code === "i").map(([, , data]) => data),
      ["🦊"],
    );
  });

  test("bytes of an unfinished character at close() become U+FFFD", async () => {
    const recording = newRecording();
    recording.output(Buffer.from([0x61, 0xe2, 0x82]));
    await recording.close();
    assert.equal(outputText(parseCast(store.absolutePath(recording.relativePath))), "a\uFFFD");
  });

  test("control characters and quotes are escaped into valid JSON", async () => {
    const recording = newRecording();
    const nasty = '\u001b[31m"red"\\\u0000\r\n\u2028';
    recording.output(Buffer.from(nasty));
    await recording.close();
    assert.equal(outputText(parseCast(store.absolutePath(recording.relativePath))), nasty);
  });
});

describe("close()", () => {
  test("resolves with the SHA-256 and size of the whole file, every time it is called", async () => {
    const recording = newRecording();
    recording.output(Buffer.from("some output\r\n"));
    const first = await recording.close();
    const second = await recording.close();
    const content = readFileSync(store.absolutePath(recording.relativePath));
    assert.deepEqual(first, {
      relativePath: recording.relativePath,
      sha256: createHash("sha256").update(content).digest("hex"),
      bytes: content.length,
    });
    assert.deepEqual(second, first);
  });

  test("events after close() are ignored", async () => {
    const recording = newRecording();
    const closed = await recording.close();
    recording.output(Buffer.from("late"));
    recording.marker("late");
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(statSync(store.absolutePath(recording.relativePath)).size, closed.bytes);
  });
});

describe("refusals", () => {
  test("an existing recording is never overwritten", async () => {
    const recording = newRecording();
    await recording.close();
    const id = recording.relativePath.slice("2026/11/22/".length, -".cast".length);
    const header = { width: 80, height: 24, title: "again", startedAt: STARTED };
    assert.throws(
      () => store.create(id, header),
      (error: unknown) =>
        error instanceof RecordingError &&
        error.code === "ERR_RECORDING_CREATE" &&
        /EEXIST/.test(error.message) &&
        !error.message.includes("\n"),
    );
  });

  test("ids and sizes that are not safe are refused", () => {
    const header = { width: 80, height: 24, title: "t", startedAt: STARTED };
    for (const id of ["../escape", "a/b", "", ".hidden"])
      assert.throws(() => store.create(id, header), { code: "ERR_RECORDING_CREATE" });
    assert.throws(() => store.create("ok-id", { ...header, width: 0 }), {
      code: "ERR_RECORDING_CREATE",
      message: "recording ok-id cannot be created: width must be an integer from 1 to 10000",
    });
  });

  test("absolutePath() accepts only YYYY/MM/DD/<id>.cast", () => {
    for (const path of ["../../etc/passwd", "2026/11/22/../../x.cast", "/etc/x.cast"])
      assert.throws(() => store.absolutePath(path), { code: "ERR_RECORDING_PATH" });
  });
});

test("the real asciinema replays the file and shows the recorded output", async () => {
  const recording = newRecording();
  recording.output(Buffer.from("hello from portcullis\r\n"));
  clock.advance(100);
  recording.marker("allow: echo");
  recording.resize(100, 30);
  recording.output(Buffer.from("gr"));
  recording.output(Buffer.from("üße €\r\n").subarray(0, 2));
  recording.output(Buffer.from("üße €\r\n").subarray(2));
  await recording.close();
  const played = asciinemaCat(store.absolutePath(recording.relativePath));
  assert.match(played, /hello from portcullis/);
  assert.match(played, /grüße €/);
});
