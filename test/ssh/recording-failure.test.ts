// Recordings failing closed, end to end: real bastions whose `recordings.dir`
// is a 512 KiB tmpfs the test fills (so root only), real sshd, real ssh.
// A `required` bastion refuses new sessions and ends running ones when the
// disk is full; a `best_effort` one lets them go on; both audit the signal.
// Also `recordings play` and `recordings verify` through the real CLI.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  recordingsAt,
  run,
  startTestBastion,
  type TestBastion,
  type UserKey,
} from "../harness/bastion.js";
import { PROMPT_END, PtyDriver } from "../harness/pty.js";
import { mountSmallDisk, type SmallDisk } from "../harness/tmpfs.js";

async function bastionRecordingOn(
  disk: SmallDisk,
  mode: "required" | "best_effort",
): Promise<TestBastion> {
  return startTestBastion({ configEdit: recordingsAt(disk.dir, mode) });
}

/** The id of `user`'s ended session (each test user has one). */
async function endedSession(bastion: TestBastion, user: string): Promise<string> {
  const end = await bastion.waitForAudit((e) => e.event === "session.end" && e.user === user);
  return String(end.session);
}

/** The recording path and status `recordings show` prints for a session's first channel. */
async function shownRecording(
  bastion: TestBastion,
  sessionId: string,
): Promise<{ path: string; status: string }> {
  const show = await bastion.cli(["recordings", "show", sessionId]);
  assert.equal(show.code, 0, show.stderr);
  const match = /^recording:\s+(\S+\.cast) \((\w+)\)$/m.exec(show.stdout);
  assert.ok(match, show.stdout);
  return { path: match[1] ?? "", status: match[2] ?? "" };
}

function isRecordingSignal(action: string, reason: RegExp) {
  return (e: Record<string, unknown>) =>
    e.event === "signal" &&
    e.kind === "recording" &&
    e.action === action &&
    reason.test(String(e.reason));
}

describe("recordings fail closed", () => {
  let disk: SmallDisk;
  let relaxedDisk: SmallDisk;
  let bastion: TestBastion;
  let relaxed: TestBastion;
  const users: Record<"alice" | "bob" | "carol" | "dave", UserKey> = Object.create(null);
  const markers = mkdtempSync(join(tmpdir(), "portcullis-markers-"));

  before(async () => {
    disk = mountSmallDisk();
    relaxedDisk = mountSmallDisk();
    [bastion, relaxed] = await Promise.all([
      bastionRecordingOn(disk, "required"),
      bastionRecordingOn(relaxedDisk, "best_effort"),
    ]);
    for (const name of ["alice", "bob", "carol"] as const)
      users[name] = await bastion.issueUser(`${name}@example.com`, ["ops"]);
    users.dave = await relaxed.issueUser("dave@example.com", ["ops"]);
  });
  after(async () => {
    await bastion?.stop();
    await relaxed?.stop();
    disk?.unmount();
    relaxedDisk?.unmount();
    rmSync(markers, { recursive: true, force: true });
  });

  it("replays a recording with `recordings play`, and verify reports it missing once deleted", async () => {
    const exec = await run("/usr/bin/ssh", [
      ...bastion.sshArgs(users.alice, "web1"),
      "echo play-me-$((6*7))",
    ]);
    assert.equal(exec.code, 0, exec.stderr);
    const sessionId = await endedSession(bastion, "alice@example.com");

    const play = await bastion.cli(["recordings", "play", sessionId, "--speed", "100"]);
    assert.equal(play.code, 0, play.stderr);
    assert.match(play.stdout, /play-me-42/);

    const recording = await shownRecording(bastion, sessionId);
    assert.equal(recording.status, "closed");
    const clean = await bastion.cli(["recordings", "verify", sessionId]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    rmSync(join(disk.dir, recording.path));
    const missing = await bastion.cli(["recordings", "verify", sessionId]);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, new RegExp(`^${sessionId}: missing`, "m"));
  });

  it("refuses a new session when its recording cannot be created, before anything runs", async () => {
    const marker = join(markers, "refused-ran");
    disk.fill();
    try {
      const result = await run("/usr/bin/ssh", [
        ...bastion.sshArgs(users.bob, "web1"),
        `touch ${marker}`,
      ]);
      assert.notEqual(result.code, 0);
      assert.match(
        result.stderr,
        /portcullis: cannot record the session: .*no space left on device/i,
      );
      assert.equal(existsSync(marker), false, "the command ran on the target");
      await bastion.waitForAudit(isRecordingSignal("deny", /^cannot record the session: /));
    } finally {
      disk.free();
    }
  });

  it("ends a running session whose recording runs out of space; what was written still verifies", async () => {
    const term = new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(users.carol, "web1")]);
    try {
      await term.expect(PROMPT_END);
      const from = term.output.length;
      term.type("while :; do seq 1000 1400; sleep 0.05; done\r");
      await term.expect("1400", 15_000, from);
      disk.fill();
      await term.expect(/recording failed: .*; the session cannot go on/, 15_000, from);
      const exit = await term.exit();
      assert.notEqual(exit.exitCode, 0);
    } finally {
      term.kill();
      disk.free();
    }
    await bastion.waitForAudit(isRecordingSignal("deny", /^recording failed: /));

    const sessionId = await endedSession(bastion, "carol@example.com");
    const recording = await shownRecording(bastion, sessionId);
    assert.equal(recording.status, "failed");
    const [header = "", ...events] = readFileSync(join(disk.dir, recording.path), "utf8")
      .split("\n")
      .filter(Boolean);
    assert.equal((JSON.parse(header) as { version: number }).version, 2);
    const output = events.map((line) => (JSON.parse(line) as [number, string, string])[2]);
    assert.match(output.join(""), /1400/);
    const verify = await bastion.cli(["recordings", "verify", sessionId]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it("with `mode: best_effort`, lets the session go on without a recording and audits it", async () => {
    relaxedDisk.fill();
    try {
      const exec = await run("/usr/bin/ssh", [
        ...relaxed.sshArgs(users.dave, "web1"),
        "echo best-effort-$((6*7))",
      ]);
      assert.equal(exec.code, 0, exec.stderr);
      assert.match(exec.stdout, /best-effort-42/);
      await relaxed.waitForAudit(isRecordingSignal("allow", /^cannot record the session: /));
      const casts = readdirSync(relaxedDisk.dir, { recursive: true }).filter((name) =>
        String(name).endsWith(".cast"),
      );
      assert.deepEqual(casts, []);
    } finally {
      relaxedDisk.free();
    }
  });
});
