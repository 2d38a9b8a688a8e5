// Insider-threat signals in the viewer, in headless Chromium: the viewer
// plugin on a real audit index (SQLite file) holding sessions, a signed
// recording and `signal` events recorded through `index.record`, signed-in
// sessions from the real web session store. An auditor sees the signals
// page, filters it, pages it and opens a signal's session at the signal; the
// session page lists the signals and seeks by them; the sessions page shows
// the risk score against the threshold and filters by it; the JSON API
// matches. Everyone else gets 403 on the signals page and API and sees no
// risk scores. The query parsing is tested on its own.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createApprovals, openSqliteApprovalStore } from "../../src/approvals/index.js";
import { createAuditLog } from "../../src/audit/log.js";
import {
  createLocalRecordingStore,
  generateAuditKey,
  loadAuditKey,
  type RecordingStore,
  recordingSignedMessage,
} from "../../src/recording/index.js";
import { relativePathFor } from "../../src/recording/layout.js";
import { type AuditIndex, openAuditIndex } from "../../src/store/index.js";
import { openSqliteShareLinkStore, type ShareLinkStore } from "../../src/store/share-links.js";
import { openSqliteWebSessionStore, type WebSessionStore } from "../../src/store/web-sessions.js";
import {
  indexFilter,
  PAGE_SIZE,
  parseSessionQuery,
  parseSignalQuery,
  queryString,
  signalFilter,
} from "../../src/viewer/filters.js";
import { riskLevel } from "../../src/viewer/format.js";
import { viewerPlugin } from "../../src/viewer/index.js";
import { ViewerRefusal } from "../../src/viewer/refusal.js";
import { rolesOf } from "../../src/viewer/roles.js";
import { WebSessions } from "../../src/viewer/web-sessions.js";
import {
  AUDITOR_GROUP,
  launchChromium,
  viewerEval,
  waitForTerminalText,
} from "../harness/browser.js";

const T0 = Date.parse("2026-03-02T10:00:00.000Z");
const THRESHOLD = 50;
const LIFETIMES = { idleMs: 3_600_000, maxMs: 3_600_000 };
const AUDREY = { user: "audrey@example.com", groups: [AUDITOR_GROUP] };
const ALICE = { user: "alice@example.com", groups: ["ops"] };
/** The recording starts this long after its session (the player's time is the recording's). */
const RECORDING_DELAY_MS = 200;
/** Behavioural signals of a busy session: more than a page of them. */
const BULK_SIGNALS = PAGE_SIZE + 5;

interface Fixture {
  readonly dir: string;
  readonly index: AuditIndex;
  readonly webSessions: WebSessionStore;
  readonly shareLinks: ShareLinkStore;
  readonly recordings: RecordingStore;
  readonly app: FastifyInstance;
  readonly url: string;
}

interface ApiSignal {
  seq: number;
  session: string | null;
  user: string | null;
  rule: string;
  source: string;
  score: number;
  session_score: number;
  offset_ms: number;
  action: string | null;
  evidence: Record<string, unknown>;
  url: string | null;
}

function signal(
  session: string,
  user: string,
  offsetMs: number,
  fields: { rule: string; source: string; score: number; session_score: number; reason: string },
  extra: Record<string, unknown> = {},
) {
  return {
    event: "signal",
    time: new Date(sessionStart(session) + offsetMs),
    fields: { session, user, target: "web1", evidence: {}, ...fields, ...extra },
  };
}

const STARTS: Readonly<Record<string, number>> = {
  "s-exfil": T0,
  "s-quiet": T0 + 3_600_000,
  "s-busy": T0 + 7_200_000,
  "s-own": T0 + 10_800_000,
};

function sessionStart(id: string): number {
  return STARTS[id] ?? T0;
}

/**
 * A small asciicast: output at 0.5, 2, 6 and 8 s. The idle limit (2 s)
 * shortens the 4 s pause: recording time 3 s is player time 3 s, step-three
 * comes at player time 4 s.
 */
const CAST = [
  JSON.stringify({
    version: 2,
    width: 80,
    height: 24,
    timestamp: (T0 + RECORDING_DELAY_MS) / 1000,
  }),
  JSON.stringify([0.5, "o", "step-one\r\n"]),
  JSON.stringify([2, "o", "step-two\r\n"]),
  JSON.stringify([6, "o", "step-three\r\n"]),
  JSON.stringify([8, "o", "step-four\r\n"]),
  "",
].join("\n");

/** A closed, signed recording of `session`. */
function recordCast(dir: string, index: AuditIndex, session: string): void {
  const key = loadAuditKey(join(dir, "audit_ed25519"));
  const startedAt = new Date(sessionStart(session) + RECORDING_DELAY_MS);
  const relativePath = relativePathFor(session, startedAt);
  const path = join(dir, "recordings", relativePath);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, CAST);
  const sha256 = createHash("sha256").update(CAST).digest("hex");
  const bytes = Buffer.byteLength(CAST);
  index.recordingOpened({ id: session, session, relativePath, startedAt, width: 80, height: 24 });
  index.recordingClosed(session, {
    endedAt: new Date(startedAt.getTime() + 9_000),
    bytes,
    sha256,
    signature: key.sign(recordingSignedMessage(session, sha256, bytes)),
    status: "closed",
  });
}

function recordSession(index: AuditIndex, id: string, user: string, lines: readonly string[]) {
  const start = sessionStart(id);
  const base = { session: id, user, target: "web1", login: "ops", source_ip: "192.0.2.7" };
  index.record({
    event: "session.start",
    time: new Date(start),
    fields: { ...base, access: "ops" },
  });
  lines.forEach((line, n) => {
    const time = new Date(start + 1_000 * (n + 1));
    index.record({ event: "command", time, fields: { ...base, line, decision: "allow" } });
  });
  index.record({ event: "session.end", time: new Date(start + 10_000), fields: base });
}

/** Three sessions of alice's with signals (one recorded), and one of carol's without. */
function fillIndex(dir: string, index: AuditIndex): void {
  recordSession(index, "s-exfil", ALICE.user, ["tar czf /tmp/x.tgz /srv", "history -c"]);
  recordCast(dir, index, "s-exfil");
  index.record(
    signal("s-exfil", ALICE.user, 1_000, {
      rule: "data-staging",
      source: "policy",
      score: 30,
      session_score: 30,
      reason: "an archive of a large tree",
    }),
  );
  index.record(
    signal(
      "s-exfil",
      ALICE.user,
      3_200,
      {
        rule: "audit-tampering",
        source: "policy",
        score: 60,
        session_score: 88.6,
        reason: "clearing the shell history",
      },
      { action: "warn", evidence: { line: "history -c", program: "history" } },
    ),
  );
  recordSession(index, "s-quiet", ALICE.user, ["uptime"]);
  index.record(
    signal("s-quiet", ALICE.user, 0, {
      rule: "first-target",
      source: "behaviour",
      score: 20,
      session_score: 20,
      reason: "alice@example.com has never accessed web1 in 30 days",
    }),
  );
  recordSession(index, "s-busy", ALICE.user, ["ls"]);
  for (let n = 0; n < BULK_SIGNALS; n++) {
    index.record(
      signal("s-busy", ALICE.user, 10 * n, {
        rule: "denial-streak",
        source: "behaviour",
        score: 1,
        session_score: 1 + n * 0.1,
        reason: `denial ${n}`,
      }),
    );
  }
  recordSession(index, "s-own", "carol@example.com", ["id"]);
  index.flush();
}

async function startFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-signals-viewer-"));
  const database = join(dir, "portcullis.db");
  generateAuditKey(join(dir, "audit_ed25519"));
  const index = openAuditIndex({ path: database });
  fillIndex(dir, index);
  const webSessions = openSqliteWebSessionStore({ path: database });
  const shareLinks = openSqliteShareLinkStore({ path: database });
  const recordings = createLocalRecordingStore({
    dir: join(dir, "recordings"),
    fsyncIntervalMs: 1000,
    now: () => Date.now(),
  });
  const audit = createAuditLog({ file: join(dir, "audit.log") });
  const now = () => new Date();
  const approvals = createApprovals({
    store: openSqliteApprovalStore({ path: database }),
    audit,
    now,
    background: false,
  });
  const app = Fastify({ logger: false });
  await app.register((instance) =>
    viewerPlugin(instance, {
      index,
      webSessions,
      shareLinks,
      approvals,
      recordings: { store: recordings, key: loadAuditKey(join(dir, "audit_ed25519")) },
      verifier: { verify: () => Promise.reject(new Error("these tests sign in directly")) },
      oidc: { issuer: "http://127.0.0.1:1", clientId: "portcullis" },
      publicUrl: () => "http://127.0.0.1",
      secure: false,
      settings: {
        auditorGroups: [AUDITOR_GROUP],
        approverGroups: [],
        lifetimes: LIFETIMES,
        shareMaxTtlMs: 3_600_000,
        riskThreshold: THRESHOLD,
      },
      audit,
      now,
    }),
  );
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    dir,
    index,
    webSessions,
    shareLinks,
    recordings,
    app,
    url: `http://127.0.0.1:${port}`,
  };
}

async function stopFixture(fixture: Fixture): Promise<void> {
  await fixture.app.close();
  fixture.webSessions.close();
  fixture.shareLinks.close();
  fixture.index.close();
  await fixture.recordings.close();
  rmSync(fixture.dir, { recursive: true, force: true });
}

/**
 * A browser context signed in as `who`, on the sessions page: a session in
 * the real store (the issuer's round trip is viewer.test.ts's). Script errors
 * and CSP violations from then on are collected.
 */
async function signedIn(
  browser: Browser,
  fixture: Fixture,
  who: { user: string; groups: string[] },
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const { id } = new WebSessions(fixture.webSessions, LIFETIMES).start(
    { ...who, issuer: "http://127.0.0.1:1", subject: who.user },
    new Date(),
  );
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  await context.addCookies([{ name: "portcullis_session", value: id, url: fixture.url }]);
  const page = await context.newPage();
  await page.goto(`${fixture.url}/sessions`); // where signing in lands
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return { context, page, errors };
}

interface PlayerGlobals {
  portcullisViewer: { player: { getCurrentTime(): Promise<number> } };
}

/** Waits until the player is where `recordingSeconds` lands on its (idle-shortened) timeline. */
async function playerSettlesAt(page: Page, recordingSeconds: number): Promise<void> {
  const expected = await viewerEval<number>(page, `viewer.toPlayer(${recordingSeconds})`);
  await page.waitForFunction(
    async (wanted) => {
      const { player } = (globalThis as unknown as PlayerGlobals).portcullisViewer;
      return Math.abs((await player.getCurrentTime()) - wanted) < 0.2;
    },
    expected,
    { timeout: 5_000 },
  );
}

function rowTexts(page: Page, selector: string): Promise<string[]> {
  return page.locator(`${selector} tbody tr`).allTextContents();
}

describe("signals in the viewer", () => {
  let fixture: Fixture;
  let browser: Browser;

  before(async () => {
    fixture = await startFixture();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (fixture !== undefined) await stopFixture(fixture);
  });

  it("shows an auditor the signals newest first, filtered and paged", async () => {
    const { context, page, errors } = await signedIn(browser, fixture, AUDREY);
    try {
      await page
        .getByRole("navigation", { name: "Main" })
        .getByRole("link", { name: "Signals" })
        .click();
      await page.waitForURL(`${fixture.url}/signals`);
      const first = await rowTexts(page, "table.signals");
      assert.equal(first.length, PAGE_SIZE);
      assert.match(first[0] ?? "", /denial-streak\s*behaviour/);

      await page.getByRole("link", { name: "Older →" }).click();
      await page.waitForURL(/page=2/);
      const second = await rowTexts(page, "table.signals");
      assert.equal(second.length, BULK_SIGNALS - PAGE_SIZE + 3);
      assert.match(second.at(-1) ?? "", /data-staging\s*policy\s*30/);

      await page.goto(`${fixture.url}/signals`);
      await page.getByLabel("Source").selectOption("policy");
      await page.getByLabel("Min score").fill("50");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL(/source=policy/);
      assert.match(page.url(), /min_score=50/);
      const strong = await rowTexts(page, "table.signals");
      assert.equal(strong.length, 1);
      assert.match(
        strong[0] ?? "",
        /alice@example\.com\s*web1\s*audit-tampering\s*policy\s*60\s*89.*clearing the shell history.*warn/s,
      );
      const level = page.locator("table.signals tbody .risk");
      assert.equal(await level.getAttribute("data-level"), "high", "89 ≥ the threshold 50");
      await page.locator("details.evidence summary").click();
      assert.match(
        (await page.locator("details.evidence").textContent()) ?? "",
        /line\s*history -c/,
      );

      await page.goto(`${fixture.url}/signals?rule=first-target`);
      assert.deepEqual(
        (await rowTexts(page, "table.signals")).map((row) => /first-target/.test(row)),
        [true],
      );
      const range = new URLSearchParams({ from: "2026-03-02T10:30", to: "2026-03-02T11:30" });
      await page.goto(`${fixture.url}/signals?${range}`);
      const inRange = await rowTexts(page, "table.signals");
      assert.equal(inRange.length, 1);
      assert.match(inRange[0] ?? "", /first-target/);
      await page.goto(`${fixture.url}/signals?user=nobody%40example.com`);
      assert.equal(await page.locator("p.empty").textContent(), "No signals match.");
      assert.deepEqual(errors, [], "no script errors or CSP violations");
    } finally {
      await context.close();
    }
  });

  it("opens a signal's session at the signal, and the session page seeks by its signals", async () => {
    const { context, page, errors } = await signedIn(browser, fixture, AUDREY);
    try {
      await page.goto(`${fixture.url}/signals?rule=audit-tampering`);
      await page.locator("table.signals a.open-session").click();
      await page.waitForURL(/\/sessions\/s-exfil\?at=3200#player$/);
      await page.waitForFunction(() => "portcullisViewer" in globalThis);
      await playerSettlesAt(page, (3_200 - RECORDING_DELAY_MS) / 1000);
      await waitForTerminalText(page, "step-two");
      assert.doesNotMatch((await page.locator(".ap-term").textContent()) ?? "", /step-three/);

      const meta = (await page.locator("dl.meta").textContent()) ?? "";
      assert.match(meta, /Signals\s*2/);
      assert.match(meta, /Risk score\s*89/);
      const signals = await rowTexts(page, "table.signals");
      assert.equal(signals.length, 2);
      assert.match(
        signals[0] ?? "",
        /0:01\.0\s*data-staging\s*policy\s*30\s*an archive of a large tree\s*–/,
      );
      assert.match(signals[1] ?? "", /0:03\.2\s*audit-tampering\s*policy\s*60.*warn/s);

      const link = page.locator("table.signals a.seek", { hasText: "data-staging" });
      const at = Number(await link.getAttribute("data-at"));
      assert.equal(at, 0.8);
      await link.click();
      await playerSettlesAt(page, at);
      assert.deepEqual(errors, [], "no script errors or CSP violations");
    } finally {
      await context.close();
    }
  });

  it("shows auditors each session's risk score against the threshold, and filters by it", async () => {
    const { context, page } = await signedIn(browser, fixture, AUDREY);
    try {
      await page.goto(`${fixture.url}/sessions`);
      const headers = await page.locator("table.sessions thead th").allTextContents();
      assert.deepEqual(headers.slice(-2), ["Signals", "Risk"]);
      const exfil = page.locator("tr", { has: page.locator('a[href="/sessions/s-exfil"]') });
      assert.match((await exfil.textContent()) ?? "", /2\s*89/);
      assert.equal(await exfil.locator(".risk").getAttribute("data-level"), "high");
      const quiet = page.locator("tr", { has: page.locator('a[href="/sessions/s-quiet"]') });
      assert.equal(await quiet.locator(".risk").getAttribute("data-level"), "low");

      await page.getByLabel("Min risk").fill("25");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL(/min_risk=25/);
      const links = await page
        .locator("table.sessions tbody a")
        .evaluateAll((anchors) => anchors.map((anchor) => anchor.getAttribute("href")));
      assert.deepEqual(links, ["/sessions/s-exfil"]);

      const api = await page.request.get(`${fixture.url}/api/sessions?min_risk=25`);
      const body = (await api.json()) as { sessions: Record<string, unknown>[] };
      assert.deepEqual(
        body.sessions.map((session) => [session.id, session.signals, session.risk_score]),
        [["s-exfil", 2, 88.6]],
      );
      const one = await page.request.get(`${fixture.url}/api/sessions/s-exfil`);
      const detail = (await one.json()) as { signals: ApiSignal[] };
      assert.deepEqual(
        detail.signals.map((row) => [row.rule, row.offset_ms, row.url]),
        [
          ["data-staging", 1_000, "/sessions/s-exfil?at=1000#player"],
          ["audit-tampering", 3_200, "/sessions/s-exfil?at=3200#player"],
        ],
      );
    } finally {
      await context.close();
    }
  });

  it("serves the signals as JSON to auditors with the page's filters", async () => {
    const { context, page } = await signedIn(browser, fixture, AUDREY);
    try {
      const response = await page.request.get(
        `${fixture.url}/api/signals?${new URLSearchParams({ source: "policy" })}`,
      );
      assert.equal(response.status(), 200);
      const body = (await response.json()) as { has_next: boolean; signals: ApiSignal[] };
      assert.equal(body.has_next, false);
      assert.deepEqual(
        body.signals.map((row) => [row.rule, row.score, row.session_score, row.action]),
        [
          ["audit-tampering", 60, 88.6, "warn"],
          ["data-staging", 30, 30, null],
        ],
      );
      assert.deepEqual(body.signals[0]?.evidence, { line: "history -c", program: "history" });
      const paged = (await (await page.request.get(`${fixture.url}/api/signals`)).json()) as {
        has_next: boolean;
        signals: ApiSignal[];
      };
      assert.equal(paged.signals.length, PAGE_SIZE);
      assert.equal(paged.has_next, true);
      const bad = await page.request.get(`${fixture.url}/api/signals?min_score=lots`);
      assert.equal(bad.status(), 400);
    } finally {
      await context.close();
    }
  });

  it("refuses the signals to everyone else and shows them no risk scores", async () => {
    const { context, page } = await signedIn(browser, fixture, ALICE);
    try {
      await page.goto(`${fixture.url}/sessions?min_risk=25`);
      assert.equal(
        await page
          .getByRole("navigation", { name: "Main" })
          .getByRole("link", { name: "Signals" })
          .count(),
        0,
      );
      assert.equal(await page.getByLabel("Min risk").count(), 0);
      const headers = await page.locator("table.sessions thead th").allTextContents();
      assert.ok(!headers.includes("Risk") && !headers.includes("Signals"), headers.join(","));
      assert.equal(await page.locator("table.sessions tbody tr").count(), 3, "min_risk ignored");

      for (const path of ["/signals", "/signals?rule=audit-tampering"]) {
        const response = await page.goto(`${fixture.url}${path}`);
        assert.equal(response?.status(), 403, path);
        assert.match((await page.locator("main").textContent()) ?? "", /This page is for auditors/);
      }
      const api = await page.request.get(`${fixture.url}/api/signals`);
      assert.equal(api.status(), 403);
      assert.equal(((await api.json()) as { error: string }).error, "forbidden");

      await page.goto(`${fixture.url}/sessions/s-exfil`);
      assert.equal(await page.locator("#signals-h").count(), 0);
      assert.doesNotMatch((await page.locator("dl.meta").textContent()) ?? "", /Risk score/);
      const own = (await (
        await page.request.get(`${fixture.url}/api/sessions/s-exfil`)
      ).json()) as {
        session: Record<string, unknown>;
        signals?: unknown;
      };
      assert.equal(own.signals, undefined);
      assert.equal(own.session.risk_score, undefined);
      const anonymous = await fetch(`${fixture.url}/api/signals`);
      assert.equal(anonymous.status, 401);
    } finally {
      await context.close();
    }
  });
});

describe("signals query", () => {
  const auditor = {
    user: "a",
    groups: ["auditors"],
    roles: rolesOf(["auditors"], { auditorGroups: ["auditors"], approverGroups: [] }),
    csrfToken: "t",
  };
  const other = { ...auditor, roles: { auditor: false, approver: false } };

  it("turns the page's fields into the index's filter", () => {
    const query = parseSignalQuery({
      user: " alice@example.com ",
      rule: "audit-tampering",
      source: "behaviour",
      min_score: "12.5",
      from: "2026-03-02",
      page: "2",
    });
    assert.deepEqual(signalFilter(query, PAGE_SIZE + 1), {
      user: "alice@example.com",
      rule: "audit-tampering",
      source: "behaviour",
      minScore: 12.5,
      since: new Date("2026-03-02T00:00:00Z"),
      limit: PAGE_SIZE + 1,
      offset: PAGE_SIZE,
    });
    assert.equal(
      queryString(query, 3),
      "?user=alice%40example.com&rule=audit-tampering&source=behaviour&min_score=12.5&from=2026-03-02&page=3",
    );
  });

  it("refuses what it cannot read with 400", () => {
    for (const bad of [
      { source: "gut" },
      { min_score: "-1" },
      { min_score: "many" },
      { to: "soon" },
    ])
      assert.throws(
        () => parseSignalQuery(bad),
        (error: unknown) => error instanceof ViewerRefusal && error.status === 400,
        JSON.stringify(bad),
      );
    assert.throws(() => parseSessionQuery({ min_risk: "x" }), ViewerRefusal);
  });

  it("filters sessions by risk for auditors only", () => {
    const query = parseSessionQuery({ min_risk: "100" });
    assert.equal(indexFilter(query, auditor, 10).minRisk, 100);
    assert.equal(indexFilter(query, other, 10).minRisk, undefined);
  });

  it("levels a score against the threshold", () => {
    assert.deepEqual(
      [0, 10, 50, 99.9, 100, 400].map((value) => riskLevel(value, 100)),
      ["none", "low", "raised", "raised", "high", "high"],
    );
  });
});
