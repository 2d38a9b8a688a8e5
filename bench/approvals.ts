// Approvals (src/approvals): how long a waiting session takes to learn a
// decision — made in the same process (resolved at once), written on
// another database connection by a worker thread (seen by polling the ids
// being waited on, every 250 ms), and made by the real `portcullis approve`
// CLI in a child process (spawn to outcome, including the CLI's start-up).
// Prints a table and writes bench/results/approvals-<timestamp>.json.
// Usage: npm run build && node dist/bench/approvals.js [rounds]

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import {
  type Approvals,
  createApprovals,
  type NewApprovalRequest,
  openSqliteApprovalStore,
} from "../src/approvals/index.js";
import type { AuditLog } from "../src/audit/log.js";
import { machine, median, writeResult } from "./results-file.js";

const ROUNDS = Number(process.argv[2] ?? 40);
const CLI_ROUNDS = Math.min(ROUNDS, 10);
const POLL_INTERVAL_MS = 250;
const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
import(workerData.module).then(({ createApprovals, openSqliteApprovalStore, outboxAuditLog }) => {
  const store = openSqliteApprovalStore({ path: workerData.path });
  const now = () => new Date();
  const approvals = createApprovals({ store, audit: outboxAuditLog(store, now, {}, () => {}), now, background: false });
  parentPort.on("message", (id) => {
    approvals.decide(id, { user: "bob@example.com", groups: ["leads"] }, "approve", undefined, "bench");
    parentPort.postMessage(performance.timeOrigin + performance.now());
  });
  parentPort.postMessage("ready");
});`;

const silent: AuditLog = { emit: () => {}, info: () => {}, error: () => {}, flush: () => {} };
const request: NewApprovalRequest = {
  kind: "command",
  requester: { user: "alice@example.com", groups: ["ops"] },
  session: "bench",
  target: "web1",
  line: "systemctl restart nginx",
  rule: "prod#1",
  reason: "bench",
  approvers: { users: [], groups: ["leads"] },
  quorum: 1,
  timeoutMs: 60_000,
};
const epochNow = () => performance.timeOrigin + performance.now();
const summary = (values: number[]) => ({
  median_ms: round(median(values)),
  max_ms: round(Math.max(...values)),
  min_ms: round(Math.min(...values)),
  rounds: values.length,
});
const round = (ms: number) => Math.round(ms * 10) / 10;

async function inProcess(approvals: Approvals): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const { id } = approvals.request(request);
    const waiting = approvals.outcome(id);
    const decided = epochNow();
    approvals.decide(
      id,
      { user: "bob@example.com", groups: ["leads"] },
      "approve",
      undefined,
      "bench",
    );
    await waiting;
    latencies.push(epochNow() - decided);
  }
  return latencies;
}

async function otherConnection(approvals: Approvals, path: string): Promise<number[]> {
  const module = new URL("../src/approvals/index.js", import.meta.url).href;
  const worker = new Worker(WORKER, { eval: true, workerData: { path, module } });
  await new Promise((resolve) => worker.once("message", resolve));
  const latencies: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const { id } = approvals.request(request);
    const waiting = approvals.outcome(id);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * POLL_INTERVAL_MS));
    const committed = new Promise<number>((resolve) => worker.once("message", resolve));
    worker.postMessage(id);
    await waiting;
    latencies.push(epochNow() - (await committed));
  }
  await worker.terminate();
  return latencies;
}

async function viaCli(approvals: Approvals, configPath: string): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < CLI_ROUNDS; i++) {
    const { id } = approvals.request(request);
    const waiting = approvals.outcome(id);
    const started = epochNow();
    const args = [
      CLI,
      "--config",
      configPath,
      "approve",
      id,
      "--as",
      "bob@example.com",
      "--groups",
      "leads",
    ];
    const exited = new Promise((resolve) => execFile(process.execPath, args, resolve));
    await waiting;
    latencies.push(epochNow() - started);
    await exited;
  }
  return latencies;
}

const dir = mkdtempSync(join(tmpdir(), "portcullis-bench-approvals-"));
try {
  const path = join(dir, "portcullis.db");
  const configPath = join(dir, "portcullis.yaml");
  writeFileSync(configPath, "database: { path: portcullis.db }\n");
  const approvals = createApprovals({
    store: openSqliteApprovalStore({ path }),
    audit: silent,
    now: () => new Date(),
    pollIntervalMs: POLL_INTERVAL_MS,
  });
  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    poll_interval_ms: POLL_INTERVAL_MS,
    same_process: summary(await inProcess(approvals)),
    other_connection: summary(await otherConnection(approvals, path)),
    cli_spawn_to_outcome: summary(await viaCli(approvals, configPath)),
  };
  approvals.close();
  console.log("decision → waiting session learns it (ms)");
  for (const name of ["same_process", "other_connection", "cli_spawn_to_outcome"] as const) {
    const figures = result[name];
    console.log(
      `${name.padEnd(22)} median ${String(figures.median_ms).padStart(7)}  max ${String(figures.max_ms).padStart(7)}  (${figures.rounds} rounds)`,
    );
  }
  console.log(`written to ${writeResult("approvals", result)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
