// Interactive latency: a real ssh client in a pty types into an interactive
// bash on a real sshd, on four paths: (1) straight to sshd, plain bash;
// (2) straight to sshd, bash with the shell integration, the benchmark itself
// answering each gate (isolates the widget's cost); (3) through a real
// bastion, which runs the integration and decides each line with the policy
// engine; (4) the same with every masking detector on the output (issue 8:
// echo must stay unchanged). Measures keystroke echo (one character, until readline echoes it)
// and Enter to run (a typed line, Enter, until its output appears). Every
// line is typed at a ready prompt: the user's PROMPT_COMMAND (e.g. a pyenv
// hook that forks) must not be counted as the gate's cost.
// Prints p50/p99 per path and what the bastion adds over (1); writes
// bench/results/interactive-<timestamp>.json. Goals (issue 4): added echo
// p99 ≤ 2 ms, added Enter-to-run p99 ≤ 5 ms.
// Usage: npm run build && node dist/bench/interactive.js [keystrokes] [lines]
// (bench/masking-fairness.ts reuses its shell helpers.)

import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import { integrationCommand } from "../src/interactive/integration.js";
import { startTestBastion } from "../test/harness/bastion.js";
import { PtyDriver } from "../test/harness/pty.js";
import { MASKED_ENTRY } from "./masked-entry.js";
import { machine, writeResult } from "./results-file.js";

const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

/** OSC sequences (the integration's markers), bracketed-paste switches, CR. */
const [ESC, BEL] = ["\x1b", "\x07"];
const NOT_PROMPT_TEXT = new RegExp(`${ESC}\\][^${BEL}]*${BEL}|${ESC}\\[\\?2004[hl]|\r`, "g");

/** The shell's prompt as printed: the output's last line without terminal controls. */
function promptText(output: string): string {
  return output.slice(output.lastIndexOf("\n") + 1).replace(NOT_PROMPT_TEXT, "");
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Answers the integration's gate markers as the bastion would (allow), when the path has no bastion. */
type GateAnswer = (shell: PtyDriver, from: number) => Promise<void>;

function gateAnswerer(nonce: string): GateAnswer {
  const gate = new RegExp(`\\x1b\\]6973;${nonce};G;([0-9a-f]{16});`);
  return async (shell, from) => {
    await shell.expect(gate, 5_000, from);
    const challenge = gate.exec(shell.output.slice(from))?.[1];
    shell.type(`A${challenge}`);
  };
}

export interface ShellPath {
  sshArgs: string[];
  answerGate?: GateAnswer;
}

export interface OpenShell {
  pty: PtyDriver;
  /** Matches the output of `echo run-<n>` followed by the next prompt. */
  promptAfter(n: number): RegExp;
}

async function typeLine(shell: PtyDriver, path: ShellPath, line: string): Promise<void> {
  const from = shell.output.length;
  shell.type(`${line}\r`);
  await path.answerGate?.(shell, from);
}

export async function openShell(path: ShellPath): Promise<OpenShell> {
  const pty = new PtyDriver("/usr/bin/ssh", ["-tt", ...path.sshArgs], { cols: 200, rows: 50 });
  await typeLine(pty, path, "echo bench-$((6*7))-ready");
  await pty.expect("bench-42-ready\r\n", 15_000);
  await sleep(300);
  const prompt = escapeRegExp(promptText(pty.output));
  if (prompt.trim() === "") throw new Error("cannot tell the shell's prompt");
  return { pty, promptAfter: (n) => new RegExp(`run-${n}\\r\\n[^]*${prompt}`) };
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Types one key and waits for its echo; Ctrl-U every 40 keys keeps the line short. */
export async function echoOnce(shell: PtyDriver, i: number): Promise<number> {
  const key = String.fromCharCode(97 + (i % 26));
  const from = shell.output.length;
  const started = process.hrtime.bigint();
  shell.type(key);
  await shell.expect(key, 5_000, from);
  const latency = elapsedMs(started);
  if (i % 40 === 39) {
    shell.type("\x15"); // Ctrl-U: keep the line short
    await sleep(5);
  }
  return latency;
}

/** Types `echo run-$((i*3))`, then Enter until its output; returns when the prompt is back. */
async function enterOnce(opened: OpenShell, path: ShellPath, i: number): Promise<number> {
  const shell = opened.pty;
  const line = `echo run-$((${i}*3))`;
  let from = shell.output.length;
  shell.type(line);
  await shell.expect(line, 5_000, from);
  from = shell.output.length;
  const started = process.hrtime.bigint();
  shell.type("\r");
  await path.answerGate?.(shell, from);
  await shell.expect(`run-${i * 3}\r\n`, 5_000, from);
  const latency = elapsedMs(started);
  await shell.expect(opened.promptAfter(i * 3), 5_000, from);
  await sleep(2);
  return latency;
}

/**
 * Runs `step` for every path in turn, `count` times: the paths take turns so
 * that a burst of load on this (shared, noisy) machine hits them alike.
 */
async function interleaved<T>(
  shells: readonly T[],
  count: number,
  step: (shell: T, i: number) => Promise<number>,
): Promise<number[][]> {
  const latencies = shells.map((): number[] => []);
  for (let i = 0; i < count; i++) {
    for (const [index, shell] of shells.entries()) latencies[index]?.push(await step(shell, i));
  }
  return latencies;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Number(
    (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(3),
  );
}

export const summary = (values: number[]) => ({
  p50_ms: percentile(values, 0.5),
  p99_ms: percentile(values, 0.99),
});

const added = (direct: number[], proxied: number[]) => ({
  p50_ms: Number((percentile(proxied, 0.5) - percentile(direct, 0.5)).toFixed(3)),
  p99_ms: Number((percentile(proxied, 0.99) - percentile(direct, 0.99)).toFixed(3)),
});

function integratedDirect(directSshArgs: string[]): ShellPath {
  const nonce = randomBytes(16).toString("hex");
  return {
    sshArgs: [...directSshArgs, integrationCommand(nonce, "bash")],
    answerGate: gateAnswerer(nonce),
  };
}

async function main(): Promise<void> {
  const keystrokes = Number(process.argv[2] ?? 1000);
  const lines = Number(process.argv[3] ?? 300);
  const bastion = await startTestBastion({ extraPolicy: MASKED_ENTRY });
  const shells: OpenShell[] = [];
  try {
    const user = await bastion.issueUser("bench@example.com", ["ops"]);
    const masked = await bastion.issueUser("masked@example.com", ["masked"]);
    const paths: ShellPath[] = [
      { sshArgs: bastion.directSshArgs() },
      integratedDirect(bastion.directSshArgs()),
      { sshArgs: bastion.sshArgs(user, "web1") },
      { sshArgs: bastion.sshArgs(masked, "web1") },
    ];
    for (const path of paths) shells.push(await openShell(path));
    const [directShell, , proxiedShell, maskedShell] = shells as [
      OpenShell,
      OpenShell,
      OpenShell,
      OpenShell,
    ];
    const [directEcho = [], proxiedEcho = [], maskedEcho = []] = await interleaved(
      [directShell.pty, proxiedShell.pty, maskedShell.pty],
      keystrokes,
      echoOnce,
    );
    for (const shell of shells) shell.pty.type("\x15"); // Ctrl-U: an empty line for what follows
    await sleep(50);
    const [directEnter = [], integratedEnter = [], proxiedEnter = [], maskedEnter = []] =
      await interleaved(
        shells.map((shell, index) => ({ shell, path: paths[index] as ShellPath })),
        lines,
        ({ shell, path }, i) => enterOnce(shell, path, i),
      );
    const result = {
      benchmark: "interactive",
      date: new Date().toISOString(),
      machine: machine(),
      load_average: loadavg().map((value) => Number(value.toFixed(1))),
      shell: "bash (interactive; the bastion path runs it with the command gate)",
      keystrokes,
      lines,
      echo: {
        direct: summary(directEcho),
        bastion: summary(proxiedEcho),
        added: added(directEcho, proxiedEcho),
        bastion_masked: summary(maskedEcho),
        added_by_masking: added(proxiedEcho, maskedEcho),
      },
      enter_to_run: {
        direct: summary(directEnter),
        integrated_direct: summary(integratedEnter),
        bastion: summary(proxiedEnter),
        added: added(directEnter, proxiedEnter),
        bastion_masked: summary(maskedEnter),
        added_by_masking: added(proxiedEnter, maskedEnter),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    writeResult("interactive", result);
  } finally {
    for (const shell of shells) shell.pty.kill();
    await bastion.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
