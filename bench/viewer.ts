// Web viewer (src/viewer): page-load times on an audit index of N sessions
// (default 100,000, 8 commands each, written through the store's own chain
// writer; every tenth also has file transfers and a tunnel), over HTTP with a
// signed-in cookie: the sessions page (first page, filtered by user, by
// decision, a command-text search, a deep page) and one session's page,
// without and with transfers; then in headless Chromium the sessions page's load and the
// time to the first frame of a 50 MB recording (with and without gzip on the
// cast route, on loopback and on an emulated 100 Mbit/s link). Prints a table and writes bench/results/viewer-<time>.json.
// Usage: npm run build && node dist/bench/viewer.js [sessions] [cast MB]

import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import Fastify from "fastify";
import { chromium, type Page } from "playwright-core";
import { createApprovals, openSqliteApprovalStore } from "../src/approvals/index.js";
import { createAuditLog } from "../src/audit/log.js";
import {
  createLocalRecordingStore,
  generateAuditKey,
  loadAuditKey,
  recordingSignedMessage,
} from "../src/recording/index.js";
import { relativePathFor } from "../src/recording/layout.js";
import { ChainWriter, type QueuedEvent } from "../src/store/derive.js";
import { openAuditIndex } from "../src/store/index.js";
import { migrate } from "../src/store/schema.js";
import { openSqliteShareLinkStore } from "../src/store/share-links.js";
import { openSqliteWebSessionStore } from "../src/store/web-sessions.js";
import { viewerPlugin } from "../src/viewer/index.js";
import { WebSessions } from "../src/viewer/web-sessions.js";
import { machine, median, seededRandom, writeResult } from "./results-file.js";
import { COMMANDS_PER_SESSION, SYNTHETIC_T0, syntheticSession } from "./synthetic-sessions.js";

const SESSIONS = Number(process.argv[2] ?? 100_000);
const CAST_MB = Number(process.argv[3] ?? 50);
const ROUNDS = 20;
const AUDITOR = "auditors";
const BIG_SESSION = "s-big-recording";
const FIRST_FRAME = "FIRST-FRAME-OF-THE-BIG-CAST";
/** Seconds the first frame stays on screen (so a poll cannot miss it). */
const FIRST_PAUSE = 3;

function queued(event: string, time: number, fields: Record<string, unknown>): QueuedEvent {
  return { event, time, fields, canonical: JSON.stringify(fields) };
}

/** Every tenth session: an sftp download, a mkdir and a tunnel (open and close). */
const WITH_TRANSFERS = 5;

function transferEvents(base: Record<string, unknown>, start: number): QueuedEvent[] {
  const tunnel = { ...base, tunnel: `${base.session}.t1`, kind: "local", destination: "db:5432" };
  return [
    queued("tunnel.open", start + 1_500, { ...tunnel, decision: "allow", rule: "ops" }),
    queued("file.transfer", start + 2_500, {
      ...base,
      direction: "download",
      path: "/var/log/app.log",
      bytes: 2_097_152,
      bytes_read: 2_097_152,
      bytes_written: 0,
      result: "ok",
    }),
    queued("file.op", start + 3_500, { ...base, op: "mkdir", path: "/tmp/x", result: "ok" }),
    queued("tunnel.close", start + 20_000, {
      ...tunnel,
      bytes_to_target: 12_000,
      bytes_from_target: 3_000_000,
    }),
  ];
}

function sessionEvents(n: number): QueuedEvent[] {
  const { base, start, commands } = syntheticSession(n, "@example.com");
  return [
    queued("session.start", start, { ...base, access: "ops" }),
    ...commands.map(({ time, fields }) => queued("command", time, fields)),
    ...(n % 10 === WITH_TRANSFERS ? transferEvents(base, start) : []),
    queued("session.end", start + 30_000, base),
  ];
}

/** The N sessions through the chain writer, in transactions of 5,000 events. */
function fillIndex(path: string): number {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  migrate(db);
  const writer = new ChainWriter(db);
  const started = performance.now();
  let batch: QueuedEvent[] = [];
  const write = () => {
    writer.commit(db.transaction(() => writer.append(batch))());
    batch = [];
  };
  for (let n = 0; n < SESSIONS; n++) {
    batch.push(...sessionEvents(n));
    if (batch.length >= 5_000) write();
  }
  write();
  db.close();
  return (performance.now() - started) / 1000;
}

/** A `megabytes` asciicast: 120x40, a first frame, then busy output every 10 ms and a marker every 1,000 events. */
function writeBigCast(path: string, megabytes: number): { bytes: number; sha256: string } {
  const random = seededRandom(42);
  const lines = [
    JSON.stringify({
      version: 2,
      width: 120,
      height: 40,
      timestamp: SYNTHETIC_T0 / 1000,
      title: "big",
    }),
    JSON.stringify([0.001, "o", `${FIRST_FRAME}\r\n`]),
  ];
  let size = lines[0]?.length ?? 0;
  for (let i = 1; size < megabytes * 1e6; i++) {
    const text = Array.from({ length: 3 }, () => random().toString(36).slice(2)).join(" ");
    const line =
      i % 1000 === 0
        ? JSON.stringify([FIRST_PAUSE + i / 100, "m", `allow: command ${i}`])
        : JSON.stringify([FIRST_PAUSE + i / 100, "o", `${i} ${text.repeat(4)}\r\n`]);
    lines.push(line);
    size += line.length + 1;
  }
  const text = `${lines.join("\n")}\n`;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return {
    bytes: Buffer.byteLength(text),
    sha256: createHash("sha256").update(text).digest("hex"),
  };
}

function timeRequests(url: string, cookie: string, rounds = ROUNDS) {
  return async () => {
    const samples: number[] = [];
    let bytes = 0;
    for (let i = 0; i < rounds + 2; i++) {
      const started = performance.now();
      const response = await fetch(url, { headers: { cookie } });
      const body = await response.text();
      if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
      if (i >= 2) samples.push(performance.now() - started); // two warm-up requests
      bytes = body.length;
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const round = (ms: number) => Math.round(ms * 10) / 10;
    return {
      median_ms: round(median(samples)),
      p95_ms: round(sorted[Math.floor(sorted.length * 0.95)] ?? 0),
      bytes,
    };
  };
}

/** 100 Mbit/s with 10 ms latency: an auditor's office link rather than loopback. */
const NETWORK_100_MBIT = 12_500_000;

async function throttle(page: Page, bytesPerSecond: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 10,
    downloadThroughput: bytesPerSecond,
    uploadThroughput: bytesPerSecond,
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-bench-viewer-"));
  const databasePath = join(dir, "portcullis.db");
  try {
    const fillSeconds = fillIndex(databasePath);
    const keyPath = join(dir, "audit_ed25519");
    generateAuditKey(keyPath);
    const key = loadAuditKey(keyPath);
    const recordingsDir = join(dir, "recordings");
    const recordingStore = createLocalRecordingStore({
      dir: recordingsDir,
      fsyncIntervalMs: 1000,
      now: () => Date.now(),
    });
    const index = openAuditIndex({ path: databasePath });
    const startedAt = new Date(SYNTHETIC_T0 + SESSIONS * 60_000);
    index.record({
      event: "session.start",
      time: startedAt,
      fields: { session: BIG_SESSION, user: "big@example.com", target: "host1", login: "ops" },
    });
    const relativePath = relativePathFor(BIG_SESSION, startedAt);
    const cast = writeBigCast(join(recordingsDir, relativePath), CAST_MB);
    index.recordingOpened({
      id: BIG_SESSION,
      session: BIG_SESSION,
      relativePath,
      startedAt,
      width: 120,
      height: 40,
    });
    index.recordingClosed(BIG_SESSION, {
      endedAt: new Date(startedAt.getTime() + 3_600_000),
      ...cast,
      signature: key.sign(recordingSignedMessage(BIG_SESSION, cast.sha256, cast.bytes)),
      status: "closed",
    });
    index.flush();

    const webSessions = openSqliteWebSessionStore({ path: databasePath });
    const shareLinks = openSqliteShareLinkStore({ path: databasePath });
    const audit = createAuditLog({ file: join(dir, "audit.log") });
    const now = () => new Date();
    const approvals = createApprovals({
      store: openSqliteApprovalStore({ path: databasePath }),
      audit,
      now,
      background: false,
    });
    const lifetimes = { idleMs: 3_600_000, maxMs: 3_600_000 };
    const app = Fastify({ logger: false });
    await app.register((instance) =>
      viewerPlugin(instance, {
        index,
        webSessions,
        shareLinks,
        approvals,
        recordings: { store: recordingStore, key },
        verifier: {
          verify: () => Promise.reject(new Error("the benchmark does not sign in")),
        },
        oidc: { issuer: "http://127.0.0.1:1", clientId: "bench" },
        publicUrl: () => "http://127.0.0.1",
        secure: false,
        settings: {
          auditorGroups: [AUDITOR],
          approverGroups: [],
          lifetimes,
          shareMaxTtlMs: 7 * 24 * 3_600_000,
        },
        audit,
        now,
      }),
    );
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    const { id } = new WebSessions(webSessions, lifetimes).start(
      { user: "audrey@example.com", groups: [AUDITOR], issuer: "bench", subject: "audrey" },
      new Date(),
    );
    const cookie = `portcullis_session=${id}`;

    const deepPage = Math.floor(SESSIONS / 50) - 1;
    const pages: Record<string, string> = {
      sessions_first_page: "/sessions",
      sessions_user_filter: "/sessions?user=user7%40example.com",
      sessions_decision_deny: "/sessions?decision=deny",
      sessions_text_search: "/sessions?q=orders%27+%23+4242",
      sessions_time_range: "/sessions?from=2026-01-20T00%3A00&to=2026-01-20T06%3A00",
      sessions_deep_page: `/sessions?page=${deepPage}`,
      session_page: `/sessions/s${String(Math.floor(SESSIONS / 2)).padStart(7, "0")}`,
      session_page_with_transfers: `/sessions/s${String(Math.floor(SESSIONS / 20) * 10 + WITH_TRANSFERS).padStart(7, "0")}`,
      session_page_50mb_recording: `/sessions/${BIG_SESSION}`,
      api_sessions_first_page: "/api/sessions",
    };
    const http: Record<string, unknown> = {};
    for (const [name, path] of Object.entries(pages)) {
      http[name] = await timeRequests(`${base}${path}`, cookie)();
    }
    console.log(JSON.stringify({ http_ms: http }, null, 2));
    const browser = await browserFigures(base, id);
    await app.close();
    webSessions.close();
    index.close();
    await recordingStore.close();

    const result = {
      date: new Date().toISOString(),
      machine: machine(),
      sessions: SESSIONS,
      commands_per_session: COMMANDS_PER_SESSION,
      fill_seconds: Math.round(fillSeconds * 10) / 10,
      http_ms: http,
      cast_mb: Math.round(cast.bytes / 1e5) / 10,
      chromium: browser,
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(`written to ${writeResult("viewer", result)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sessions page load, and navigation → first frame of the big recording (median of 3), gzip on and off. */
async function browserFigures(base: string, sessionId: string) {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  try {
    const measure = async (
      path: string,
      headers: Record<string, string>,
      firstFrame: boolean,
      bytesPerSecond?: number,
    ) => {
      const samples: { ready: number; frame: number }[] = [];
      for (let i = 0; i < 3; i++) {
        const context = await browser.newContext({
          viewport: { width: 1366, height: 768 },
          extraHTTPHeaders: headers,
        });
        await context.addCookies([{ name: "portcullis_session", value: sessionId, url: base }]);
        const page = await context.newPage();
        if (bytesPerSecond !== undefined) await throttle(page, bytesPerSecond);
        const started = performance.now();
        await page.goto(`${base}${path}`, { waitUntil: "load" });
        const loaded = performance.now() - started;
        if (!firstFrame) {
          samples.push({ ready: loaded, frame: loaded });
        } else {
          await page.waitForFunction(() => "portcullisViewer" in globalThis, undefined, {
            timeout: 120_000,
          });
          const ready = performance.now() - started;
          await page.evaluate("window.portcullisViewer.player.play()");
          await page.locator(".ap-term", { hasText: FIRST_FRAME }).waitFor({ timeout: 120_000 });
          samples.push({ ready, frame: performance.now() - started });
        }
        await context.close();
      }
      const round = (values: number[]) => Math.round(median(values));
      return {
        ready_ms: round(samples.map((s) => s.ready)),
        first_frame_ms: round(samples.map((s) => s.frame)),
      };
    };
    const big = `/sessions/${BIG_SESSION}`;
    const identity = { "accept-encoding": "identity" };
    return {
      sessions_page_load: (await measure("/sessions", {}, false)).ready_ms,
      big_cast_loopback_gzip: await measure(big, {}, true),
      big_cast_loopback_identity: await measure(big, identity, true),
      big_cast_100mbit_gzip: await measure(big, {}, true, NETWORK_100_MBIT),
      big_cast_100mbit_identity: await measure(big, identity, true, NETWORK_100_MBIT),
    };
  } finally {
    await browser.close();
  }
}

await main();
