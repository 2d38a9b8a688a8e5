// /metrics, /healthz and /readyz of a real `portcullis serve` (operations
// listener on `metrics.listen`, and the HTTP listener), scraped while real
// ssh clients use it: an interactive shell and exec sessions with allowed,
// warned, denied and approved commands, an auth failure, policy reloads
// (file edits and SIGHUP), then the sessions' outcomes once they ended.
// Labels never carry a user, a session id or a command line.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DemoIdentityProvider } from "../../src/idp/index.js";
import { sessionOutcome } from "../../src/metrics/index.js";
import { commandRequest, openService } from "../approvals/helpers.js";
import { run, startTestBastion, type TestBastion, type UserKey } from "../harness/bastion.js";
import { keygenCertificate } from "../harness/certs.js";
import { eventually } from "../harness/eventually.js";
import { generateTestKey } from "../harness/keys.js";
import { PROMPT_END, PtyDriver } from "../harness/pty.js";
import { startPeopleIdp } from "../oidc/fixtures.js";
import { get, opsUrl, scrape, withMetrics } from "./metrics-helpers.js";

const SSH = "/usr/bin/ssh";
const USER = "metered@example.com";
const APPROVER = "approver@example.com";

const POLICY = `access:
  - name: metered-web
    subjects: { groups: [metered] }
    targets: { names: [web1] }
    commands: [metered]
rulesets:
  metered:
    default: allow
    rules:
      - deny: "touch *"
        reason: no touching
      - warn: "uname*"
        reason: uname is watched
      - approve: "mkdir *"
        reason: directories need a second look
        approvers: { users: [${APPROVER}] }
`;

describe("metrics and health of a running bastion", () => {
  let idp: DemoIdentityProvider;
  let bastion: TestBastion;
  let user: UserKey;
  let url: string;

  before(async () => {
    idp = await startPeopleIdp();
    const withHttp = (yaml: string) =>
      `${yaml}http:\n  listen: "127.0.0.1:0"\noidc:\n  issuer: "${idp.issuer}"\n  client_id: portcullis\n`;
    bastion = await startTestBastion({
      extraPolicy: POLICY,
      configEdit: (yaml) => withMetrics(withHttp(yaml)),
    });
    user = await bastion.issueUser(USER, ["metered"]);
    url = opsUrl(bastion);
  });
  after(async () => {
    await bastion?.stop();
    await idp?.close();
  });

  const sessionEnds = () => bastion.auditEvents().filter((e) => e.event === "session.end");

  it("answers /healthz and /readyz on the operations and the HTTP listener", async () => {
    const httpUrl = bastion.httpUrl();
    assert.ok(httpUrl, "the HTTP listener runs");
    for (const base of [url, httpUrl]) {
      assert.deepEqual(await get(`${base}/healthz`), { status: 200, body: "ok\n" });
      assert.deepEqual(await get(`${base}/readyz`), { status: 200, body: "ready\n" });
    }
    assert.equal((await get(`${httpUrl}/metrics`)).status, 404, "metrics only on their listener");
    assert.equal((await scrape(url)).value("portcullis_ready"), 1);
  });

  it("shows an interactive session, its commands, an exec, an approval and an auth failure", async () => {
    const before = await scrape(url);
    assert.equal(before.value("portcullis_active_sessions"), 0);
    assert.match(before.text, /^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    assert.match(before.text, /^# HELP portcullis_commands_total \S/m);

    const shell = new PtyDriver(SSH, ["-tt", ...bastion.sshArgs(user, "web1")], { cols: 120 });
    try {
      await typeAndWait(shell, "echo hello-$((6*7))", /hello-42/);
      await typeAndWait(shell, "uname -s", /Linux/);
      await typeAndWait(shell, "touch /tmp/metrics-never", /portcullis: blocked: no touching/);
      const during = await scrape(url);
      assert.equal(during.value("portcullis_active_sessions"), 1);
      for (const decision of ["allow", "warn", "deny"])
        assert.ok(
          during.value(`portcullis_commands_total{decision="${decision}"}`) >= 1,
          `a ${decision} command is counted`,
        );

      const exec = await run(SSH, bastion.sshArgs(user, "web1", "echo exec-ok"));
      assert.equal(exec.stdout, "exec-ok\n", exec.stderr);
      await approvedExec();
      await authFailure();

      const later = await scrape(url);
      assert.equal(later.value("portcullis_active_sessions"), 1, "the exec sessions ended");
      assert.ok(later.value("portcullis_sessions_started_total") >= 3);
      // OpenSSH offers the plain key before its certificate: `not_a_certificate` on every login.
      const failures = bastion.auditEvents().filter((e) => e.event === "auth.failure");
      for (const code of ["untrusted_ca", "not_a_certificate"]) {
        const audited = failures.filter((failure) => failure.code === code).length;
        assert.ok(audited >= 1);
        assert.equal(
          later.value(`portcullis_auth_failures_total{code="${code}",via="ssh"}`),
          audited,
        );
      }

      shell.type("exit\r");
      await shell.exit();
    } finally {
      shell.kill();
    }

    await eventually(async () => {
      const after = await scrape(url);
      assert.equal(after.value("portcullis_active_sessions"), 0);
      const ends = sessionEnds();
      assert.equal(ends.length, 3, "one interactive and two exec sessions ended");
      for (const outcome of new Set(ends.map((end) => sessionOutcome(end.reason)))) {
        const expected = ends.filter((end) => sessionOutcome(end.reason) === outcome).length;
        assert.equal(
          after.value(`portcullis_sessions_ended_total{outcome="${outcome}"}`),
          expected,
        );
      }
    });
    const after = await scrape(url);
    assert.ok(after.value("portcullis_recording_bytes_written_total") > 0);
    assert.ok(after.value('portcullis_recording_write_duration_seconds_count{op="write"}') > 0);
    for (const secret of [
      USER,
      "metrics-never",
      ...sessionEnds().map((end) => String(end.session)),
    ])
      assert.equal(after.text.includes(secret), false, `${secret} must never be a label`);
  });

  it("counts policy reloads by trigger, and a broken edit as an error", async () => {
    const extra = join(bastion.dir, "policies", "60-extra.yaml");
    const reloads = (trigger: string) =>
      scrape(url).then((s) => s.value(`portcullis_policy_reloads_total{trigger="${trigger}"}`));
    const errors = async () =>
      (await scrape(url)).value('portcullis_policy_reload_errors_total{trigger="file_change"}');

    writeFileSync(extra, POLICY.replace("reason: no touching", "reason: still no touching"));
    await eventually(async () => assert.ok((await reloads("file_change")) >= 1));
    writeFileSync(extra, `${POLICY}\n  - name: [broken\n`);
    await eventually(async () => assert.equal(await errors(), 1));
    writeFileSync(extra, POLICY);
    const byFile = await reloads("file_change");
    process.kill(Number(bastion.serverPid), "SIGHUP");
    await eventually(async () => assert.equal(await reloads("signal"), 1));
    assert.ok((await reloads("file_change")) >= byFile);
  });

  /** `mkdir` waits for an approval, given by the approver with the real CLI. */
  async function approvedExec(): Promise<void> {
    const dir = join(bastion.sshd.dir, "metrics-approved");
    const child = spawn(SSH, [...bastion.sshArgs(user, "web1"), `mkdir ${dir}`]);
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const requested = await bastion.waitForAudit((e) => e.event === "approval.requested");
    assert.equal((await scrape(url)).value("portcullis_approvals_pending"), 1);
    const approve = await bastion.cli(["approve", String(requested.id), "--as", APPROVER]);
    assert.equal(approve.code, 0, approve.stderr);
    assert.equal(await exited, 0);
    const settled = await scrape(url);
    assert.equal(settled.value("portcullis_approvals_pending"), 0);
    // A request another bastion node made in the shared database counts too.
    const { approvals } = openService({ path: join(bastion.dir, "data", "portcullis.db") });
    const elsewhere = approvals.request(commandRequest());
    assert.equal((await scrape(url)).value("portcullis_approvals_pending"), 1);
    approvals.withdraw(elsewhere.id, "test");
    assert.equal((await scrape(url)).value("portcullis_approvals_pending"), 0);
    assert.equal(
      settled.value('portcullis_approval_duration_seconds_count{outcome="approved"}'),
      1,
    );
  }

  /** A certificate from a CA the bastion does not trust is refused: `untrusted_ca`. */
  async function authFailure(): Promise<void> {
    const foreignCa = generateTestKey(bastion.dir, "ed25519").privatePath;
    const cert = keygenCertificate(bastion.dir, foreignCa, { principals: [USER] });
    const refused = await run(SSH, bastion.sshArgs(cert, "web1", "true"));
    assert.equal(refused.code, 255);
    await bastion.waitForAudit((e) => e.event === "auth.failure" && e.code === "untrusted_ca");
  }
});

/** Types a line and waits for `pattern` and the next prompt after it, as a person does. */
async function typeAndWait(shell: PtyDriver, line: string, pattern: RegExp): Promise<void> {
  const from = shell.output.length;
  shell.type(`${line}\r`);
  await shell.expect(pattern, 15_000, from);
  await shell.expect(new RegExp(`${pattern.source}[\\s\\S]*${PROMPT_END.source}`), 15_000, from);
}
