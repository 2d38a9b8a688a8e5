// `file_transfer: approve` with the real clients: the first transfer of a
// connection (an sftp channel, a legacy `scp -O` exec) waits while its
// request is shown on the client's stderr, an approver decides with the real
// CLI (`portcullis approve|deny ID --as …`, another process writing the
// database), and the real sshd shows whether anything moved. Later channels
// of the same connection (OpenSSH connection sharing) reuse the answer.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  decideWithCli,
  startTestBastion,
  type TestBastion,
  type UserKey,
} from "../harness/bastion.js";
import { eventually } from "../harness/eventually.js";
import { clientOptions, fileEntry } from "../sftp/helpers.js";

const REQUEST_SENT = /request (\w+) sent to/;
const BOB = "bob@example.com";

describe("file_transfer: approve", () => {
  let bastion: TestBastion;
  let alice: UserKey;
  let remote: string;
  let local: string;

  before(async () => {
    bastion = await startTestBastion({
      extraPolicy: (sshd) => {
        const files = join(sshd.dir, "files");
        return `access:
${fileEntry(
  "asking",
  "file_transfer: approve",
  `files: [{ allow: "${files}/**" }, { deny: "${files}/secret*" }]`,
  `approval: { approvers: { users: [${BOB}] }, timeout: 1m }`,
)}
`;
      },
    });
    alice = await bastion.issueUser("alice@example.com", ["asking"]);
    remote = join(bastion.sshd.dir, "files");
    local = join(bastion.dir, "local");
    mkdirSync(remote);
    mkdirSync(local);
    for (const name of ["first.txt", "second.txt", "legacy.txt", "denied.txt", "shared.txt"]) {
      writeFileSync(join(remote, name), `contents of ${name}\n`);
    }
    writeFileSync(join(remote, "secret.txt"), "never\n");
  });
  after(async () => {
    await bastion?.stop();
  });

  /** A client in the background; `requestId()` waits until its stderr names the request. */
  function waiting(program: string, args: readonly string[]) {
    const child = spawn(program, args);
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const requestId = async () => {
      let id: string | undefined;
      await eventually(() => {
        id = REQUEST_SENT.exec(stderr)?.[1];
        assert.ok(id, `no request yet; stderr: ${stderr}`);
      }, 15_000);
      return id as string;
    };
    return { exited, requestId, stderr: () => stderr };
  }

  function sftp(lines: readonly string[], ...options: string[]) {
    const batch = join(bastion.dir, `batch-${Math.random().toString(36).slice(2)}`);
    writeFileSync(batch, `${lines.join("\n")}\n`);
    return waiting("/usr/bin/sftp", [
      ...clientOptions(bastion, alice),
      ...options,
      "-b",
      batch,
      "web1@127.0.0.1",
    ]);
  }

  const legacyScp = (path: string, to: string, ...options: string[]) =>
    waiting("/usr/bin/scp", [
      ...clientOptions(bastion, alice),
      ...options,
      "-O",
      `web1@127.0.0.1:${path}`,
      to,
    ]);

  const decide = (verdict: "approve" | "deny", id: string, as: string, comment?: string) =>
    decideWithCli(bastion, verdict, id, as, comment);

  const requestsOf = () =>
    bastion
      .auditEvents()
      .filter((e) => e.event === "approval.requested" && e.kind === "file_transfer");

  it("sftp waits for the approval, then transfers under the path rules; later channels do not ask", async () => {
    const socket = join(bastion.dir, "control");
    const master = startMaster(bastion, alice, socket);
    try {
      await eventually(() => assert.ok(existsSync(socket), "no control socket"), 15_000);
      const shared = ["-o", `ControlPath=${socket}`, "-o", "ControlMaster=no"];
      const first = sftp(
        [`get ${remote}/first.txt ${local}/first.txt`, `-get ${remote}/secret.txt ${local}/s.txt`],
        ...shared,
      );
      const id = await first.requestId();
      assert.match(first.stderr(), /needs approval: file transfer on web1: sftp \(access asking\)/);
      const listed = await bastion.cli(["approvals"]);
      assert.match(listed.stdout, new RegExp(`${id}\\s+pending\\s+file_transfer\\s+alice@`));
      await new Promise((wake) => setTimeout(wake, 300));
      assert.equal(existsSync(join(local, "first.txt")), false, "nothing moved while waiting");

      const approved = await decide("approve", id, BOB, "go");
      assert.equal(approved.code, 0, approved.stderr);
      assert.match(approved.stdout, /approved \w+: file transfer on web1 \(sftp\)/);
      assert.equal(await first.exited, 0, first.stderr());
      assert.match(first.stderr(), /approved by bob@example\.com: go/);
      assert.equal(readFileSync(join(local, "first.txt"), "utf8"), "contents of first.txt\n");
      assert.match(first.stderr(), /secret\.txt.*Permission denied/);
      assert.equal(existsSync(join(local, "s.txt")), false);
      const requested = await bastion.waitForAudit(
        (e) => e.event === "approval.requested" && e.id === id,
      );
      assert.equal(requested.kind, "file_transfer");
      assert.equal(requested.line, "sftp");
      assert.equal(requested.rule, "access:asking");
      await bastion.waitForAudit((e) => e.event === "approval.approved" && e.id === id);

      const second = sftp([`get ${remote}/second.txt ${local}/second.txt`], ...shared);
      assert.equal(await second.exited, 0, second.stderr());
      assert.doesNotMatch(second.stderr(), /approval/);
      assert.equal(existsSync(join(local, "second.txt")), true);
      const legacy = legacyScp(`${remote}/shared.txt`, join(local, "shared.txt"), ...shared);
      assert.equal(await legacy.exited, 0, legacy.stderr());
      assert.equal(existsSync(join(local, "shared.txt")), true);
      assert.equal(requestsOf().length, 1, "one request for the connection");
    } finally {
      master.kill();
    }
  });

  it("refuses self-approval; denied, sftp fails and nothing is transferred", async () => {
    const asked = sftp([`get ${remote}/denied.txt ${local}/denied.txt`]);
    const id = await asked.requestId();
    const self = await decide("approve", id, "alice@example.com");
    assert.equal(self.code, 1);
    assert.match(self.stderr, /alice@example\.com cannot decide their own request/);
    const denied = await decide("deny", id, BOB, "not now");
    assert.equal(denied.code, 0, denied.stderr);
    assert.notEqual(await asked.exited, 0);
    assert.match(asked.stderr(), /denied by bob@example\.com: not now; nothing was transferred/);
    assert.match(
      asked.stderr(),
      /blocked: file transfer was not approved; nothing was transferred/,
    );
    assert.equal(existsSync(join(local, "denied.txt")), false);
    const refusal = await bastion.waitForAudit(
      (e) => e.event === "session.denied" && e.user === "alice@example.com",
    );
    assert.equal(
      refusal.reason,
      "sftp is not allowed: file transfer was not approved (access asking)",
    );
    await bastion.waitForAudit((e) => e.event === "approval.denied" && e.id === id);
    const moved = bastion
      .auditEvents()
      .filter((e) => e.event === "file.transfer" && String(e.path).endsWith("denied.txt"));
    assert.deepEqual(moved, []);
  });

  it("legacy scp -O asks on its own connection; approved, the file arrives", async () => {
    const asked = legacyScp(`${remote}/legacy.txt`, join(local, "legacy.txt"));
    const id = await asked.requestId();
    assert.match(asked.stderr(), /needs approval: file transfer on web1: scp -f/);
    assert.equal((await decide("approve", id, BOB)).code, 0);
    assert.equal(await asked.exited, 0, asked.stderr());
    assert.equal(readFileSync(join(local, "legacy.txt"), "utf8"), "contents of legacy.txt\n");
    const requested = await bastion.waitForAudit(
      (e) => e.event === "approval.requested" && e.id === id,
    );
    assert.equal(requested.kind, "file_transfer");
    assert.match(String(requested.line), /^scp .*-f .*legacy\.txt$/);
    await bastion.waitForAudit(
      (e) =>
        e.event === "file.transfer" &&
        e.via === "scp" &&
        String(e.path).endsWith("legacy.txt") &&
        e.result === "ok",
    );
  });
});

/** An OpenSSH connection master (no session) that later clients share through `socket`. */
function startMaster(bastion: TestBastion, key: UserKey, socket: string): ChildProcess {
  const options = ["-N", "-o", "ControlMaster=yes", "-o", `ControlPath=${socket}`];
  return spawn("/usr/bin/ssh", [...options, ...bastion.sshArgs(key, "web1")], { stdio: "ignore" });
}
