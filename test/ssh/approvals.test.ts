// Approvals in real sessions (issue 7): lines the policy decides `approve`
// wait in the bastion until an approver decides with the real CLI
// (`portcullis approve|deny ID --as …`, a separate process writing the
// database); the target (a real sshd) shows whether the line ran.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  decideWithCli,
  run,
  startTestBastion,
  type TestBastion,
  type UserKey,
} from "../harness/bastion.js";
import { PROMPT_END, PtyDriver } from "../harness/pty.js";

const REQUEST_SENT = /request (\w+) sent to/;
const SSH = "/usr/bin/ssh";

const EXTRA_POLICY = `rulesets:
  held:
    default: allow
    rules:
      - approve: ["touch *"]
        reason: changes files
        approvers: { users: [bob@example.com] }
      - approve: ["mkdir *"]
        reason: needs a reason
        approvers: { groups: [leads] }
        justify: true
      - approve: ["ln *"]
        reason: two pairs of eyes
        approvers: { groups: [leads] }
        quorum: 2
      - approve: ["chmod *"]
        reason: permissions
        approvers: { users: [bob@example.com] }
        reuse: 1m
access:
  - name: held-commands
    subjects: { groups: [makers] }
    targets: { names: [web1] }
    commands: [held]
  - name: hurried
    subjects: { groups: [hurried] }
    targets: { names: [db1] }
    approval: { approvers: { users: [bob@example.com] }, timeout: 2s }
    commands: [held]
  - name: just-in-time
    subjects: { groups: [jit] }
    targets: { names: [db1] }
    session: approve
    approval: { approvers: { users: [bob@example.com] }, grant: 1h }
    commands: [held]
  - name: warned-grant
    subjects: { groups: [warned] }
    targets: { names: [db1] }
    session: approve
    approval: { approvers: { users: [bob@example.com] }, grant: 302s }
    commands: [held]
  - name: short-grant
    subjects: { groups: [brief] }
    targets: { names: [db1] }
    session: approve
    approval: { approvers: { users: [bob@example.com] }, grant: 3s }
    commands: [held]
`;

describe("approvals in sessions", () => {
  let bastion: TestBastion;
  let alice: UserKey;
  let bob: UserKey;
  let jim: UserKey;
  let brief: UserKey;
  let tim: UserKey;
  let wendy: UserKey;
  let dir: string;

  before(async () => {
    bastion = await startTestBastion({ extraPolicy: EXTRA_POLICY });
    alice = await bastion.issueUser("alice@example.com", ["makers"]);
    bob = await bastion.issueUser("bob@example.com", ["ops"]);
    jim = await bastion.issueUser("jim@example.com", ["jit"]);
    brief = await bastion.issueUser("brie@example.com", ["brief"]);
    tim = await bastion.issueUser("tim@example.com", ["hurried"]);
    wendy = await bastion.issueUser("wendy@example.com", ["warned"]);
    dir = mkdtempSync(join(tmpdir(), "portcullis-approvals-"));
  });
  after(async () => {
    await bastion?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const decide = (verdict: "approve" | "deny", id: string, as: string, comment?: string) =>
    decideWithCli(bastion, verdict, id, as, comment);

  /** `ssh TARGET COMMAND` in the background; `requestId()` waits until stderr names the request. */
  function execWaiting(command: string, user = alice, target = "web1") {
    const child = spawn(SSH, [...bastion.sshArgs(user, target), command]);
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const requestId = () =>
      waitFor(
        () => REQUEST_SENT.exec(stderr)?.[1],
        () => stderr,
      );
    return { child, exited, requestId, stderr: () => stderr };
  }

  it("holds an exec command until approved, then runs it once", async () => {
    const file = join(dir, "exec-approved");
    const run = execWaiting(`touch ${file}`);
    const id = await run.requestId();
    await new Promise((wake) => setTimeout(wake, 300));
    assert.equal(existsSync(file), false, "nothing ran while waiting");
    const approved = await decide("approve", id, "bob@example.com", "go ahead");
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal(await run.exited, 0, run.stderr());
    assert.equal(existsSync(file), true);
    assert.match(run.stderr(), /approved by bob@example\.com: go ahead/);
  });

  it("refuses self-approval; a denial ends the exec with 126 and the approver's comment", async () => {
    const file = join(dir, "exec-denied");
    const run = execWaiting(`touch ${file}`);
    const id = await run.requestId();
    const self = await decide("approve", id, "alice@example.com");
    assert.notEqual(self.code, 0);
    assert.match(self.stderr, /own request/);
    const denied = await decide("deny", id, "bob@example.com", "not today");
    assert.equal(denied.code, 0, denied.stderr);
    assert.equal(await run.exited, 126);
    assert.match(run.stderr(), /denied by bob@example\.com: not today; the line was not run/);
    assert.equal(existsSync(file), false);
  });

  it("a quorum of two needs two distinct approvers before the command runs", async () => {
    const link = join(dir, "quorum-link");
    const waiting = execWaiting(`ln -s /tmp ${link}`);
    const id = await waiting.requestId();
    assert.match(waiting.stderr(), /group leads \(2 approvals needed\)/);
    const first = await bastion.cli([
      "approve",
      id,
      "--as",
      "lee@example.com",
      "--groups",
      "leads",
    ]);
    assert.equal(first.code, 0, first.stderr);
    const twice = await bastion.cli([
      "approve",
      id,
      "--as",
      "lee@example.com",
      "--groups",
      "leads",
    ]);
    assert.notEqual(twice.code, 0, "the same approver cannot count twice");
    await new Promise((wake) => setTimeout(wake, 500));
    assert.equal(existsSync(link), false, "one approval of two ran nothing");
    await bastion.cli(["approve", id, "--as", "lou@example.com", "--groups", "leads"]);
    assert.equal(await waiting.exited, 0, waiting.stderr());
    assert.equal(existsSync(link), true);
    assert.match(waiting.stderr(), /approved by lee@example\.com, lou@example\.com/);
  });

  it("an approved line may run again without asking within the rule's reuse window", async () => {
    const file = join(dir, "reused");
    writeFileSync(file, "");
    const first = execWaiting(`chmod 600 ${file}`);
    await decide("approve", await first.requestId(), "bob@example.com");
    assert.equal(await first.exited, 0);
    const again = await run(SSH, [...bastion.sshArgs(alice, "web1"), `chmod 600 ${file}`]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /approved earlier by bob@example\.com \(request \w+, reused\)/);
    await bastion.waitForAudit((e) => e.event === "approval.reused");
  });

  it("a request nobody decides expires with the entry's timeout; the exec ends with 126", async () => {
    const file = join(dir, "expired");
    const run = execWaiting(`touch ${file}`, tim, "db1");
    const id = await run.requestId();
    assert.equal(await run.exited, 126);
    assert.match(run.stderr(), new RegExp(`request ${id} expired; the line was not run`));
    assert.equal(existsSync(file), false);
  });

  it("a pending request survives a restart of the bastion", async () => {
    const run = execWaiting(`touch ${join(dir, "across-restart")}`);
    const id = await run.requestId();
    await bastion.restart("SIGTERM");
    await run.exited;
    const listed = await bastion.cli(["approvals", "--json"]);
    const pending = JSON.parse(listed.stdout) as { id: string; status: string }[];
    assert.equal(pending.find((request) => request.id === id)?.status, "pending");
  });

  it("an exec that must give a reason says how, and runs nothing", async () => {
    const run = execWaiting(`mkdir ${join(dir, "no-reason")}`);
    assert.equal(await run.exited, 126);
    assert.match(run.stderr(), /needs approval with a reason: .*PORTCULLIS_REASON/);
    assert.equal(existsSync(join(dir, "no-reason")), false);
  });

  describe("the approver console (ssh approvals@bastion)", () => {
    const approverConsole = (user: UserKey, command: string) =>
      run(SSH, [...bastion.sshArgs(user, "approvals"), command]);

    it("lists what the approver may decide and approves with their own certificate", async () => {
      const file = join(dir, "console-approved");
      const waiting = execWaiting(`touch ${file}`);
      const id = await waiting.requestId();
      const listed = await approverConsole(bob, "list");
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`${id}  alice@example\\.com → web1: touch `));
      const nothing = await approverConsole(alice, "list");
      assert.match(nothing.stdout, /no pending requests for you/);
      const self = await approverConsole(alice, `approve ${id}`);
      assert.equal(self.code, 1);
      assert.match(self.stderr, /own request/);
      const approved = await approverConsole(bob, `approve ${id} looks fine`);
      assert.equal(approved.stdout, `${id}: approved\n`, approved.stderr);
      assert.equal(await waiting.exited, 0);
      assert.match(waiting.stderr(), /approved by bob@example\.com: looks fine/);
      assert.equal(existsSync(file), true);
    });

    it("in a terminal: the list, then a prompt that decides", async () => {
      const waiting = execWaiting(`touch ${join(dir, "console-denied")}`);
      const id = await waiting.requestId();
      const term = new PtyDriver(SSH, ["-tt", ...bastion.sshArgs(bob, "approvals")]);
      try {
        await term.expect("approvals> ");
        assert.match(term.output, new RegExp(id));
        term.type(`deny ${id} not now\r`);
        await term.expect(`${id}: denied`);
        term.type("quit\r");
        assert.equal((await term.exit()).exitCode, 0);
      } finally {
        term.kill();
      }
      assert.equal(await waiting.exited, 126);
      assert.match(waiting.stderr(), /denied by bob@example\.com: not now/);
    });
  });

  describe("just-in-time access (session: approve)", () => {
    it("the first session waits for approval; the grant lets the next ones in without asking", async () => {
      const first = execWaiting("echo jit-$((5*5))", jim, "db1");
      const id = await first.requestId();
      assert.match(first.stderr(), /needs approval: access to db1/);
      await decide("approve", id, "bob@example.com");
      assert.equal(await first.exited, 0, first.stderr());
      const grants = await bastion.cli(["approvals", "grants", "--json"]);
      assert.match(grants.stdout, /jim@example\.com/);
      const again = await run(SSH, [...bastion.sshArgs(jim, "db1"), "echo again"]);
      assert.equal(again.stdout, "again\n", again.stderr);
      assert.doesNotMatch(again.stderr, /needs approval/);
    });

    it("a revoked grant ends the open session", async () => {
      const term = new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(jim, "db1")]);
      try {
        await term.expect(PROMPT_END);
        const listed = JSON.parse(
          (await bastion.cli(["approvals", "grants", "--json"])).stdout,
        ) as {
          id: string;
          user: string;
        }[];
        const grant = listed.find((entry) => entry.user === "jim@example.com");
        assert.ok(grant);
        const revoked = await bastion.cli([
          "approvals",
          "revoke-grant",
          grant.id,
          "--as",
          "bob@example.com",
        ]);
        assert.equal(revoked.code, 0, revoked.stderr);
        await term.expect(/the access grant \S+ was revoked/);
      } finally {
        term.kill();
      }
    });

    it("warns the session five minutes before its grant ends", async () => {
      const waiting = execWaiting("sleep 20", wendy, "db1");
      await decide("approve", await waiting.requestId(), "bob@example.com");
      await waitFor(
        () => (/ends in 5 minutes/.test(waiting.stderr()) ? true : undefined),
        waiting.stderr,
      );
      assert.match(waiting.stderr(), /your access to db1 ends in 5 minutes \(grant \w+\)/);
      waiting.child.kill();
    });

    it("a session ends when its grant expires; a denied one never starts", async () => {
      const first = execWaiting("sleep 30; echo never", brief, "db1");
      await decide("approve", await first.requestId(), "bob@example.com");
      assert.notEqual(await first.exited, 0);
      assert.match(first.stderr(), /the access grant \S+ expired/);
      await new Promise((wake) => setTimeout(wake, 500));
      const denied = execWaiting("echo nope", brief, "db1");
      await decide("deny", await denied.requestId(), "bob@example.com", "no");
      assert.equal(await denied.exited, 1);
      assert.match(denied.stderr(), /denied by bob@example\.com: no; the session was not started/);
    });
  });

  describe("in an interactive shell", () => {
    let term: PtyDriver;
    before(async () => {
      term = new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(alice, "web1")], {
        cols: 160,
        rows: 30,
      });
      await term.expect(PROMPT_END);
    });
    after(() => term?.kill());

    /** Waits for `pattern` after `mark`, then for the prompt after it (the line has run). */
    const promptAfter = async (pattern: RegExp, mark: number) => {
      await term.expect(pattern, 15_000, mark);
      await term.expect(PROMPT_END, 15_000, mark + term.output.slice(mark).search(pattern));
    };

    /** Types `line` and Enter; the id of the request the terminal shows next. */
    const typeHeldLine = async (line: string) => {
      const from = term.output.length;
      term.type(`${line}\r`);
      const seen = await term.expect(REQUEST_SENT, 15_000, from);
      return REQUEST_SENT.exec(seen.slice(from))?.[1] ?? "";
    };

    it("holds the line with a countdown, keeps typed keys out, and runs exactly it once approved", async () => {
      const file = join(dir, "shell-approved");
      const runs = join(dir, "shell-approved-runs");
      const id = await typeHeldLine(`touch ${file}; echo ran >> ${runs}`);
      await term.expect(/waiting for approval, \d+:\d\d left \(Ctrl-C withdraws\)/);
      term.type(`touch ${file}-leak\r`);
      await new Promise((wake) => setTimeout(wake, 300));
      assert.equal(existsSync(file), false);
      const mark = term.output.length;
      await decide("approve", id, "bob@example.com");
      await promptAfter(/approved by bob@example\.com/, mark);
      assert.equal(existsSync(file), true);
      assert.equal(readFileSync(runs, "utf8"), "ran\n", "the held line ran once");
      assert.equal(existsSync(`${file}-leak`), false, "keys typed while waiting did not run");
    });

    it("clears the line when denied, with the comment", async () => {
      const file = join(dir, "shell-denied");
      const id = await typeHeldLine(`touch ${file}`);
      const denied = await decide("deny", id, "bob@example.com", "use the change window");
      assert.equal(denied.code, 0, denied.stderr);
      await term.expect(/denied by bob@example\.com: use the change window; the line was not run/);
      term.type("echo after-$((40+2))\r");
      await term.expect("after-42");
      assert.equal(existsSync(file), false);
    });

    it("Ctrl-C withdraws the request", async () => {
      const file = join(dir, "shell-withdrawn");
      const id = await typeHeldLine(`touch ${file}`);
      term.type("\x03");
      await term.expect(new RegExp(`request ${id} withdrawn; the line was not run`));
      const late = await decide("approve", id, "bob@example.com");
      assert.notEqual(late.code, 0, "a withdrawn request cannot be approved");
      term.type("echo still-$((6*7))\r");
      await term.expect("still-42");
      assert.equal(existsSync(file), false);
    });

    it("asks for a reason when the rule wants one, and sends it with the request", async () => {
      const made = join(dir, "shell-justified");
      term.type(`mkdir ${made}\r`);
      await term.expect("portcullis: reason? ");
      const id = await typeHeldLine("ticket OPS-42");
      const listed = await bastion.cli(["approvals", "--json"]);
      const pending = JSON.parse(listed.stdout) as { id: string; justification?: string }[];
      assert.equal(pending.find((request) => request.id === id)?.justification, "ticket OPS-42");
      const refused = await decide("approve", id, "bob@example.com");
      assert.notEqual(refused.code, 0, "bob is not in group leads");
      const mark = term.output.length;
      await bastion.cli(["approve", id, "--as", "lee@example.com", "--groups", "leads"]);
      await promptAfter(/approved by lee@example\.com/, mark);
      assert.equal(existsSync(made), true);
    });
  });
});

async function waitFor<T>(value: () => T | undefined, context: () => string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = value();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out; so far: ${context()}`);
    await new Promise((wake) => setTimeout(wake, 25));
  }
}
