// The bastion's lifecycle end to end, through `portcullis serve` as a child
// process with a real OpenSSH client in a pseudo-terminal: SIGTERM warns the
// open sessions, lets them go on for `ssh.shutdown_grace`, ends them, closes
// and signs their recordings and exits 0; a second signal cuts the grace
// short; SIGHUP reloads the policy and the revocation list.

import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { run, startTestBastion, type TestBastion } from "../harness/bastion.js";
import { eventually } from "../harness/eventually.js";
import type { PtyDriver } from "../harness/pty.js";
import { openShell, signalServe, waitForExit } from "./lifecycle-helpers.js";

const WARNING = /portcullis: the bastion is shutting down; this session ends in (\d+)s/;
const ENDED = "portcullis: the bastion is shutting down\r\n";

async function withBastion(
  grace: string,
  body: (bastion: TestBastion) => Promise<void>,
): Promise<number | null> {
  const bastion = await startTestBastion({ sshConfig: [`shutdown_grace: ${grace}`] });
  let failure: unknown;
  try {
    await body(bastion);
  } catch (error) {
    failure = error;
  }
  // The serve process has exited by now (unless the body failed): stop() returns its exit code.
  const code = await bastion.stop("SIGKILL");
  if (failure !== undefined) throw failure;
  return code;
}

/** The session's recordings are closed (not interrupted) and `recordings verify` passes for them. */
async function assertRecordingsClosed(bastion: TestBastion, session: string): Promise<void> {
  const db = new Database(join(bastion.dir, "data", "portcullis.db"), { readonly: true });
  const statuses = db
    .prepare("SELECT status FROM recordings WHERE session = ?")
    .pluck()
    .all(session) as string[];
  db.close();
  assert.ok(statuses.length > 0, "the session has a recording");
  assert.deepEqual(new Set(statuses), new Set(["closed"]));
  const verified = await bastion.cli(["recordings", "verify", session]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
}

/**
 * The user saw why the session ended, serve exited, the audit has the
 * session's end before `server.stop`, and its recordings are closed and verify.
 */
async function assertShutDown(bastion: TestBastion, term: PtyDriver, pid: number): Promise<void> {
  assert.ok(term.output.includes(ENDED), term.output.slice(-500));
  await waitForExit(pid);
  const end = await bastion.waitForAudit((event) => event.event === "session.end");
  assert.equal(end.reason, "the bastion is shutting down");
  await bastion.waitForAudit((event) => event.event === "server.stop");
  const order = bastion.auditEvents().map((event) => event.event);
  assert.ok(order.indexOf("session.end") < order.indexOf("server.stop"), order.join(","));
  await assertRecordingsClosed(bastion, String(end.session));
}

describe("graceful shutdown (SIGTERM)", () => {
  it("warns open sessions, lets them go on for the grace, then ends them with closed, signed recordings", async () => {
    const code = await withBastion("3s", async (bastion) => {
      const term = await openShell(bastion);
      const pid = bastion.serverPid as number;
      const signalledAt = Date.now();
      signalServe(bastion, "SIGTERM");
      const warned = WARNING.exec(await term.expect(WARNING));
      assert.equal(warned?.[1], "3");

      // No new connection is accepted, while the open session still works.
      const alice = await bastion.issueUser("alice@example.com", ["ops"]);
      const refused = await run("/usr/bin/ssh", bastion.sshArgs(alice, "web1", "true"));
      assert.equal(refused.code, 255);
      assert.match(refused.stderr, /Connection refused/);
      const mark = term.output.length;
      term.type("echo still-$((40+2))\r");
      await term.expect("still-42", 5_000, mark);

      await term.exit(10_000);
      const endedAfter = Date.now() - signalledAt;
      assert.ok(endedAfter >= 2_500, `the session ended after ${endedAfter} ms, before the grace`);
      assert.ok(endedAfter < 8_000, `the session ended after ${endedAfter} ms`);
      await assertShutDown(bastion, term, pid);
    });
    assert.equal(code, 0);
  });

  it("ends the sessions at once on a second signal, still closing their recordings", async () => {
    const code = await withBastion("60s", async (bastion) => {
      const term = await openShell(bastion);
      const pid = bastion.serverPid as number;
      signalServe(bastion, "SIGTERM");
      await term.expect("this session ends in 60s");
      const cutAt = Date.now();
      signalServe(bastion, "SIGINT");
      await term.exit(10_000);
      assert.ok(Date.now() - cutAt < 5_000, "ended well before the grace");
      await assertShutDown(bastion, term, pid);
    });
    assert.equal(code, 0);
  });

  it("with a grace of 0 ends the sessions at once", async () => {
    const code = await withBastion("0s", async (bastion) => {
      const term = await openShell(bastion);
      const pid = bastion.serverPid as number;
      signalServe(bastion, "SIGTERM");
      await term.exit(10_000);
      assert.doesNotMatch(term.output, WARNING);
      await assertShutDown(bastion, term, pid);
    });
    assert.equal(code, 0);
  });
});

describe("reload (SIGHUP)", () => {
  it("reloads the policy and the revocation list, both audited", async () => {
    await withBastion("0s", async (bastion) => {
      const before = bastion.auditEvents().length;
      signalServe(bastion, "SIGHUP");
      const since = () => bastion.auditEvents().slice(before);
      await eventually(() => {
        const events = since().map((event) => event.event);
        assert.ok(events.includes("policy.reload"), events.join(","));
        assert.ok(events.includes("ca.revocation_reload"), events.join(","));
      });
      const policy = since().find((event) => event.event === "policy.reload");
      assert.equal(policy?.trigger, "signal");
      // Still serving after the reload.
      const term = await openShell(bastion);
      term.type("exit\r");
      await term.exit();
      signalServe(bastion, "SIGTERM");
      await waitForExit(bastion.serverPid as number);
    });
  });
});
