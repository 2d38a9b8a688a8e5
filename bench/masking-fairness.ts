// Does one user's bulk output through a masked session slow down everyone
// else's typing? (docs/masking.md "Streaming": detection of large reads runs
// in a worker thread, so the bastion's event loop stays free.) One real
// bastion with every built-in detector on; a masked interactive shell types
// keys one at a time and measures each echo, first with nothing else going
// on, then while a second masked session streams `seq` output through the
// same bastion as fast as it can. Prints echo p50/p99/max for both phases and
// the bulk session's MB/s; writes bench/results/masking-fairness-<timestamp>.json.
// Usage: npm run build && node dist/bench/masking-fairness.js [keystrokes]

import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import {
  recordingsAt,
  startTestBastion,
  type TestBastion,
  type UserKey,
} from "../test/harness/bastion.js";
import { echoOnce, openShell, summary } from "./interactive.js";
import { MASKED_ENTRY } from "./masked-entry.js";
import { machine, writeResult } from "./results-file.js";

const CIPHER = "aes128-gcm@openssh.com";
const BULK_COMMAND = "seq 1 1000000000";

interface BulkStream {
  /** Ends the stream; resolves with MB/s from its first byte to now. */
  stop(): Promise<number>;
}

/** Starts a masked exec session printing `seq` output without end, read as fast as it comes. */
async function startBulk(bastion: TestBastion, user: UserKey): Promise<BulkStream> {
  const args = ["-c", CIPHER, ...bastion.sshArgs(user, "web1"), BULK_COMMAND];
  const child = spawn("/usr/bin/ssh", args, { stdio: ["ignore", "pipe", "ignore"] });
  let bytes = 0;
  let started = 0n;
  const flowing = new Promise<void>((resolve) =>
    child.stdout.on("data", (chunk: Buffer) => {
      if (bytes === 0) started = process.hrtime.bigint();
      bytes += chunk.length;
      if (bytes > 2 ** 20) resolve(); // past the connection set-up: output is streaming
    }),
  );
  await flowing;
  const counted = bytes;
  const from = started;
  return {
    stop: async () => {
      const seconds = Number(process.hrtime.bigint() - from) / 1e9;
      const rate = (bytes - counted) / 2 ** 20 / seconds;
      const exited = new Promise((resolve) => child.once("close", resolve));
      child.kill();
      await exited;
      return Number(rate.toFixed(1));
    },
  };
}

async function echoLatencies(
  shell: Awaited<ReturnType<typeof openShell>>,
  count: number,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) latencies.push(await echoOnce(shell.pty, i));
  return latencies;
}

const withMax = (values: number[]) => ({
  ...summary(values),
  max_ms: Number(Math.max(...values).toFixed(3)),
});

async function main(): Promise<void> {
  const keystrokes = Number(process.argv[2] ?? 300);
  const bastion = await startTestBastion({
    configEdit: recordingsAt("/dev/null/recordings", "best_effort"), // the masking alone
    extraPolicy: MASKED_ENTRY,
  });
  let shell: Awaited<ReturnType<typeof openShell>> | undefined;
  try {
    const typist = await bastion.issueUser("typist@example.com", ["masked"]);
    const streamer = await bastion.issueUser("streamer@example.com", ["masked"]);
    shell = await openShell({ sshArgs: bastion.sshArgs(typist, "web1") });
    const idleLoad = loadavg()[0] ?? 0;
    const idle = await echoLatencies(shell, keystrokes);
    const bulk = await startBulk(bastion, streamer);
    const busyLoad = loadavg()[0] ?? 0;
    const busy = await echoLatencies(shell, keystrokes);
    const bulkMbS = await bulk.stop();
    const result = {
      benchmark: "masking-fairness",
      date: new Date().toISOString(),
      machine: machine(),
      load_average: { idle_phase: idleLoad, bulk_phase: busyLoad },
      keystrokes,
      bulk: { command: BULK_COMMAND, cipher: CIPHER, mb_s: bulkMbS },
      echo: { alone: withMax(idle), while_bulk: withMax(busy) },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    writeResult("masking-fairness", result);
  } finally {
    shell?.pty.kill();
    await bastion.stop();
  }
}

await main();
