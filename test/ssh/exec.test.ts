// Exec sessions through a real bastion to a real sshd with the real ssh
// client: output, exit status, stdin, stderr, signals, target selection,
// access denial, host key pinning, forwarding refusal, audit events.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { run, startTestBastion, type TestBastion, type UserKey } from "../harness/bastion.js";

const SSH = "/usr/bin/ssh";

describe("exec through the bastion", () => {
  let bastion: TestBastion;
  let alice: UserKey;

  before(async () => {
    bastion = await startTestBastion();
    alice = await bastion.issueUser("alice@example.com", ["ops"]);
  });
  after(async () => {
    await bastion?.stop();
  });

  const ssh = (sshUser: string, command: string[], input?: string) =>
    run(SSH, bastion.sshArgs(alice, sshUser, ...command), input === undefined ? {} : { input });

  it("runs a command and returns its output and exit status", async () => {
    const result = await ssh("web1", ["echo hello from $(whoami); exit 3"]);
    assert.equal(result.stdout, `hello from ${bastion.sshd.login}\n`);
    assert.equal(result.code, 3);
  });

  it("keeps stderr separate from stdout", async () => {
    const result = await ssh("web1", ["echo out; echo err >&2"]);
    assert.equal(result.stdout, "out\n");
    assert.equal(result.stderr, "err\n");
    assert.equal(result.code, 0);
  });

  it("pipes stdin to the remote command and passes its EOF", async () => {
    const input = `${"0123456789abcdef".repeat(64 * 1024)}end\n`;
    const result = await ssh("web1", ["sha256sum; echo done"], input);
    const expected = (await run("/usr/bin/sha256sum", [], { input })).stdout;
    assert.equal(result.stdout, `${expected}done\n`);
  });

  it("selects the login with login@target", async () => {
    const result = await ssh(`${bastion.sshd.login}@web1`, ["id -un"]);
    assert.equal(result.stdout.trim(), bastion.sshd.login);
  });

  it("reports a remote signal death like a direct connection does", async () => {
    const direct = await run(SSH, bastion.directSshArgs("kill -TERM $$"));
    const proxied = await ssh("web1", ["kill -TERM $$"]);
    assert.equal(direct.code, 255);
    assert.equal(proxied.code, direct.code);
  });

  it("refuses an unknown target with a clear message", async () => {
    const result = await ssh("deploy@nosuch", ["true"]);
    assert.match(result.stderr, /portcullis: unknown target "nosuch"/);
    assert.equal(result.code, 1);
  });

  it("lists reachable targets when the user name is not a target", async () => {
    const result = await ssh("alice", ["true"]);
    assert.match(
      result.stderr,
      /"alice" is not a target; targets you may reach: badkey, down, web1/,
    );
    assert.equal(result.code, 1);
  });

  it("refuses a target the access policy does not grant", async () => {
    const result = await ssh("db1", ["true"]);
    assert.match(result.stderr, /portcullis: access to db1 denied: /);
    assert.equal(result.code, 1);
    await bastion.waitForAudit(
      (e) => e.event === "session.denied" && e.target === "db1" && e.user === "alice@example.com",
    );
  });

  it("refuses a target whose host key differs from the pinned one", async () => {
    const result = await ssh("badkey", ["echo should-not-run"]);
    assert.match(result.stderr, /host key of 127\.0\.0\.1:\d+ does not match the pinned key/);
    assert.doesNotMatch(result.stdout, /should-not-run/);
    assert.equal(result.code, 255);
    await bastion.waitForAudit(
      (e) => e.event === "upstream.host_key_rejected" && e.target === "badkey",
    );
  });

  it("tells the user when the target is unreachable", async () => {
    const result = await ssh("down", ["echo should-not-run"]);
    assert.match(result.stderr, /portcullis: target 127\.0\.0\.1:1 refused the connection\r?\n/);
    assert.equal(result.code, 255);
    await bastion.waitForAudit((e) => e.event === "upstream.error" && e.target === "down");
  });

  it("refuses port forwarding", async () => {
    const result = await run(SSH, [
      ...bastion.sshArgs(alice, "web1", "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:9"),
      "echo forwarded",
    ]);
    assert.notEqual(result.code, 0);
    assert.doesNotMatch(result.stdout, /forwarded/);
  });

  it("audits authentication and the session with the SPEC fields", async () => {
    await ssh("web1", ["true"]);
    const end = await bastion.waitForAudit((e) => e.event === "session.end" && e.target === "web1");
    for (const field of ["time", "session", "user", "target", "login", "source_ip"]) {
      assert.ok(end[field] !== undefined, `session.end lacks ${field}`);
    }
    const events = bastion.auditEvents().filter((e) => e.session === end.session);
    // OpenSSH offers the plain key before its certificate: refused and audited.
    assert.deepEqual(
      events.map((e) => `${e.event}${e.code ? `:${e.code}` : ""}`),
      // The command is decided before anything connects upstream.
      ["auth.failure:not_a_certificate", "auth.success", "command", "session.start", "session.end"],
    );
    assert.equal(events[1]?.user, "alice@example.com");
  });
});
