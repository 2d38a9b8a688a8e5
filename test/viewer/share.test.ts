// Share links end to end in headless Chromium: an auditor makes a link on a
// real session's page; a fresh browser without sign-in opens it, sees only
// that session (no navigation) and plays the recording; the link's use and
// creation are audited without its token; revoked and expired links (the
// test bastion's `viewer.share_max_ttl` is 6 s) answer "no longer valid";
// non-auditors cannot make links.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { run } from "../harness/bastion.js";
import {
  AUDITOR_GROUP,
  launchChromium,
  signedInContext,
  startViewerStack,
  testUser,
  type ViewerStack,
  viewerEval,
  waitForTerminalText,
} from "../harness/browser.js";

const audrey = testUser("audrey", [AUDITOR_GROUP]);
const alice = testUser("alice", ["ops"]);
const SHARE_TTL_MS = 6000;

describe("web viewer: share links", () => {
  let stack: ViewerStack;
  let browser: Browser;
  let sessionId: string;

  async function findSession(page: Page, text: string): Promise<string> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const response = await page.request.get(
        `${stack.url}/api/sessions?${new URLSearchParams({ q: text })}`,
      );
      const body = (await response.json()) as {
        sessions: { id: string; recordings: { status: string }[] }[];
      };
      const found = body.sessions[0];
      if (found?.recordings.length && found.recordings.every((row) => row.status === "closed"))
        return found.id;
      if (Date.now() > deadline) assert.fail(`no closed session with ${text}`);
      await new Promise((wake) => setTimeout(wake, 100));
    }
  }

  /** Creates a link on the session page as `page`'s auditor; returns its URL. */
  async function createLink(page: Page): Promise<string> {
    await page.goto(`${stack.url}/sessions/${sessionId}`);
    await page.getByRole("button", { name: "Create share link" }).click();
    await page.getByRole("heading", { name: "Share link created" }).waitFor();
    return page.getByLabel("Link").inputValue();
  }

  async function assertGone(url: string): Promise<void> {
    for (const path of [url, `${url}/recording.cast`]) {
      const response = await fetch(path);
      assert.equal(response.status, 404, path);
      const text = await response.text();
      assert.match(text, /no longer valid/);
      assert.doesNotMatch(text, /shared-output/);
    }
  }

  before(async () => {
    stack = await startViewerStack([audrey, alice], { viewerExtra: "  share_max_ttl: 6s\n" });
    browser = await launchChromium();
    const key = await stack.bastion.issueUser(alice.email ?? "", ["ops"]);
    const exec = await run("/usr/bin/ssh", [
      ...stack.bastion.sshArgs(key, "web1"),
      "echo shared-output-$((6*7))",
    ]);
    assert.match(exec.stdout, /shared-output-42/);
    const { context, page } = await signedInContext(browser, stack.url, audrey);
    sessionId = await findSession(page, "shared-output");
    await context.close();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("lets an auditor share a recording that plays in a fresh browser without sign-in", async () => {
    const auditor = await signedInContext(browser, stack.url, audrey);
    const visitor = await browser.newContext();
    try {
      const url = await createLink(auditor.page);
      const token = url.split("/share/")[1] ?? "";
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);

      const page = await visitor.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      const response = await page.goto(url);
      assert.equal(response?.status(), 200);
      const headers = response?.headers() ?? {};
      assert.equal(headers["referrer-policy"], "no-referrer");
      assert.match(headers["x-robots-tag"] ?? "", /noindex/);
      assert.equal(headers["cache-control"], "no-store");
      assert.equal(await page.locator('nav[aria-label="Main"]').count(), 0, "no navigation");
      assert.equal(await page.getByRole("button", { name: "Sign out" }).count(), 0);
      assert.match((await page.locator("h1").textContent()) ?? "", new RegExp(sessionId));
      assert.match(
        (await page.locator("table.commands").textContent()) ?? "",
        /echo shared-output/,
      );
      await page.waitForFunction(() => "portcullisViewer" in globalThis);
      await viewerEval(page, "viewer.player.play()");
      await waitForTerminalText(page, "shared-output-42");
      assert.deepEqual(errors, []);
      await page.reload();
      assert.equal((await visitor.cookies()).length, 0, "the visitor gets no session cookie");

      const created = await stack.bastion.waitForAudit((event) => event.event === "share.created");
      assert.equal(created.user, audrey.email);
      assert.equal(created.session, sessionId);
      await stack.bastion.waitForAudit((event) => event.event === "share.used");
      const uses = stack.bastion.auditEvents().filter((event) => event.event === "share.used");
      assert.equal(uses.length, 1, "one share.used per link per hour");
      assert.equal(uses[0]?.share, created.share);
      assert.ok(!readFileSync(stack.bastion.auditPath, "utf8").includes(token), "no token logged");
    } finally {
      await visitor.close();
      await auditor.context.close();
    }
  });

  it("lists a session's active links for auditors and revokes one", async () => {
    const { context, page } = await signedInContext(browser, stack.url, audrey);
    try {
      const url = await createLink(page);
      assert.equal((await fetch(url)).status, 200);
      await page.goto(`${stack.url}/sessions/${sessionId}`);
      const rows = page.locator("table.shares tbody tr");
      const before = await rows.count();
      assert.ok(before >= 1);
      await rows
        .first()
        .getByRole("button", { name: /Revoke/ })
        .click(); // newest first: ours
      await page.waitForURL(new RegExp(`/sessions/${sessionId}`));
      assert.ok((await page.locator("table.shares tbody tr").count()) < before);
      const revoked = await stack.bastion.waitForAudit((event) => event.event === "share.revoked");
      assert.equal(revoked.user, audrey.email);
      await assertGone(url);
    } finally {
      await context.close();
    }
  });

  it("stops working once it expires", async () => {
    const { context, page } = await signedInContext(browser, stack.url, audrey);
    try {
      const url = await createLink(page);
      assert.equal((await fetch(url)).status, 200);
      await new Promise((wake) => setTimeout(wake, SHARE_TTL_MS + 500));
      await assertGone(url);
      await assertGone(`${stack.url}/share/${"x".repeat(43)}`);
    } finally {
      await context.close();
    }
  });

  it("lets only auditors make links: 401 without sign-in, 403 without token or role", async () => {
    const path = `${stack.url}/sessions/${sessionId}/shares`;
    const anonymous = await fetch(path, { method: "POST", redirect: "manual" });
    assert.equal(anonymous.status, 401);
    const owner = await signedInContext(browser, stack.url, alice);
    try {
      await owner.page.goto(`${stack.url}/sessions/${sessionId}`);
      assert.equal(await owner.page.locator("#share-h").count(), 0, "no share section");
      const token = await owner.page.locator('input[name="_csrf"]').first().inputValue();
      const forms: Record<string, string>[] = [
        { ttl: String(SHARE_TTL_MS), recording: "x" },
        { ttl: String(SHARE_TTL_MS), recording: "x", _csrf: token },
      ];
      for (const form of forms) {
        const response = await owner.page.request.post(path, { form, maxRedirects: 0 });
        assert.equal(response.status(), 403, JSON.stringify(form));
      }
    } finally {
      await owner.context.close();
    }
  });
});
