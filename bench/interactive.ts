// Keystroke echo latency: a real ssh client in a pty types one character at
// a time into `cat` on a real sshd, straight and through a real bastion, and
// waits for each echo (the remote tty echoes it). Prints p50/p99 per path and
// the added latency; writes bench/results/interactive-<timestamp>.json.
// The baseline for issue 4, whose line checks must keep added p99 ≤ 2 ms.
// Usage: npm run build && node dist/bench/interactive.js [keystrokes]

import { startTestBastion } from "../test/harness/bastion.js";
import { PtyDriver } from "../test/harness/pty.js";
import { machine, writeResult } from "./results-file.js";

const READY = "echo-bench-ready";

async function echoLatencies(sshArgs: string[], keystrokes: number): Promise<number[]> {
  const shell = new PtyDriver("/usr/bin/ssh", ["-tt", ...sshArgs, `echo ${READY}; exec cat`]);
  try {
    await shell.expect(READY);
    const latencies: number[] = [];
    for (let i = 0; i < keystrokes; i++) {
      const key = String.fromCharCode(97 + (i % 26));
      const from = shell.output.length;
      const started = process.hrtime.bigint();
      shell.type(key);
      await shell.expect(key, 5_000, from);
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return latencies;
  } finally {
    shell.kill();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Number(
    (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(3),
  );
}

async function main(): Promise<void> {
  const keystrokes = Number(process.argv[2] ?? 1000);
  const bastion = await startTestBastion();
  try {
    const user = await bastion.issueUser("bench@example.com", ["ops"]);
    const direct = await echoLatencies(bastion.directSshArgs(), keystrokes);
    const proxied = await echoLatencies(bastion.sshArgs(user, "web1"), keystrokes);
    const summary = (values: number[]) => ({
      p50_ms: percentile(values, 0.5),
      p99_ms: percentile(values, 0.99),
    });
    const result = {
      benchmark: "interactive",
      date: new Date().toISOString(),
      machine: machine(),
      keystrokes,
      direct: summary(direct),
      bastion: summary(proxied),
      added: {
        p50_ms: Number((percentile(proxied, 0.5) - percentile(direct, 0.5)).toFixed(3)),
        p99_ms: Number((percentile(proxied, 0.99) - percentile(direct, 0.99)).toFixed(3)),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    writeResult("interactive", result);
  } finally {
    await bastion.stop();
  }
}

await main();
