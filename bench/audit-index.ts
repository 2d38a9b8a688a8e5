// Audit index (src/store): sustained events/s through record() with batched
// transactions (and how long the event loop waited for them), the cost of the
// trigram text index on writes, listSessions latency on an index of N
// sessions (default 100,000) for each filter, the trigram search against a
// LIKE scan, listSignals and userHistory latency, and verifyChain over the
// whole chain.
// Prints a table and writes bench/results/audit-index-<timestamp>.json.
// Usage: npm run build && node dist/bench/audit-index.js [sessions]

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";
import Database from "better-sqlite3";
import { ChainWriter, type QueuedEvent } from "../src/store/derive.js";
import {
  type AuditIndex,
  type AuditRecord,
  openAuditIndex,
  type SessionFilter,
  type SignalFilter,
} from "../src/store/index.js";
import { migrate } from "../src/store/schema.js";
import { machine, writeResult } from "./results-file.js";
import { SIGNAL_EVERY, SYNTHETIC_T0, syntheticSession } from "./synthetic-sessions.js";

const SESSIONS = Number(process.argv[2] ?? 100_000);

/**
 * The events of session `n`: auth.success, session.start, commands (one in
 * 20 denied), signals (one session in ten), session.end.
 */
function sessionEvents(n: number): AuditRecord[] {
  const { base, start, commands, signals } = syntheticSession(n);
  return [
    {
      event: "auth.success",
      time: new Date(start),
      fields: { ...base, key_id: "k", serial: String(n), groups: ["ops"] },
    },
    { event: "session.start", time: new Date(start + 50), fields: { ...base, access: "ops" } },
    ...commands.map(({ time, fields }) => ({
      event: "command" as const,
      time: new Date(time),
      fields: { ...fields, determined_by: "markers", cwd: "/root" },
    })),
    ...signals.map(({ time, fields }) => ({ event: "signal", time: new Date(time), fields })),
    { event: "session.end", time: new Date(start + 30_000), fields: base },
  ];
}

/**
 * Fills the index through record() the way sessions do: each session's
 * events in one turn of the event loop, sessions in turns of their own.
 * events/s is over the wall time (the batch writes happen in later turns);
 * the event-loop delay shows the longest any other work had to wait.
 */
async function fill(index: AuditIndex) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  let events = 0;
  for (let n = 0; n < SESSIONS; n++) {
    const records = sessionEvents(n);
    for (const record of records) index.record(record);
    events += records.length;
    await nextTurn();
  }
  index.flush();
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  const ms = (nanoseconds: number) => Math.round(nanoseconds / 1e4) / 100;
  return {
    events,
    events_per_s: Math.round(events / seconds),
    loop_delay_p50_ms: ms(delay.percentile(50)),
    loop_delay_p99_ms: ms(delay.percentile(99)),
    loop_delay_p999_ms: ms(delay.percentile(99.9)),
    loop_delay_max_ms: ms(delay.max),
  };
}

/**
 * Raw writer throughput of the current schema, batches of `batch`. (Older
 * schema versions cannot be compared any more: the writer derives rows into
 * columns later migrations added.)
 */
function writerThroughput(dir: string, batch: number, sessions: number): number {
  const db = new Database(join(dir, `writer-${batch}.db`));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  migrate(db);
  const writer = new ChainWriter(db);
  const queued: QueuedEvent[] = [];
  for (let n = 0; n < sessions; n++) {
    for (const r of sessionEvents(n)) {
      queued.push({
        event: r.event,
        time: r.time.getTime(),
        fields: r.fields,
        canonical: JSON.stringify(r.fields),
      });
    }
  }
  const started = performance.now();
  for (let i = 0; i < queued.length; i += batch) {
    writer.commit(db.transaction(() => writer.append(queued.slice(i, i + batch)))());
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return Math.round(queued.length / seconds);
}

function timed<T>(run: () => T, rounds = 5): { ms: number; result: T } {
  let result = run();
  const started = performance.now();
  for (let i = 0; i < rounds; i++) result = run();
  return { ms: (performance.now() - started) / rounds, result };
}

function queryTimings(index: AuditIndex, path: string) {
  const mid = new Date(SYNTHETIC_T0 + (SESSIONS / 2) * 60_000);
  const filters: Record<string, SessionFilter> = {
    newest_page: {},
    deep_page_offset_50k: { offset: Math.min(50_000, SESSIONS - 100) },
    user: { user: "user7" },
    target: { target: "host3" },
    time_range_1h: { since: mid, until: new Date(mid.getTime() + 3_600_000) },
    decision_deny: { decision: "deny" },
    user_and_deny: { user: "user7", decision: "deny" },
    text_trigram: { text: "orders' # 4242" },
    text_rare_trigram: { text: "# 99999" },
    text_short_like: { text: "#" },
  };
  const timings: Record<string, { ms: number; rows: number }> = {};
  for (const [name, filter] of Object.entries(filters)) {
    const { ms, result } = timed(() => index.listSessions(filter));
    timings[name] = { ms, rows: result.length };
  }
  const db = new Database(path, { readonly: true });
  const like = db.prepare(
    "SELECT id FROM sessions WHERE id IN (SELECT session FROM commands WHERE line LIKE ?) ORDER BY started_at DESC LIMIT 100",
  );
  const { ms, result } = timed(() => like.all("%orders' # 4242%"), 3);
  timings.text_like_scan_for_comparison = { ms, rows: result.length };
  db.close();
  const session = timed(() => index.getSession(`s${String(4242).padStart(7, "0")}`));
  timings.get_session = { ms: session.ms, rows: session.result?.commands.length ?? 0 };
  return { ...timings, ...riskTimings(index, mid) };
}

/** listSignals by each filter, listSessions by risk score, and a user's 30-day history. */
function riskTimings(index: AuditIndex, mid: Date) {
  const signalFilters: Record<string, SignalFilter> = {
    signals_newest_page: {},
    signals_deep_page_offset_5k: { offset: 5_000 },
    signals_user: { user: "user10" },
    signals_session: { session: `s${String(4240).padStart(7, "0")}` },
    signals_rule: { rule: "off-hours" },
    signals_min_score_50: { minScore: 50 },
    signals_time_range_1h: { since: mid, until: new Date(mid.getTime() + 3_600_000) },
    signals_user_min_score_rare: { user: "user10", minScore: 1_000 },
  };
  const timings: Record<string, { ms: number; rows: number }> = {};
  for (const [name, filter] of Object.entries(signalFilters)) {
    const { ms, result } = timed(() => index.listSignals(filter));
    timings[name] = { ms, rows: result.length };
  }
  const sessionFilters: Record<string, SessionFilter> = {
    min_risk_30: { minRisk: 30 },
    min_risk_rare: { minRisk: 120 },
    min_risk_none: { minRisk: 1_000 },
    user_min_risk: { user: "user10", minRisk: 30 },
  };
  for (const [name, filter] of Object.entries(sessionFilters)) {
    const { ms, result } = timed(() => index.listSessions(filter));
    timings[name] = { ms, rows: result.length };
  }
  const history = timed(() =>
    index.userHistory("user10", new Date(mid.getTime() - 30 * 86_400_000), mid),
  );
  timings.user_history_30d = { ms: history.ms, rows: history.result.length };
  return timings;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-bench-audit-"));
  try {
    const path = join(dir, "audit.db");
    const index = openAuditIndex({ path, checkpointIntervalMs: 1000 }); // as the server opens it
    const sustained = await fill(index);
    const timings = queryTimings(index, path);
    const verify = timed(() => index.verifyChain(), 1);
    index.close();
    const writerSessions = Math.min(SESSIONS, 20_000);
    const writer = {
      sessions: writerSessions,
      batch_500: writerThroughput(dir, 500, writerSessions),
      batch_200: writerThroughput(dir, 200, writerSessions),
      batch_100: writerThroughput(dir, 100, writerSessions),
      batch_1: writerThroughput(dir, 1, Math.min(writerSessions, 2_000)),
    };
    const result = {
      date: new Date().toISOString(),
      machine: machine(),
      sessions: SESSIONS,
      events_per_session: Math.round((sustained.events / SESSIONS) * 100) / 100,
      signal_sessions: Math.ceil(SESSIONS / SIGNAL_EVERY),
      sustained,
      writer_events_per_s: writer,
      queries_ms: timings,
      verify_chain: { ms: Math.round(verify.ms), problems: verify.result.length },
      file_mib: Math.round((statSync(path).size / 2 ** 20) * 10) / 10,
    };
    console.log(`audit index: ${SESSIONS} sessions, ${sustained.events} events`, result.machine);
    console.log(
      `record(): ${sustained.events_per_s} events/s sustained; event-loop delay p50 ${sustained.loop_delay_p50_ms} ms, p99 ${sustained.loop_delay_p99_ms} ms, p99.9 ${sustained.loop_delay_p999_ms} ms, max ${sustained.loop_delay_max_ms} ms`,
    );
    console.table(writer);
    console.table(
      Object.fromEntries(
        Object.entries(timings).map(([name, t]) => [
          name,
          { ms: Number(t.ms.toFixed(2)), rows: t.rows },
        ]),
      ),
    );
    console.log(
      `verifyChain: ${result.verify_chain.ms} ms, ${result.verify_chain.problems} problems; file ${result.file_mib} MiB`,
    );
    console.log(`written ${writeResult("audit-index", result)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
