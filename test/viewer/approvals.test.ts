// The approvals page end to end in headless Chromium: a real bastion holds
// a real `ssh` exec on a rule marked `approve`; the request appears live
// (server-sent events, no reload) on an approver's page, is approved there
// with a comment, and the command then runs on the target. Self-approval
// and approvers not named by the rule are refused (buttons disabled, and
// the POST refused); a decision made elsewhere (the CLI) updates the page;
// POSTs without sign-in or CSRF token are refused; the server shuts down
// promptly with a live page connected.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { UserKey } from "../harness/bastion.js";
import {
  APPROVER_GROUP,
  AUDITOR_GROUP,
  launchChromium,
  signedInContext,
  startViewerStack,
  testUser,
  type ViewerStack,
} from "../harness/browser.js";

const bob = testUser("bob", [APPROVER_GROUP]);
const alice = testUser("alice", [APPROVER_GROUP]);
const carol = testUser("carol", [APPROVER_GROUP]);
const audrey = testUser("audrey", [AUDITOR_GROUP]);

const POLICY = `rulesets:
  held:
    default: allow
    rules:
      - approve: ["touch *"]
        reason: changes files
        approvers: { users: [bob@example.com] }
access:
  - name: held-commands
    subjects: { groups: [makers] }
    targets: { names: [web1] }
    commands: [held]
`;

const REQUEST_SENT = /request (\w+) sent to/;

async function waitFor<T>(find: () => T | undefined, what: () => string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) assert.fail(`timed out: ${what()}`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
}

describe("web viewer: approvals page", () => {
  let stack: ViewerStack;
  let browser: Browser;
  let aliceKey: UserKey;
  let dir: string;
  let stopped = false;

  /** `ssh web1 COMMAND` as alice in the background, held for approval. */
  function heldExec(command: string) {
    const child = spawn("/usr/bin/ssh", [...stack.bastion.sshArgs(aliceKey, "web1"), command]);
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
    return { exited, requestId, stderr: () => stderr };
  }

  async function approvalsPage(user: typeof bob): Promise<{ page: Page; close(): Promise<void> }> {
    const { context, page } = await signedInContext(browser, stack.url, user);
    await page.goto(`${stack.url}/approvals`);
    await page.locator("#live-status", { hasText: "Live" }).waitFor();
    return { page, close: () => context.close() };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "portcullis-web-approvals-"));
    stack = await startViewerStack([bob, alice, carol, audrey], { extraPolicy: POLICY });
    browser = await launchChromium();
    aliceKey = await stack.bastion.issueUser(alice.email ?? "", ["makers"]);
  });
  after(async () => {
    await browser?.close();
    if (stopped) await stack?.idp.close();
    else await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows a new request live, approves it with a comment, and the command runs", async () => {
    const { page, close } = await approvalsPage(bob);
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    let navigations = 0;
    page.on("framenavigated", () => navigations++);
    try {
      const file = join(dir, "approved-in-browser");
      const held = heldExec(`touch ${file}`);
      const id = await held.requestId();
      const card = page.locator(`#approval-${id}`);
      await card.waitFor({ timeout: 5000 });
      assert.equal(navigations, 0, "the card came without a reload");
      const text = (await card.textContent()) ?? "";
      for (const expected of [
        alice.email ?? "",
        `touch ${file}`,
        "held#1",
        "changes files",
        "users bob@example.com",
        "0 of 1 approval",
        "Time left",
      ])
        assert.ok(text.includes(expected), `${expected} in ${text}`);
      assert.equal(existsSync(file), false, "nothing ran while waiting");

      await card.getByLabel("Comment").fill("looks fine");
      await card.getByRole("button", { name: "Approve" }).click();
      await page.waitForURL(/\/approvals\?done=/);
      assert.match((await page.locator(".notice").textContent()) ?? "", /Approved/);
      assert.equal(await held.exited, 0, held.stderr());
      assert.equal(existsSync(file), true, "the command ran on the target");
      assert.match(held.stderr(), /approved by bob@example\.com: looks fine/);

      const approved = await stack.bastion.waitForAudit(
        (event) => event.event === "approval.approved" && event.id === id,
      );
      assert.equal(approved.via, "web");
      assert.equal(approved.approver, bob.email);
      assert.equal(approved.comment, "looks fine");
      const history = (await page.locator("#history-list").textContent()) ?? "";
      assert.match(history, new RegExp(`${id}[\\s\\S]*approved[\\s\\S]*looks fine`));
      assert.match(history, /via web/);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it("refuses self-approval and approvers the rule does not name; a CLI decision updates the page", async () => {
    const file = join(dir, "never-approved");
    const held = heldExec(`touch ${file}`);
    const id = await held.requestId();
    const own = await approvalsPage(alice);
    const other = await approvalsPage(carol);
    try {
      for (const [view, reason] of [
        [own.page, /your own request/],
        [other.page, /not among this request(?:'|&#39;)s approvers \(users bob@example\.com\)/],
      ] as const) {
        const card = view.locator(`#approval-${id}`);
        await card.waitFor();
        assert.equal(await card.getByRole("button", { name: "Approve" }).isDisabled(), true);
        assert.match((await card.locator(".refusal").textContent()) ?? "", reason);
        const token = await view.locator('input[name="_csrf"]').first().inputValue();
        const response = await view.request.post(`${stack.url}/approvals/${id}/decide`, {
          form: { _csrf: token, verdict: "approve" },
          maxRedirects: 0,
        });
        assert.equal(response.status(), 403);
        assert.match(await response.text(), reason);
      }
      const self = await stack.bastion.cli([
        "deny",
        id,
        "--as",
        bob.email ?? "",
        "--comment",
        "no",
      ]);
      assert.equal(self.code, 0, self.stderr);
      await own.page.locator(`#approval-${id}`).waitFor({ state: "detached", timeout: 5000 });
      assert.equal(await held.exited, 126);
      assert.equal(existsSync(file), false);
      await own.page.locator("#history-list", { hasText: id }).waitFor();
    } finally {
      await own.close();
      await other.close();
    }
  });

  it("refuses POSTs without sign-in (401) or without a CSRF token (403), and non-approvers (403)", async () => {
    for (const path of ["/approvals", "/approvals/events"]) {
      assert.equal((await fetch(`${stack.url}${path}`)).status, 401, path);
    }
    const anonymous = await fetch(`${stack.url}/approvals/abc234/decide`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "verdict=approve",
      redirect: "manual",
    });
    assert.equal(anonymous.status, 401);
    const { context, page } = await signedInContext(browser, stack.url, bob);
    try {
      const forms: Record<string, string>[] = [
        { verdict: "approve" },
        { verdict: "approve", _csrf: "forged" },
      ];
      for (const form of forms) {
        const response = await page.request.post(`${stack.url}/approvals/abc234/decide`, {
          form,
          maxRedirects: 0,
        });
        assert.equal(response.status(), 403, JSON.stringify(form));
      }
      assert.equal(await page.getByRole("link", { name: "Approvals" }).count(), 1);
    } finally {
      await context.close();
    }
    const auditor = await signedInContext(browser, stack.url, audrey);
    try {
      assert.equal(await auditor.page.getByRole("link", { name: "Approvals" }).count(), 0);
      for (const path of ["/approvals", "/approvals/events"]) {
        assert.equal((await auditor.page.request.get(`${stack.url}${path}`)).status(), 403, path);
      }
    } finally {
      await auditor.context.close();
    }
  });

  it("shuts down promptly with a live page connected", async () => {
    const { page, close } = await approvalsPage(bob);
    try {
      assert.equal(await page.locator("#live-status", { hasText: "Live" }).count(), 1);
      const started = Date.now();
      const code = await stack.bastion.stop("SIGTERM");
      stopped = true;
      assert.equal(code, 0);
      assert.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms`);
    } finally {
      await close();
    }
  });
});
