// A real browser against a real viewer for tests and benchmarks: Debian's
// headless Chromium driven by playwright-core (never a downloaded browser),
// the embedded OIDC issuer (src/idp) with test users, and a test bastion
// (bastion.ts) whose `portcullis serve` runs the HTTP listener with the web
// viewer trusting that issuer. Signing in goes through the issuer's real
// login page.

import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import {
  type DemoIdentityProvider,
  type DemoUser,
  startDemoIdentityProvider,
} from "../../src/idp/index.js";
import { type BastionOptions, startTestBastion, type TestBastion } from "./bastion.js";

export const CHROMIUM = "/usr/bin/chromium";
export const VIEWER_CLIENT_ID = "portcullis";
export const AUDITOR_GROUP = "auditors";
export const APPROVER_GROUP = "approvers";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}

/** A test user whose certificate identity (the verified email) is `<name>@example.com`. */
export function testUser(name: string, groups: readonly string[]): DemoUser {
  return {
    username: name,
    password: `pw-${name}-${Math.random().toString(36).slice(2)}`,
    email: `${name}@example.com`,
    groups,
  };
}

export interface ViewerStack {
  readonly idp: DemoIdentityProvider;
  readonly bastion: TestBastion;
  /** `http://127.0.0.1:PORT` of the viewer. */
  readonly url: string;
  close(): Promise<void>;
}

/** The `http`, `oidc` and `viewer` sections for a loopback listener trusting `issuer`. */
function viewerConfig(issuer: string, extra: string): string {
  return `http:
  listen: "127.0.0.1:0"
oidc:
  issuer: "${issuer}"
  client_id: ${VIEWER_CLIENT_ID}
viewer:
  auditor_groups: [${AUDITOR_GROUP}]
  approver_groups: [${APPROVER_GROUP}]
${extra}`;
}

async function waitForHttp(bastion: TestBastion): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const url = bastion.httpUrl();
    if (url !== undefined) return url;
    if (Date.now() > deadline)
      throw new Error(`the viewer did not start: ${bastion.serverStderr()}`);
    await new Promise((wake) => setTimeout(wake, 20));
  }
}

/** Starts the issuer with `users`, then the bastion with the viewer on. */
export async function startViewerStack(
  users: readonly DemoUser[],
  options: BastionOptions & { viewerExtra?: string } = {},
): Promise<ViewerStack> {
  const idp = await startDemoIdentityProvider({
    users,
    clients: [{ clientId: VIEWER_CLIENT_ID }],
  });
  try {
    const { configEdit, viewerExtra = "", ...rest } = options;
    const bastion = await startTestBastion({
      ...rest,
      configEdit: (yaml) =>
        `${configEdit ? configEdit(yaml) : yaml}${viewerConfig(idp.issuer, viewerExtra)}`,
    });
    const url = await waitForHttp(bastion);
    return {
      idp,
      bastion,
      url,
      close: async () => {
        await bastion.stop();
        await idp.close();
      },
    };
  } catch (error) {
    await idp.close();
    throw error;
  }
}

/** Signs `user` in through the issuer's login page; the page ends on `next` (default /sessions). */
export async function signIn(
  page: Page,
  viewerUrl: string,
  user: DemoUser,
  next = "/sessions",
): Promise<void> {
  await page.goto(`${viewerUrl}/auth/login?${new URLSearchParams({ next })}`);
  await page.locator('input[name="login"]').fill(user.username);
  await page.locator('input[name="password"]').fill(user.password);
  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(viewerUrl)),
    page.locator('button[type="submit"]').click(),
  ]);
}

/** A fresh browser context (its own cookies) signed in as `user`. */
export async function signedInContext(
  browser: Browser,
  viewerUrl: string,
  user: DemoUser,
  viewport = { width: 1366, height: 768 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await signIn(page, viewerUrl, user);
  return { context, page };
}

/** The few DOM names the page functions below use (the tests compile without the DOM library). */
interface PageGlobals {
  document: { querySelector(selector: string): { textContent: string | null } | null };
}

/** Waits until the player's terminal shows `text` (a function, not a string: the CSP forbids eval). */
export async function waitForTerminalText(page: Page, text: string, timeout = 15_000) {
  await page.waitForFunction(
    (wanted) =>
      (globalThis as unknown as PageGlobals).document
        .querySelector(".ap-term")
        ?.textContent?.includes(wanted) === true,
    text,
    { timeout },
  );
}

/** Evaluates `expression` on the page's `window.portcullisViewer` (set by the viewer's script). */
export function viewerEval<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(`(async (viewer) => ${expression})(window.portcullisViewer)`) as Promise<T>;
}
