// Takes the screenshots in docs/screenshots/ (1366x768, Chromium): the
// sign-in page, the sessions page in light and dark, a filtered sessions
// page, a session page with the replay stopped at a command, the signals
// page and a session opened from it at a signal, the approvals page with a held command waiting, and a share link's
// page. The sessions, their signals (the default pack `portcullis init`
// installs) and the approval request are real ones, made with ssh through a
// test bastion.
// Usage: npm run build && node dist/test/viewer/take-screenshots.js

import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { run, type TestBastion, type UserKey } from "../harness/bastion.js";
import {
  APPROVER_GROUP,
  AUDITOR_GROUP,
  launchChromium,
  signIn,
  startViewerStack,
  testUser,
  waitForTerminalText,
} from "../harness/browser.js";
import { PROMPT_END, PtyDriver } from "../harness/pty.js";

const OUT = join("docs", "screenshots");
const VIEWPORT = { width: 1366, height: 768 };
const audrey = testUser("audrey", [AUDITOR_GROUP]);
const alice = testUser("alice", ["ops"]);
const bob = testUser("bob", [APPROVER_GROUP]);
const HELD_POLICY = `rulesets:
  held:
    default: allow
    rules:
      - approve: ["systemctl restart *"]
        reason: service restarts need a second pair of eyes
        approvers: { users: [bob@example.com] }
access:
  - name: held-commands
    subjects: { groups: [makers] }
    targets: { names: [web1] }
    commands: [held]
`;

async function shell(bastion: TestBastion, key: UserKey, lines: readonly string[]) {
  const term = new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(key, "web1")], {
    cols: 100,
    rows: 24,
  });
  try {
    await term.expect(PROMPT_END);
    for (const line of lines) {
      const from = term.output.length;
      term.type(`${line}\r`);
      await term.expect(PROMPT_END, 15_000, from);
      await new Promise((wake) => setTimeout(wake, 700));
    }
    term.type("exit\r");
    await term.exit();
  } finally {
    term.kill();
  }
}

async function makeSessions(bastion: TestBastion): Promise<void> {
  const key = await bastion.issueUser(alice.email ?? "", ["ops"]);
  await shell(bastion, key, [
    "uname -srm",
    "df -h / | tail -1",
    "ls -la /etc/ssh | head -5",
    "rm -r /",
    "echo deployment-check-$((20+22))",
  ]);
  await shell(bastion, key, [
    "tar czf /tmp/etc.tgz /etc 2>/dev/null; ls -l /tmp/etc.tgz",
    "base64 /etc/hostname",
    "cat /etc/shadow",
    "history -c",
  ]);
  for (const command of ["uptime", "id", "cat /etc/hostname"]) {
    await run("/usr/bin/ssh", [...bastion.sshArgs(key, "web1"), command]);
  }
  await new Promise((wake) => setTimeout(wake, 1500)); // recordings closed and indexed
}

async function shoot(browser: Browser, base: string): Promise<void> {
  for (const colorScheme of ["light", "dark"] as const) {
    const context = await browser.newContext({ viewport: VIEWPORT, colorScheme });
    const page = await context.newPage();
    if (colorScheme === "light") {
      await page.goto(base);
      await page.screenshot({ path: join(OUT, "sign-in.png") });
    }
    await signIn(page, base, audrey);
    await page.screenshot({ path: join(OUT, `sessions-${colorScheme}.png`) });
    if (colorScheme === "light") {
      await page.goto(`${base}/sessions?q=rm+-r`);
      await page.screenshot({ path: join(OUT, "sessions-filtered.png") });
      await page.locator("table.sessions tbody a").first().click();
      await page.waitForFunction(() => "portcullisViewer" in globalThis);
      await page.locator("a.seek", { hasText: "rm -r /" }).click();
      await waitForTerminalText(page, "ls -la /etc/ssh");
      await page.screenshot({ path: join(OUT, "session.png"), fullPage: true });
      await page.goto(`${base}/signals`);
      await page.screenshot({ path: join(OUT, "signals.png"), fullPage: true });
      await page.locator("tr", { hasText: "credentials-read" }).locator("a.open-session").click();
      await page.waitForFunction(() => "portcullisViewer" in globalThis);
      await waitForTerminalText(page, "base64 /etc/hostname");
      await new Promise((wake) => setTimeout(wake, 1000)); // the seek settled
      await page.screenshot({ path: join(OUT, "session-signals.png"), fullPage: true });
    }
    await context.close();
  }
}

/** A held `systemctl restart` (killed once the screenshot is taken). */
async function holdCommand(bastion: TestBastion) {
  const key = await bastion.issueUser(alice.email ?? "", ["makers"]);
  const child = spawn("/usr/bin/ssh", [...bastion.sshArgs(key, "web1"), "systemctl restart nginx"]);
  await bastion.waitForAudit((event) => event.event === "approval.requested");
  return child;
}

async function shootApprovals(browser: Browser, base: string): Promise<void> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  await signIn(page, base, bob, "/approvals");
  await page.locator("#live-status", { hasText: "Live" }).waitFor();
  await page.screenshot({ path: join(OUT, "approvals.png"), fullPage: true });
  await context.close();
}

async function shootShare(browser: Browser, base: string): Promise<void> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  await signIn(page, base, audrey, "/sessions?q=rm+-r");
  await page.locator("table.sessions tbody a").first().click();
  await page.getByRole("button", { name: "Create share link" }).click();
  const url = await page.getByLabel("Link").inputValue();
  const visitor = await browser.newContext({ viewport: VIEWPORT });
  const shared = await visitor.newPage();
  await shared.goto(url);
  await shared.waitForFunction(() => "portcullisViewer" in globalThis);
  await shared.locator("a.seek", { hasText: "rm -r /" }).click();
  await waitForTerminalText(shared, "ls -la /etc/ssh");
  await shared.screenshot({ path: join(OUT, "share.png"), fullPage: true });
  await visitor.close();
  await context.close();
}

const stack = await startViewerStack([audrey, alice, bob], { extraPolicy: HELD_POLICY });
try {
  mkdirSync(OUT, { recursive: true });
  await makeSessions(stack.bastion);
  const held = await holdCommand(stack.bastion);
  const browser = await launchChromium();
  try {
    await shoot(browser, stack.url);
    await shootApprovals(browser, stack.url);
    await shootShare(browser, stack.url);
  } finally {
    held.kill();
    await browser.close();
  }
} finally {
  await stack.close();
}
