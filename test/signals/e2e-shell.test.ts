// Signal rule actions in an interactive shell (docs/signals.md): a person
// types into the real `ssh` client (node-pty) through the real bastion to a
// real sshd. A line a signal denies is refused with the blocked message and
// never runs, a `warn` signal shows its warning and the line runs, and an
// `end-session` signal ends the whole session with its message. What ran is
// asserted through files in a private directory; each signal is audited.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestBastion, type TestBastion } from "../harness/bastion.js";
import { PROMPT_END, PtyDriver } from "../harness/pty.js";
import { type AuditEvent, sessionEnd, signUser, type TestUser } from "./e2e-helpers.js";

const EXTRA_POLICY = `signals:
  rules:
    - name: e2e-trap
      commands: "touch */signal-trap*"
      score: 50
      action: deny
      reason: touching the signal trap
    - name: e2e-watch
      commands: "echo watched-*"
      score: 10
      action: warn
      reason: a watched echo
    - name: e2e-tripwire
      commands: "echo tripwire"
      score: 30
      action: end-session
      reason: the tripwire was crossed
rulesets:
  open-shell:
    default: allow
    rules: []
access:
  - name: shell-signals
    subjects: { groups: [shellers] }
    targets: { names: [web1] }
    commands: [open-shell]
`;

describe("signal actions in an interactive shell", () => {
  let bastion: TestBastion;
  let who: TestUser;
  let work: string;
  let term: PtyDriver;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "portcullis-signal-shell-"));
    bastion = await startTestBastion({ extraPolicy: EXTRA_POLICY });
    who = await signUser(bastion, "typist@example.com", ["shellers"]);
    term = new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(who, "web1")], {
      cols: 160,
      rows: 40,
    });
    await term.expect(PROMPT_END);
  });
  after(async () => {
    term?.kill();
    await bastion?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** Types `line` and Enter; waits for `shown` after it, then for the next prompt. */
  async function typeAndSee(line: string, shown: RegExp | string): Promise<void> {
    const from = term.output.length;
    term.type(`${line}\r`);
    await term.expect(shown, 15_000, from);
    const shownFrom = term.output.slice(from);
    const at =
      from + (typeof shown === "string" ? shownFrom.indexOf(shown) : shownFrom.search(shown));
    await term.expect(PROMPT_END, 15_000, at);
  }

  /** The signal event of `rule` for the typist (waits for it). */
  const signal = (rule: string): Promise<AuditEvent> =>
    bastion.waitForAudit((e) => e.event === "signal" && e.user === who.user && e.rule === rule);

  it("refuses a line a signal denies, with the blocked message, and runs nothing", async () => {
    const trap = join(work, "signal-trap");
    await typeAndSee(
      `touch ${trap}`,
      "portcullis: blocked: touching the signal trap (rule signal:e2e-trap)",
    );
    assert.equal(existsSync(trap), false, "the denied line ran");
    const event = await signal("e2e-trap");
    assert.equal(event.action, "deny");
    assert.equal(event.score, 50);
    assert.equal(event.source, "policy");
    assert.deepEqual(event.evidence, { command: `touch ${trap}` });
    const command = await bastion.waitForAudit(
      (e) => e.event === "command" && e.line === `touch ${trap}`,
    );
    assert.equal(command.decision, "deny");
    assert.equal(command.rule, "signal:e2e-trap");
  });

  it("shows a warn signal's warning and runs the line", async () => {
    await typeAndSee(
      "echo watched-out",
      /portcullis: warning: a watched echo \(rule signal:e2e-watch\)[\s\S]*\r\nwatched-out\r\n/,
    );
    const event = await signal("e2e-watch");
    assert.equal(event.action, "warn");
    assert.equal(event.score, 10);
  });

  it("ends the session on an end-session signal, with its message", async () => {
    const from = term.output.length;
    term.type("echo tripwire\r");
    const message = "session ended: the tripwire was crossed (signal e2e-tripwire)";
    await term.expect(`portcullis: ${message}`, 15_000, from);
    await term.exit();
    assert.doesNotMatch(term.output.slice(from), /\r\ntripwire\r\n/, "the line ran");
    const event = await signal("e2e-tripwire");
    assert.equal(event.action, "end-session");
    const end = await sessionEnd(bastion, String(event.session));
    assert.equal(end.reason, message);
  });
});
