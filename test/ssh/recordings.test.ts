// Session recordings end to end: real sessions through the real bastion to a
// real sshd, then the files and the index through the real CLI
// (`portcullis recordings list|show|verify`) and the real `asciinema cat`.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import {
  run,
  sshdTarget,
  startTestBastion,
  type TestBastion,
  type UserKey,
} from "../harness/bastion.js";
import { PROMPT_END, PtyDriver } from "../harness/pty.js";

type CastEvent = [number, string, string];

function readCast(path: string): { header: Record<string, unknown>; events: CastEvent[] } {
  const [first = "{}", ...rest] = readFileSync(path, "utf8").split("\n").filter(Boolean);
  return {
    header: JSON.parse(first) as Record<string, unknown>,
    events: rest.map((line) => JSON.parse(line) as CastEvent),
  };
}

function castFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith(".cast")) found.push(child);
    }
  };
  walk(dir);
  return found.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
}

describe("session recordings", () => {
  let bastion: TestBastion;
  let alice: UserKey;
  let secretive: UserKey;

  before(async () => {
    bastion = await startTestBastion({
      extraPolicy: (sshd) => `targets:
${sshdTarget("typed", sshd)}
access:
  - name: input-recorded
    subjects: { groups: [typists] }
    targets: { names: [typed] }
    commands: [baseline]
    record_input: true
`,
    });
    alice = await bastion.issueUser("alice@example.com", ["ops"]);
    secretive = await bastion.issueUser("tess@example.com", ["typists"]);
  });
  after(async () => {
    await bastion?.stop();
  });

  const recordingsDir = () => join(bastion.dir, "recordings");
  /**
   * The one recording whose events contain `text`, once it is written (the
   * bastion writes recordings asynchronously; one may still be closing).
   */
  const castWith = async (text: string) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = castFiles(recordingsDir()).filter((path) => {
        try {
          return readCast(path).events.some(([, , data]) => data.includes(text));
        } catch {
          return false; // a line still being written
        }
      });
      if (found.length === 1) return found[0] ?? "";
      if (Date.now() > deadline) assert.fail(`recordings containing ${text}: ${found.join(", ")}`);
      await new Promise((wake) => setTimeout(wake, 50));
    }
  };

  const shell = (user: UserKey, target: string) =>
    new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(user, target)], {
      cols: 100,
      rows: 30,
    });

  it("records an interactive session that asciinema replays, with resizes and command markers", async () => {
    const term = shell(alice, "web1");
    try {
      term.type("echo recorded-$((40+2))\r");
      await term.expect("recorded-42");
      term.resize(120, 40);
      term.type("rm -r /\r");
      await term.expect("portcullis: blocked:");
      term.type("exit\r");
      await term.exit();
    } finally {
      term.kill();
    }
    await bastion.waitForAudit((e) => e.event === "session.end" && e.user === "alice@example.com");
    // The writer thread may still be writing: wait for the last line asserted below.
    const path = await castWith("portcullis: blocked: recursive delete");
    const { header, events } = readCast(path);
    assert.equal(header.version, 2);
    assert.equal(header.width, 100);
    assert.equal(header.height, 30);
    assert.deepEqual(header.env, { TERM: "xterm-256color" });
    assert.match(String(header.title), /alice@example\.com → .*@web1/);
    const output = events
      .filter(([, kind]) => kind === "o")
      .map(([, , data]) => data)
      .join("");
    assert.match(output, /recorded-42/);
    assert.match(output, /portcullis: blocked: recursive delete of \//);
    assert.ok(events.some(([, kind, data]) => kind === "r" && data === "120x40"));
    const markers = events.filter(([, kind]) => kind === "m").map(([, , data]) => data);
    assert.ok(markers.includes("allow: echo recorded-$((40+2))"), markers.join(" | "));
    assert.ok(markers.includes("deny: rm -r / (baseline#1)"), markers.join(" | "));
    assert.ok(!events.some(([, kind]) => kind === "i"), "input is not recorded by default");
    const times = events.map(([time]) => time);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );

    const replay = await run("/usr/bin/script", ["-qec", `asciinema cat ${path}`, "/dev/null"]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, /recorded-42/);
  });

  it("records exec sessions, and input only where the policy asks and the terminal shows it", async () => {
    const exec = await run("/usr/bin/ssh", [
      ...bastion.sshArgs(alice, "web1"),
      "echo exec-$((6*7))",
    ]);
    assert.match(exec.stdout, /exec-42/);
    await bastion.waitForAudit((e) => e.event === "session.end" && e.user === "alice@example.com");
    await castWith("exec-42");

    const term = shell(secretive, "typed");
    try {
      await term.expect(PROMPT_END);
      const from = term.output.length;
      term.type("echo typed-$((1+1))\r");
      await term.expect("typed-2", 15_000, from);
      await term.expect(PROMPT_END, 15_000, from);
      term.type(`read -rs secret; echo got-$(expr length "$secret")\r`);
      await term.expect("read -rs secret");
      await new Promise((wake) => setTimeout(wake, 200));
      term.type("hunter2-sekrit\r");
      await term.expect("got-14");
      term.type("exit\r");
      await term.exit();
    } finally {
      term.kill();
    }
    await bastion.waitForAudit((e) => e.event === "session.end" && e.user === "tess@example.com");
    const tessCast = await castWith("typed-2");
    const text = readFileSync(tessCast, "utf8");
    assert.doesNotMatch(text, /hunter2/);
    const inputs = readCast(tessCast)
      .events.filter(([, kind]) => kind === "i")
      .map(([, , data]) => data)
      .join("");
    assert.match(inputs, /echo typed/);
    assert.match(inputs, /\[input not recorded\]/);
  });

  it("records a refused session as a short file that says why", async () => {
    const result = await run("/usr/bin/ssh", [...bastion.sshArgs(alice, "db1"), "true"]);
    assert.notEqual(result.code, 0);
    await castWith("access to db1 denied");
  });

  it("a shutdown during a session closes, signs and indexes its recording before the process ends", async () => {
    const term = shell(alice, "web1");
    try {
      term.type("echo before-shutdown-$((3*3))\r");
      await term.expect("before-shutdown-9");
      await bastion.restart("SIGTERM");
    } finally {
      term.kill();
    }
    const path = await castWith("before-shutdown-9");
    const { events } = readCast(path);
    assert.doesNotMatch(events.at(-1)?.[2] ?? "", /interrupted/);
    const list = await bastion.cli(["recordings", "list", "--user", "alice@example.com"]);
    const newest = list.stdout.trim().split("\n")[0]?.split(/\s+/)[0] ?? "";
    const show = await bastion.cli(["recordings", "show", newest]);
    assert.match(show.stdout, /before-shutdown|\(closed\)/);
    assert.match(
      show.stdout,
      new RegExp(`${basename(path).replace(".cast", "")}\\.cast \\(closed\\)`),
    );
    const verified = await bastion.cli(["recordings", "verify", newest]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  });

  it("lists and shows sessions, and verify reports a changed file and a deleted audit row", async () => {
    const list = await bastion.cli(["recordings", "list", "--user", "alice@example.com"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /alice@example\.com/);
    const denied = await bastion.cli(["recordings", "list", "--decision", "deny"]);
    const sessionId = denied.stdout.trim().split("\n")[0]?.split(/\s+/)[0] ?? "";
    assert.match(sessionId, /^\d{8}T\d{6}Z-[0-9a-f]+$/);
    const show = await bastion.cli(["recordings", "show", sessionId]);
    assert.match(show.stdout, /deny\s+rm -r \/ \(baseline#1\)/);

    const clean = await bastion.cli(["recordings", "verify"]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);

    const path = castFiles(recordingsDir())[0] ?? "";
    const original = readFileSync(path);
    const flipped = Buffer.from(original);
    flipped[flipped.length - 5] = (flipped[flipped.length - 5] ?? 0) ^ 1;
    writeFileSync(path, flipped);
    const changed = await bastion.cli(["recordings", "verify"]);
    assert.equal(changed.code, 1);
    assert.match(changed.stdout, /changed/);
    writeFileSync(path, original);

    const db = new Database(join(bastion.dir, "data", "portcullis.db"));
    try {
      db.prepare("DELETE FROM events WHERE seq = (SELECT MIN(seq) + 1 FROM events)").run();
    } finally {
      db.close();
    }
    const removed = await bastion.cli(["recordings", "verify"]);
    assert.equal(removed.code, 1);
    assert.match(removed.stdout, /audit row \d+: (removed|bad-link)/);
  });

  it("closes a crashed session's recording as interrupted, valid up to the last flush", async () => {
    const term = shell(alice, "web1");
    try {
      term.type("echo before-crash-$((2*2))\r");
      await term.expect("before-crash-4");
      await new Promise((wake) => setTimeout(wake, 1500)); // past fsync_interval_ms
      await bastion.restart();
    } finally {
      term.kill();
    }
    const { events } = readCast(await castWith("before-crash-4"));
    assert.match(events.map(([, , data]) => data).join(""), /before-crash-4/);
    assert.equal(events.at(-1)?.[1], "m");
    assert.match(events.at(-1)?.[2] ?? "", /interrupted/);
    const list = await bastion.cli(["recordings", "list", "--user", "alice@example.com"]);
    const newest = list.stdout.trim().split("\n")[0] ?? "";
    const show = await bastion.cli(["recordings", "show", newest.split(/\s+/)[0] ?? ""]);
    assert.match(show.stdout, /interrupted/);
  });
});
