// Exec requests under a command policy, through a real bastion to a real
// sshd: a denied line never reaches the target (a marker file it would have
// created stays absent), the user sees why with exit status 126, warnings
// run with a notice, approvals are refused for now, and every decision is
// audited as a `command` event. Last, a policy edit is picked up by the
// running bastion for the next command, and a broken edit changes nothing.

import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { run, startTestBastion, type TestBastion, type UserKey } from "../harness/bastion.js";

const SSH = "/usr/bin/ssh";

// The harness's test policy gives group `ops` the entry `ops-web` (no
// commands); this entry is the only one naming group `guarded`.
const EXTRA_POLICY = `access:
  - name: guarded-web
    subjects: { groups: [guarded] }
    targets: { names: [web1] }
    commands: [e2e-guard]
rulesets:
  e2e-guard:
    default: allow
    rules:
      - deny: "touch"
        reason: no touching
        risk: 60
      - approve: "systemctl restart *"
        reason: restarts need approval
      - warn: "uname"
        reason: uname is being watched
`;

describe("exec under a command policy", () => {
  let bastion: TestBastion;
  let bob: UserKey;

  before(async () => {
    bastion = await startTestBastion({ extraPolicy: EXTRA_POLICY });
    bob = await bastion.issueUser("bob@example.com", ["guarded"]);
  });
  after(async () => {
    await bastion?.stop();
  });

  const ssh = (line: string) => run(SSH, bastion.sshArgs(bob, "web1", line));
  const marker = (name: string) => join(bastion.sshd.dir, name);

  it("never sends a denied command to the target", async () => {
    const path = marker("denied-marker");
    const result = await ssh(`touch ${path}`);
    assert.equal(result.stderr, "portcullis: blocked: no touching (rule e2e-guard#1)\r\n");
    assert.equal(result.stdout, "");
    assert.equal(result.code, 126);
    assert.equal(existsSync(path), false, "the denied command ran on the target");
    const event = await bastion.waitForAudit(
      (e) => e.event === "command" && e.line === `touch ${path}`,
    );
    assert.equal(event.decision, "deny");
    assert.equal(event.access, "guarded-web");
    assert.equal(event.rule, "e2e-guard#1");
    assert.equal(event.reason, "no touching");
    assert.equal(event.risk, 60);
    assert.equal(event.user, "bob@example.com");
    assert.equal(event.target, "web1");
  });

  it("denies a line if any of its commands is denied", async () => {
    const path = marker("chained-marker");
    const result = await ssh(`echo hi > ${path}.txt; touch ${path}`);
    assert.equal(result.code, 126);
    assert.equal(existsSync(`${path}.txt`), false);
  });

  it("runs an allowed command as before", async () => {
    const path = marker("allowed-marker");
    const result = await ssh(`mkdir ${path} && echo made`);
    assert.equal(result.stdout, "made\n");
    assert.equal(result.stderr, "");
    assert.equal(result.code, 0);
    assert.equal(existsSync(path), true);
    const event = await bastion.waitForAudit(
      (e) => e.event === "command" && e.decision === "allow",
    );
    assert.equal(event.line, `mkdir ${path} && echo made`);
  });

  it("runs a warned command and shows the warning", async () => {
    const result = await ssh("uname -s");
    assert.equal(result.stdout, "Linux\n");
    assert.equal(
      result.stderr,
      "portcullis: warning: uname is being watched (rule e2e-guard#3)\r\n",
    );
    assert.equal(result.code, 0);
    await bastion.waitForAudit((e) => e.event === "command" && e.decision === "warn");
  });

  it("refuses a command that needs approval when the policy names no approver", async () => {
    const result = await ssh("systemctl restart nginx");
    assert.match(
      result.stderr,
      /^portcullis: blocked: needs approval, but the policy names no approver: restarts need approval \(rule e2e-guard#2\)\r\n$/,
    );
    assert.equal(result.code, 126);
    await bastion.waitForAudit((e) => e.event === "command" && e.decision === "approve");
  });

  it("applies an edited policy to the next command, and keeps it when an edit is broken", async () => {
    const extraFile = join(bastion.dir, "policies", "60-extra.yaml");
    const reloads = () => bastion.auditEvents().filter((e) => e.event === "policy.reload").length;
    const before = reloads();
    writeFileSync(extraFile, EXTRA_POLICY.replace('warn: "uname"', 'deny: "uname"'));
    await bastion.waitForAudit(() => reloads() > before);
    const denied = await ssh("uname -s");
    assert.equal(
      denied.stderr,
      "portcullis: blocked: uname is being watched (rule e2e-guard#3)\r\n",
    );
    assert.equal(denied.code, 126);

    writeFileSync(extraFile, `${EXTRA_POLICY}\n  - name: [oops\n`);
    const error = await bastion.waitForAudit((e) => e.event === "policy.error");
    assert.match(String((error.problems as string[])[0]), /60-extra\.yaml:\d+:\d+: /);
    const stillDenied = await ssh("uname -s");
    assert.equal(stillDenied.code, 126);
  });

  it("refuses an incomplete line without running it", async () => {
    const result = await ssh(`echo "unterminated > ${marker("open-quote")}`);
    assert.equal(result.code, 126);
    assert.match(result.stderr, /^portcullis: blocked: /);
  });
});
