// The bastion's per-channel gate state machine, driven with byte streams as
// the upstream shell and the user would produce them: what is forwarded to
// the shell, when input is held, released or dropped, which verdict is
// written, where notices appear, and when `on_unverified` is asked.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ShellGuard, type ShellGuardHooks } from "../../src/interactive/shell-guard.js";
import type { LineVerdict } from "../../src/policy/command-types.js";
import type { RuleAction } from "../../src/policy/index.js";

const NONCE = "00112233445566778899aabbccddeeff";
const CHALLENGE = "0123456789abcdef";
const marker = (body: string) => `\x1b]6973;${NONCE};${body}\x07`;
const READY = marker("R;bash;'';''");
const PROMPT = `${marker("P;0;'/root'")}$ `;
const gate = (line: string) => marker(`G;${CHALLENGE};'${line}'`);
const tick = () => new Promise((wake) => setImmediate(wake));
/** Longer than the guard's jobStartMs below. */
const jobStarted = () => new Promise((wake) => setTimeout(wake, 40));

function verdictFor(line: string): LineVerdict {
  const decision = line.includes("forbidden")
    ? "deny"
    : line.includes("careful")
      ? "warn"
      : "allow";
  return { status: "complete", decision, rule: "r#1", reason: "because", risk: 0, commands: [] };
}

function startGuard(unverifiedAction: RuleAction = "deny") {
  const decided: string[] = [];
  const signals: string[] = [];
  const ended: string[] = [];
  const hooks: ShellGuardHooks = {
    decide: (line) => {
      decided.push(line);
      return verdictFor(line);
    },
    unverified: (reason) => {
      signals.push(reason);
      return unverifiedAction;
    },
    end: (message) => ended.push(message),
  };
  const guard = new ShellGuard(NONCE, hooks, {
    startupMs: 200,
    acceptWaitMs: 100,
    runningWaitMs: 50,
    markerWaitMs: 10,
    jobStartMs: 20,
  });
  let toShell = "";
  let toUser = "";
  guard.input.on("data", (chunk: Buffer) => {
    toShell += chunk.toString();
  });
  guard.output.on("data", (chunk: Buffer) => {
    toUser += chunk.toString();
  });
  const typed = async (text: string) => {
    guard.input.write(text);
    await tick();
  };
  const shell = async (text: string) => {
    guard.output.write(text);
    await tick();
  };
  const close = () => {
    guard.input.destroy();
    guard.output.destroy();
  };
  return {
    decided,
    signals,
    ended,
    typed,
    shell,
    close,
    toShell: () => toShell,
    toUser: () => toUser,
  };
}

describe("ShellGuard", () => {
  it("holds input until the integration is ready, then forwards it", async () => {
    const g = startGuard();
    await g.typed("ls");
    assert.equal(g.toShell(), "");
    await g.shell(READY + PROMPT);
    assert.equal(g.toShell(), "ls");
    assert.equal(g.toUser(), "$ ");
    g.close();
  });

  it("forwards up to Enter, holds the rest, and releases it once the shell has read the allow", async () => {
    const g = startGuard();
    await g.shell(READY + PROMPT);
    await g.typed("ls\rpwd");
    assert.equal(g.toShell(), "ls\r");
    await g.shell(gate("ls"));
    assert.equal(g.toShell(), `ls\rA${CHALLENGE}`, "the verdict first, alone");
    assert.deepEqual(g.decided, ["ls"]);
    await g.shell(marker("C")); // the command starts: the shell has read the verdict
    assert.equal(g.toShell(), `ls\rA${CHALLENGE}`, "not before its job owns the terminal");
    await jobStarted();
    assert.equal(g.toShell(), `ls\rA${CHALLENGE}pwd`);
    g.close();
  });

  it("a Ctrl-C right after Enter reaches the terminal after the verdict was read and the job started", async () => {
    // The terminal flushes unread input on an interrupt (the verdict would be lost, the gate
    // hang); between the command's start and its job owning the terminal, it would hit the shell.
    const g = startGuard();
    await g.shell(READY + PROMPT);
    await g.typed("sleep 30\r");
    await g.typed("\x03echo after\r");
    await g.shell(gate("sleep 30"));
    assert.equal(g.toShell(), `sleep 30\rA${CHALLENGE}`);
    await g.shell(marker("C"));
    await jobStarted();
    assert.equal(g.toShell(), `sleep 30\rA${CHALLENGE}\x03echo after\r`);
    g.close();
  });

  it("answers a deny, drops what was typed after it, and shows why at the next prompt", async () => {
    const g = startGuard();
    await g.shell(READY + PROMPT);
    await g.typed("rm forbidden\rtouch after\r");
    await g.shell(gate("rm forbidden"));
    assert.equal(g.toShell(), `rm forbidden\rD${CHALLENGE}`);
    assert.doesNotMatch(g.toUser(), /blocked/);
    await g.shell(`\r\n${PROMPT}`);
    assert.match(g.toUser(), /\r\nportcullis: blocked: because \(rule r#1\)\r\n\$ $/);
    await g.typed("x");
    assert.equal(g.toShell(), `rm forbidden\rD${CHALLENGE}x`);
    g.close();
  });

  it("cancels a multi-line construct with Ctrl-C in the same write", async () => {
    const g = startGuard();
    await g.shell(READY + PROMPT);
    await g.typed('echo "a\r');
    await g.shell(gate('echo "a'));
    assert.deepEqual(g.decided, [], "an incomplete line is not decided yet");
    await g.shell(marker("S"));
    await g.typed('forbidden"\r');
    await g.shell(gate('forbidden"'));
    assert.deepEqual(g.decided, ['echo "a\nforbidden"']);
    assert.ok(g.toShell().endsWith(`D${CHALLENGE}\x03`));
    g.close();
  });

  it("shows a warning when the allowed command starts", async () => {
    const g = startGuard();
    await g.shell(READY + PROMPT);
    await g.typed("careful\r");
    await g.shell(gate("careful"));
    await g.shell(`\r\n${marker("C")}output`);
    assert.match(g.toUser(), /portcullis: warning: because \(rule r#1\)\r\noutput$/);
    g.close();
  });

  it("lets a gate inside a running command through without a decision (read -e)", async () => {
    const g = startGuard();
    await g.shell(READY + PROMPT);
    await g.typed("./script\r");
    await g.shell(gate("./script") + marker("C"));
    await g.shell(gate("forbidden data"));
    assert.deepEqual(g.decided, ["./script"]);
    assert.ok(g.toShell().endsWith(`A${CHALLENGE}`));
    g.close();
  });

  it("asks on_unverified when a command starts without an allowed gate, and ends on deny", async () => {
    const g = startGuard("deny");
    await g.shell(READY + PROMPT);
    await g.shell(marker("C"));
    assert.deepEqual(g.signals, ["a command started without passing the gate"]);
    assert.equal(g.ended.length, 1);
    assert.match(g.ended[0] ?? "", /on_unverified: deny/);
    g.close();
  });

  it("asks on_unverified when the integration does not report ready in time", async () => {
    const g = startGuard("warn");
    await g.typed("ls\r");
    await new Promise((wake) => setTimeout(wake, 300));
    assert.deepEqual(g.signals, ["the shell integration did not start"]);
    assert.equal(g.toShell(), "ls\r", "warn releases the held input, unchecked");
    assert.match(g.toUser(), /portcullis: warning: the shell integration did not start/);
    g.close();
  });

  it("holds a typed-ahead line's followers until its gate after the prompt returns", async () => {
    const g = startGuard();
    await g.shell(READY + PROMPT);
    await g.typed("sleep 1\r");
    await g.shell(gate("sleep 1") + marker("C"));
    await jobStarted();
    await g.typed("ls\rpwd\r");
    assert.equal(g.toShell(), `sleep 1\rA${CHALLENGE}ls\r`, "pwd waits while sleep runs");
    await g.shell(PROMPT);
    assert.equal(g.toShell(), `sleep 1\rA${CHALLENGE}ls\r`, "pwd still waits for ls's gate");
    await g.shell(gate("ls"));
    assert.equal(g.toShell(), `sleep 1\rA${CHALLENGE}ls\rA${CHALLENGE}`);
    await g.shell(marker("C"));
    await jobStarted();
    assert.equal(g.toShell(), `sleep 1\rA${CHALLENGE}ls\rA${CHALLENGE}pwd\r`);
    g.close();
  });

  it("gives a running program (a REPL) what was typed after Enter without waiting for a prompt", async () => {
    const g = startGuard();
    await g.shell(READY + PROMPT);
    await g.typed("python3\r");
    await g.shell(gate("python3") + marker("C"));
    await g.typed("1+1\r2+2\r");
    await new Promise((wake) => setTimeout(wake, 100));
    assert.equal(g.toShell(), `python3\rA${CHALLENGE}1+1\r2+2\r`);
    g.close();
  });

  it("strips its markers even when a read splits them, and flushes a lone ESC", async () => {
    const g = startGuard();
    const stream = READY + PROMPT;
    await g.shell(stream.slice(0, 5));
    await g.shell(stream.slice(5));
    await g.shell("\x1b");
    await new Promise((wake) => setTimeout(wake, 50));
    assert.equal(g.toUser(), "$ \x1b");
    g.close();
  });
});
