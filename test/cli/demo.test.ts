// `portcullis demo --port 0` as a user runs it: wait for the printed ssh
// command, run it with the real OpenSSH client (one command, then an
// interactive session through a pty), stop the demo with Ctrl-C (SIGINT)
// and check it removed its directory.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { run } from "../harness/bastion.js";
import { PtyDriver } from "../harness/pty.js";
import {
  CliProcess,
  type LoopbackServer,
  listenOnLoopback,
  makeTempDir,
  removeDir,
} from "./cli.js";

const STOP_TIMEOUT_MS = 15_000;

describe("portcullis demo", () => {
  let tmp: string;
  let demo: CliProcess;
  let demoDir: string;
  let sshCommand: string[];
  let auditFile: string;

  before(async () => {
    tmp = makeTempDir("demo");
    demo = new CliProcess(["demo", "--port", "0"], { cwd: tmp, env: { TMPDIR: tmp } });
    const [, command = ""] = await demo.waitFor("stdout", /^ {2}(ssh .+)\n/m);
    sshCommand = command.split(" ");
    demoDir = (await demo.waitFor("stdout", /files in (\S+)\)\./))[1] ?? "";
    auditFile = (await demo.waitFor("stdout", /^Audit log: +(\S+)$/m))[1] ?? "";
  });
  after(() => {
    demo?.stop();
    removeDir(tmp);
  });

  it("prints an ssh command for the demo user on loopback, files in a fresh temp dir", () => {
    assert.equal(sshCommand[0], "ssh");
    assert.match(sshCommand.at(-1) ?? "", /^demo@127\.0\.0\.1$/);
    const port = sshCommand[sshCommand.indexOf("-p") + 1];
    assert.match(demo.stdout, new RegExp(`bastion on 127\\.0\\.0\\.1:${port}\\b`));
    assert.ok(demoDir.startsWith(`${tmp}/portcullis-demo-`), demoDir);
    assert.ok(existsSync(demoDir));
  });

  it("runs one command through the bastion with the printed ssh command", async () => {
    const [ssh = "ssh", ...args] = sshCommand;
    const result = await run(ssh, [...args, "echo demo-$((6*7)); exit 5"]);
    assert.equal(result.stdout, "demo-42\n", result.stderr);
    assert.equal(result.code, 5);
  });

  it("opens an interactive shell with the same command", async () => {
    const [ssh = "ssh", ...args] = sshCommand;
    const session = new PtyDriver(ssh, args);
    try {
      session.type("echo hi$((1+1))\r");
      await session.expect(/\bhi2\b/);
      session.type("rm -r /\r");
      await session.expect("portcullis: blocked: recursive delete of / (rule demo#1)");
      session.type("exit\r");
      assert.equal((await session.exit()).exitCode, 0);
    } finally {
      session.kill();
    }
  });

  it("audits both sessions in the audit log it printed", () => {
    const events = readFileSync(auditFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const starts = events.filter(
      (e) => e.event === "session.start" && e.user === "demo@example.com" && e.target === "demo",
    );
    assert.equal(starts.length, 2, JSON.stringify(events));
  });

  it("stops on SIGINT with status 0 and removes its directory", async () => {
    demo.child.kill("SIGINT");
    const result = await demo.result(STOP_TIMEOUT_MS);
    assert.equal(result.signal, null);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(existsSync(demoDir), false);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });
});

describe("portcullis demo on a port in use", () => {
  let tmp: string;
  let blocker: LoopbackServer;
  let demo: CliProcess | undefined;

  before(async () => {
    tmp = makeTempDir("demo-busy");
    blocker = await listenOnLoopback();
  });
  after(async () => {
    demo?.stop();
    await blocker?.close();
    removeDir(tmp);
  });

  it("falls back to a free port and still stops on SIGINT", async () => {
    const busy = blocker.port;
    demo = new CliProcess(["demo", "--port", String(busy)], { cwd: tmp, env: { TMPDIR: tmp } });
    const [, port] = await demo.waitFor("stdout", /bastion on 127\.0\.0\.1:(\d+)/, 5_000);
    assert.notEqual(Number(port), busy);
    demo.child.kill("SIGINT");
    assert.equal((await demo.result(STOP_TIMEOUT_MS)).code, 0);
  });
});
