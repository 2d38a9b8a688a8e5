// When the bastion cannot install its command gate: a target whose sshd
// forces a plain shell never reports the integration ready, so after
// `ssh.shell_startup_timeout` the access entry's `on_unverified` decides:
// deny ends the session with a message, warn lets the user on, unchecked.
// Both are audited as a `signal`.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  sshdTarget,
  startTestBastion,
  type TestBastion,
  type UserKey,
} from "../harness/bastion.js";
import { PtyDriver } from "../harness/pty.js";

describe("interactive shell without the command gate", () => {
  let bastion: TestBastion;
  let user: UserKey;

  before(async () => {
    bastion = await startTestBastion({
      sshdExtraConfig: ["ForceCommand /bin/sh -i"],
      sshConfig: ["shell_startup_timeout: 1s"],
      extraPolicy: (sshd) => `targets:
${sshdTarget("plain-deny", sshd)}
${sshdTarget("plain-warn", sshd)}
access:
  - name: strict
    subjects: { groups: [plain] }
    targets: { names: [plain-deny] }
    commands: [baseline]
  - name: lenient
    subjects: { groups: [plain] }
    targets: { names: [plain-warn] }
    commands: [baseline]
    on_unverified: warn
`,
    });
    user = await bastion.issueUser("plain@example.com", ["plain"]);
  });
  after(async () => {
    await bastion?.stop();
  });

  const open = (target: string) =>
    new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(user, target)]);

  it("ends the session when on_unverified is deny", async () => {
    const term = open("plain-deny");
    try {
      await term.expect(
        "portcullis: the shell integration did not start; the session is ended (on_unverified: deny)",
      );
      assert.notEqual((await term.exit()).exitCode, 0);
    } finally {
      term.kill();
    }
    const signal = await bastion.waitForAudit((e) => e.event === "signal" && e.access === "strict");
    assert.equal(signal.reason, "the shell integration did not start");
    assert.equal(signal.action, "deny");
  });

  it("warns and lets the user on, unchecked, when on_unverified is warn", async () => {
    const term = open("plain-warn");
    try {
      await term.expect("portcullis: warning: the shell integration did not start");
      term.type("echo unchecked-$((6*7))\r");
      await term.expect("unchecked-42");
      term.type("exit\r");
      await term.exit();
    } finally {
      term.kill();
    }
    await bastion.waitForAudit((e) => e.event === "signal" && e.access === "lenient");
  });
});
