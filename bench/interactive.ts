// Interactive latency: a real ssh client in a pty types into an interactive
// bash on a real sshd, straight and through a real bastion (which runs the
// shell with its command gate). Measures (1) keystroke echo: one character at
// a time, waiting for readline's echo; (2) Enter to run: a typed line, then
// Enter, until its output appears (the bastion holds input, the shell asks
// for the verdict, the bastion decides it with the policy engine and answers).
// Prints p50/p99 per path and what the bastion adds; writes
// bench/results/interactive-<timestamp>.json. Goals (issue 4): added echo
// p99 ≤ 2 ms, added Enter-to-run p99 ≤ 5 ms.
// Usage: npm run build && node dist/bench/interactive.js [keystrokes] [lines]

import { startTestBastion } from "../test/harness/bastion.js";
import { PtyDriver } from "../test/harness/pty.js";
import { machine, writeResult } from "./results-file.js";

const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

async function openShell(sshArgs: string[]): Promise<PtyDriver> {
  const shell = new PtyDriver("/usr/bin/ssh", ["-tt", ...sshArgs], { cols: 200, rows: 50 });
  shell.type("echo bench-$((6*7))-ready\r");
  await shell.expect("bench-42-ready");
  await sleep(200);
  return shell;
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function echoLatencies(shell: PtyDriver, keystrokes: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < keystrokes; i++) {
    const key = String.fromCharCode(97 + (i % 26));
    const from = shell.output.length;
    const started = process.hrtime.bigint();
    shell.type(key);
    await shell.expect(key, 5_000, from);
    latencies.push(elapsedMs(started));
    if (i % 40 === 39) {
      shell.type("\x15"); // Ctrl-U: keep the line short
      await sleep(5);
    }
  }
  shell.type("\x15");
  return latencies;
}

async function enterToRun(shell: PtyDriver, lines: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < lines; i++) {
    const line = `echo run-$((${i}*3))`;
    let from = shell.output.length;
    shell.type(line);
    await shell.expect(line, 5_000, from);
    from = shell.output.length;
    const started = process.hrtime.bigint();
    shell.type("\r");
    await shell.expect(`run-${i * 3}\r\n`, 5_000, from);
    latencies.push(elapsedMs(started));
    await sleep(2);
  }
  return latencies;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Number(
    (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(3),
  );
}

const summary = (values: number[]) => ({
  p50_ms: percentile(values, 0.5),
  p99_ms: percentile(values, 0.99),
});

const added = (direct: number[], proxied: number[]) => ({
  p50_ms: Number((percentile(proxied, 0.5) - percentile(direct, 0.5)).toFixed(3)),
  p99_ms: Number((percentile(proxied, 0.99) - percentile(direct, 0.99)).toFixed(3)),
});

async function measure(sshArgs: string[], keystrokes: number, lines: number) {
  const shell = await openShell(sshArgs);
  try {
    return { echo: await echoLatencies(shell, keystrokes), enter: await enterToRun(shell, lines) };
  } finally {
    shell.kill();
  }
}

async function main(): Promise<void> {
  const keystrokes = Number(process.argv[2] ?? 1000);
  const lines = Number(process.argv[3] ?? 300);
  const bastion = await startTestBastion();
  try {
    const user = await bastion.issueUser("bench@example.com", ["ops"]);
    const direct = await measure(bastion.directSshArgs(), keystrokes, lines);
    const proxied = await measure(bastion.sshArgs(user, "web1"), keystrokes, lines);
    const result = {
      benchmark: "interactive",
      date: new Date().toISOString(),
      machine: machine(),
      shell: "bash (interactive, through the command gate on the bastion path)",
      keystrokes,
      lines,
      echo: {
        direct: summary(direct.echo),
        bastion: summary(proxied.echo),
        added: added(direct.echo, proxied.echo),
      },
      enter_to_run: {
        direct: summary(direct.enter),
        bastion: summary(proxied.enter),
        added: added(direct.enter, proxied.enter),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    writeResult("interactive", result);
  } finally {
    await bastion.stop();
  }
}

await main();
