// Interactive shells through the bastion, typed by a "person" through a
// real pty running the real ssh client: echo, resize, Ctrl-C, terminal
// modes, the target menu, an upstream that dies, and SIGTERM of the bastion.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestBastion, type TestBastion, type UserKey } from "../harness/bastion.js";
import { PROMPT_END, PtyDriver } from "../harness/pty.js";

describe("interactive shell through the bastion", () => {
  let bastion: TestBastion;
  let alice: UserKey;

  before(async () => {
    bastion = await startTestBastion();
    alice = await bastion.issueUser("alice@example.com", ["ops"]);
  });
  after(async () => {
    await bastion?.stop();
  });

  /** Starts ssh in a pty whose terminal settings are first set with `stty`. */
  const openShell = (sshUser: string, stty = "sane") =>
    new PtyDriver(
      "/bin/sh",
      ["-c", `stty ${stty}; exec ssh -tt "$@"`, "sh", ...bastion.sshArgs(alice, sshUser)],
      {
        cols: 100,
        rows: 30,
        env: { PS1: "$ " },
      },
    );

  /** Types a command whose output is marked, and returns what it printed. */
  const runTyped = async (shell: PtyDriver, command: string, marker: string) => {
    const from = shell.output.length;
    shell.type(`${command}; echo ${marker}-$((40+2))\r`);
    await shell.expect(`${marker}-42`, 15_000, from);
    return shell.output.slice(from);
  };

  it("echoes typed commands, follows resizes, and survives Ctrl-C", async () => {
    const shell = openShell("web1");
    try {
      assert.match(await runTyped(shell, "echo hi$((1+1))", "first"), /hi2/);
      assert.match(await runTyped(shell, "stty size", "size1"), /30 100/);
      shell.resize(120, 40);
      // The window change travels asynchronously; poll the size like a person would.
      let size = "";
      for (let attempt = 0; attempt < 20 && !/40 120/.test(size); attempt++) {
        size = await runTyped(shell, "stty size", `size-${attempt}`);
      }
      assert.match(size, /40 120/);

      const beforeSleep = shell.output.length;
      shell.type("sleep 30; echo not-$((6*7))-interrupted\r");
      await shell.expect("interrupted\r\n", 15_000, beforeSleep); // the echo of the typed line
      const beforeInterrupt = shell.output.length;
      shell.type("\x03");
      // A person types on once the prompt is back (typing ahead of it: docs/interactive.md).
      await shell.expect(PROMPT_END, 15_000, beforeInterrupt);
      assert.match(await runTyped(shell, "echo after-ctrl-c", "ctrlc"), /after-ctrl-c/);
      assert.doesNotMatch(shell.output.slice(beforeSleep), /not-42-interrupted/);

      shell.type("exit 7\r");
      assert.equal((await shell.exit()).exitCode, 7);
    } finally {
      shell.kill();
    }
  });

  it("runs a line typed right after Ctrl-C, without waiting for the prompt (typing ahead)", async () => {
    // Held keys reach the terminal only after the shell read the gate's verdict and the command's
    // job owns the terminal: a Ctrl-C earlier would flush the verdict or interrupt the shell.
    for (let round = 0; round < 6; round++) {
      const shell = openShell("web1");
      try {
        assert.match(await runTyped(shell, "echo ready", "ready"), /ready/);
        const beforeSleep = shell.output.length;
        shell.type("sleep 30; echo not-$((6*7))-interrupted\r");
        await shell.expect("interrupted\r\n", 15_000, beforeSleep);
        shell.type("\x03");
        assert.match(await runTyped(shell, "echo after-ctrl-c", "ahead"), /after-ctrl-c/);
        assert.doesNotMatch(shell.output.slice(beforeSleep), /not-42-interrupted/);
      } finally {
        shell.kill();
      }
    }
  });

  it("passes the client's terminal modes to the target", async () => {
    const shell = openShell("web1", "sane erase ^X intr ^G -ixon");
    try {
      const modes = await runTyped(shell, "stty -a", "modes");
      assert.match(modes, /intr = \^G/);
      assert.match(modes, /erase = \^X/);
      assert.match(modes, /-ixon/);
      shell.type("exit\r");
      await shell.exit();
    } finally {
      shell.kill();
    }
  });

  it("offers a menu of reachable targets when the user name is not a target", async () => {
    const shell = openShell("alice");
    try {
      await shell.expect("choose a target:");
      assert.match(shell.output, /1\) badkey/);
      assert.match(shell.output, /2\) down/);
      assert.match(shell.output, /3\) web1/);
      shell.type("3\r");
      assert.match(await runTyped(shell, "echo via-menu", "menu"), /via-menu/);
      shell.type("exit\r");
      assert.equal((await shell.exit()).exitCode, 0);
    } finally {
      shell.kill();
    }
  });

  it("ends the session with a reason when the target connection dies", async () => {
    const shell = openShell("web1");
    try {
      await runTyped(shell, "echo ready", "ready");
      // Kill this session's sshd process on the target: the upstream dies.
      shell.type("kill -9 $PPID\r");
      await shell.expect(/portcullis: .*(connection to web1 closed|target)/);
      assert.notEqual((await shell.exit()).exitCode, 0);
    } finally {
      shell.kill();
    }
  });
});

describe("bastion shutdown", () => {
  it("ends live sessions with a message on SIGTERM and exits 0", async () => {
    const bastion = await startTestBastion({ sshConfig: ["shutdown_grace: 0s"] });
    const alice = await bastion.issueUser("alice@example.com", ["ops"]);
    const shell = new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(alice, "web1")]);
    try {
      shell.type("echo up-$((1+1))\r");
      await shell.expect("up-2");
      const exited = shell.exit();
      const code = await bastion.stop("SIGTERM");
      await shell.expect("portcullis: the bastion is shutting down");
      await exited;
      assert.equal(code, 0);
    } finally {
      shell.kill();
    }
  });
});
