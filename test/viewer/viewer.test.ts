// The web viewer end to end in headless Chromium: a real bastion (real ssh
// sessions to a real sshd), the embedded OIDC issuer's real login page, an
// auditor finding a session by a command's text, replaying it and seeking by
// command; a non-auditor kept to their own sessions on every route; requests
// without sign-in or without a valid CSRF token refused; sign-ins audited.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { run, type UserKey } from "../harness/bastion.js";
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
import { PROMPT_END, PtyDriver } from "../harness/pty.js";

const audrey = testUser("audrey", [AUDITOR_GROUP]);
const alice = testUser("alice", ["ops"]);
const carol = testUser("carol", ["ops"]);

interface ApiSession {
  id: string;
  user: string;
  recordings: { id: string; status: string; url: string | null }[];
}

/** The terminal's visible text in the player. */
function terminalText(page: Page): Promise<string> {
  return page
    .locator(".ap-term")
    .textContent()
    .then((text) => text ?? "");
}

function playerTime(page: Page): Promise<number> {
  return viewerEval<number>(page, "viewer.player.getCurrentTime()");
}

/** Waits for the (asynchronous) seek to land within 0.2 s of `seconds`. */
async function settlesAt(page: Page, seconds: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const now = await playerTime(page);
    if (Math.abs(now - seconds) < 0.2) return;
    if (Date.now() > deadline) assert.fail(`the player is at ${now} s, not ${seconds} s`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
}

describe("web viewer", () => {
  let stack: ViewerStack;
  let browser: Browser;
  let aliceSession: ApiSession;
  let carolSession: ApiSession;

  /** Polls the API as an auditor until the session with `text` has a closed recording. */
  async function closedSession(page: Page, text: string): Promise<ApiSession> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const response = await page.request.get(
        `${stack.url}/api/sessions?${new URLSearchParams({ q: text })}`,
      );
      const body = (await response.json()) as { sessions: ApiSession[] };
      const found = body.sessions[0];
      if (found?.recordings.every((row) => row.status === "closed") && found.recordings.length)
        return found;
      if (Date.now() > deadline) assert.fail(`no closed session with ${text}`);
      await new Promise((wake) => setTimeout(wake, 100));
    }
  }

  async function aliceShell(key: UserKey): Promise<void> {
    const term = new PtyDriver("/usr/bin/ssh", ["-tt", ...stack.bastion.sshArgs(key, "web1")], {
      cols: 90,
      rows: 20,
    });
    try {
      await term.expect(PROMPT_END);
      term.type("echo first-$((6*7))\r");
      await term.expect("first-42");
      await new Promise((wake) => setTimeout(wake, 3000)); // an idle pause the player shortens
      term.type("echo needle-viewer-$((2*21))\r");
      await term.expect("needle-viewer-42");
      term.type("rm -r /\r");
      await term.expect("portcullis: blocked:");
      term.type("exit\r");
      await term.exit();
    } finally {
      term.kill();
    }
  }

  before(async () => {
    stack = await startViewerStack([audrey, alice, carol]);
    browser = await launchChromium();
    const aliceKey = await stack.bastion.issueUser(alice.email ?? "", ["ops"]);
    const carolKey = await stack.bastion.issueUser(carol.email ?? "", ["ops"]);
    await aliceShell(aliceKey);
    const exec = await run("/usr/bin/ssh", [
      ...stack.bastion.sshArgs(carolKey, "web1"),
      "echo carol-only-$((1+1))",
    ]);
    assert.match(exec.stdout, /carol-only-2/);
    const { context, page } = await signedInContext(browser, stack.url, audrey);
    aliceSession = await closedSession(page, "needle-viewer");
    carolSession = await closedSession(page, "carol-only");
    await context.close();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("refuses every page, the API and the recordings without sign-in", async () => {
    const castUrl = aliceSession.recordings[0]?.url ?? "";
    for (const path of ["/sessions", `/sessions/${aliceSession.id}`, "/api/sessions", castUrl]) {
      const response = await fetch(`${stack.url}${path}`, { redirect: "manual" });
      assert.equal(response.status, 401, path);
      assert.doesNotMatch(await response.text(), /needle-viewer|alice@example/);
    }
    const signOut = await fetch(`${stack.url}/auth/logout`, { method: "POST", redirect: "manual" });
    assert.equal(signOut.status, 401);
    const page = await browser.newPage();
    try {
      await page.goto(`${stack.url}/sessions/${aliceSession.id}`);
      await page.getByRole("link", { name: "Sign in" }).waitFor();
    } finally {
      await page.close();
    }
  });

  it("lets an auditor find a session by a command's text, replay it and seek by command", async () => {
    const { context, page } = await signedInContext(browser, stack.url, audrey);
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    try {
      await page.getByLabel("Command text").fill("needle-viewer");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL(/q=needle-viewer/);
      const rows = page.locator("table.sessions tbody tr");
      assert.equal(await rows.count(), 1);
      assert.match((await rows.first().textContent()) ?? "", /alice@example\.com\s+web1/);
      await rows.first().getByRole("link").click();
      await page.waitForURL(`${stack.url}/sessions/${aliceSession.id}`);

      assert.equal(await page.locator(".integrity").getAttribute("data-integrity"), "ok");
      await page.waitForFunction(() => "portcullisViewer" in globalThis);
      assert.equal(await page.locator(".ap-term").count(), 1);

      // Seek by clicking a command: the terminal shows the line typed, not yet its output.
      const link = page.locator("a.seek", { hasText: "echo needle-viewer" });
      const at = Number(await link.getAttribute("data-at"));
      await link.click();
      const expected = await viewerEval<number>(page, `viewer.toPlayer(${at})`);
      assert.ok(expected < at - 0.5, `the idle pause is shortened (${expected} < ${at})`);
      await settlesAt(page, expected);
      await waitForTerminalText(page, "first-42");
      const atMarker = await terminalText(page);
      assert.match(atMarker, /echo first-\$\(\(6\*7\)\)/);
      assert.doesNotMatch(atMarker, /needle-viewer-42/);

      // Play from there: the command's output and the denial come up.
      await viewerEval(page, "viewer.player.play()");
      await waitForTerminalText(page, "portcullis: blocked: recursive delete");
      assert.ok((await playerTime(page)) > expected);
      const commands = await page.locator("table.commands tbody tr").allTextContents();
      assert.ok(
        commands.some((row) => /rm -r \/\s+deny\s+baseline/.test(row)),
        commands.join("\n"),
      );
      assert.deepEqual(errors, [], "no script errors or CSP violations");
    } finally {
      await context.close();
    }
  });

  it("keeps everyone else to their own sessions: list, page, recording and API", async () => {
    const { context, page } = await signedInContext(browser, stack.url, carol);
    try {
      const list = (await page.locator("table.sessions tbody").textContent()) ?? "";
      assert.match(list, /carol@example\.com/);
      assert.doesNotMatch(list, /alice@example\.com/);
      assert.equal(await page.getByLabel("User").count(), 0, "no user filter for non-auditors");

      const castUrl = aliceSession.recordings[0]?.url ?? "";
      for (const path of [
        `/sessions/${aliceSession.id}`,
        castUrl,
        `/api/sessions/${aliceSession.id}`,
        "/sessions/no-such-session",
      ]) {
        const response = await page.request.get(`${stack.url}${path}`);
        assert.equal(response.status(), 404, path);
        assert.doesNotMatch(await response.text(), /needle-viewer|alice@example/);
      }
      const api = await page.request.get(
        `${stack.url}/api/sessions?${new URLSearchParams({ user: alice.email ?? "" })}`,
      );
      const body = (await api.json()) as { sessions: ApiSession[] };
      assert.deepEqual(
        body.sessions.map((session) => session.user),
        [carol.email],
      );
      const own = await page.request.get(`${stack.url}${carolSession.recordings[0]?.url ?? ""}`);
      assert.equal(own.status(), 200);
      assert.match(await own.text(), /carol-only-2/);
    } finally {
      await context.close();
    }
  });

  it("refuses a state-changing request without a valid CSRF token; signs out with one", async () => {
    const { context, page } = await signedInContext(browser, stack.url, carol);
    try {
      const forms: Record<string, string>[] = [{}, { _csrf: "forged-token" }];
      for (const form of forms) {
        const response = await page.request.post(`${stack.url}/auth/logout`, {
          form,
          maxRedirects: 0,
        });
        assert.equal(response.status(), 403, JSON.stringify(form));
      }
      assert.equal((await page.request.get(`${stack.url}/api/sessions`)).status(), 200);

      // A token from another session does not work either.
      const other = await signedInContext(browser, stack.url, audrey);
      const foreign = await other.page.locator('input[name="_csrf"]').inputValue();
      await other.context.close();
      const crossed = await page.request.post(`${stack.url}/auth/logout`, {
        form: { _csrf: foreign },
        maxRedirects: 0,
      });
      assert.equal(crossed.status(), 403);

      await page.goto(`${stack.url}/sessions`);
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(`${stack.url}/`);
      assert.equal((await page.request.get(`${stack.url}/api/sessions`)).status(), 401);
    } finally {
      await context.close();
    }
  });

  it("sends a strict CSP and session cookies that scripts cannot read", async () => {
    const { context, page } = await signedInContext(browser, stack.url, audrey);
    try {
      const response = await page.request.get(`${stack.url}/sessions/${aliceSession.id}`);
      const csp = response.headers()["content-security-policy"] ?? "";
      for (const directive of [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "frame-ancestors 'none'",
      ])
        assert.ok(csp.includes(directive), `${directive} in ${csp}`);
      assert.equal(response.headers()["cache-control"], "no-store");
      const html = await response.text();
      assert.doesNotMatch(
        html,
        /<script>|<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i,
      );
      const cookie = (await context.cookies()).find((c) => c.name === "portcullis_session");
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, "Lax");
      assert.equal(await page.evaluate('document.cookie.includes("portcullis_session")'), false);
    } finally {
      await context.close();
    }
  });

  it("audits every sign-in and every failed one", async () => {
    await stack.bastion.waitForAudit(
      (event) =>
        event.event === "auth.success" && event.via === "viewer" && event.user === audrey.email,
    );
    const response = await fetch(`${stack.url}/auth/callback?code=forged&state=forged`);
    assert.equal(response.status, 401);
    const failure = await stack.bastion.waitForAudit(
      (event) => event.event === "auth.failure" && event.via === "viewer",
    );
    assert.equal(failure.code, "no_attempt");
  });
});
