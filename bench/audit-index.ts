// Audit index (src/store): sustained events/s through record() with batched
// transactions (and how long the event loop waited for them), the cost of the
// trigram text index on writes, listSessions latency on an index of N
// sessions (default 100,000) for each filter, the trigram search against a
// LIKE scan, and verifyChain over the whole chain.
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
} from "../src/store/index.js";
import { migrate } from "../src/store/schema.js";
import { machine, writeResult } from "./results-file.js";

const SESSIONS = Number(process.argv[2] ?? 100_000);
const COMMANDS_PER_SESSION = 8;
const USERS = 200;
const TARGETS = 50;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const LINES = [
  "ls -la /var/log",
  "journalctl -u nginx --since today",
  "systemctl restart nginx",
  "cat /etc/os-release",
  "psql -c 'select count(*) from orders'",
  "kubectl get pods -n payments",
  "tail -f /var/log/syslog",
  "rm -rf /tmp/build-cache",
];

/** The events of session `n`: auth.success, session.start, commands (one in 20 denied), session.end. */
function sessionEvents(n: number): AuditRecord[] {
  const session = `s${String(n).padStart(7, "0")}`;
  const base = {
    session,
    user: `user${n % USERS}`,
    source_ip: "192.0.2.10",
    target: `host${n % TARGETS}`,
    login: "ops",
  };
  const start = T0 + n * 60_000;
  const events: AuditRecord[] = [
    {
      event: "auth.success",
      time: new Date(start),
      fields: { ...base, key_id: "k", serial: String(n), groups: ["ops"] },
    },
    { event: "session.start", time: new Date(start + 50), fields: { ...base, access: "ops" } },
  ];
  for (let c = 0; c < COMMANDS_PER_SESSION; c++) {
    const deny = (n * COMMANDS_PER_SESSION + c) % 20 === 0;
    events.push({
      event: "command",
      time: new Date(start + 1_000 * (c + 1)),
      fields: {
        ...base,
        line: `${LINES[(n + c) % LINES.length]} # ${n}`,
        decision: deny ? "deny" : "allow",
        rule: deny ? "baseline#1" : undefined,
        risk: deny ? 80 : 5,
        determined_by: "markers",
        cwd: "/root",
      },
    });
  }
  events.push({ event: "session.end", time: new Date(start + 30_000), fields: base });
  return events;
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
    for (const record of sessionEvents(n)) index.record(record);
    events += COMMANDS_PER_SESSION + 3;
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

/** Raw writer throughput at a schema version (1: no text index, 2: with it), batches of `batch`. */
function writerThroughput(dir: string, version: number, batch: number, sessions: number): number {
  const db = new Database(join(dir, `writer-v${version}-${batch}.db`));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  migrate(db, version);
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
  const mid = new Date(T0 + (SESSIONS / 2) * 60_000);
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
      v1_no_text_index_batch_500: writerThroughput(dir, 1, 500, writerSessions),
      v2_text_index_batch_500: writerThroughput(dir, 2, 500, writerSessions),
      v2_text_index_batch_200: writerThroughput(dir, 2, 200, writerSessions),
      v2_text_index_batch_100: writerThroughput(dir, 2, 100, writerSessions),
      v2_text_index_batch_1: writerThroughput(dir, 2, 1, Math.min(writerSessions, 2_000)),
    };
    const result = {
      date: new Date().toISOString(),
      machine: machine(),
      sessions: SESSIONS,
      events_per_session: COMMANDS_PER_SESSION + 3,
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
