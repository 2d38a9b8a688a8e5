// Helpers for the lifecycle and backup tests: a shell through the test
// bastion, and signals to its `portcullis serve` process.

import assert from "node:assert/strict";
import type { TestBastion } from "../harness/bastion.js";
import { eventually } from "../harness/eventually.js";
import { PtyDriver } from "../harness/pty.js";

/** A shell through the bastion to the test sshd, at its prompt. */
export async function openShell(bastion: TestBastion): Promise<PtyDriver> {
  const alice = await bastion.issueUser("alice@example.com", ["ops"]);
  const term = new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(alice, "web1")]);
  term.type("echo ready-$((20+1))\r");
  await term.expect("ready-21");
  return term;
}

export function signalServe(bastion: TestBastion, signal: NodeJS.Signals): void {
  process.kill(bastion.serverPid as number, signal);
}

export async function waitForExit(pid: number): Promise<void> {
  await eventually(() => {
    assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
  }, 15_000);
}
