// What every benchmark records with its figures: the machine it ran on, and
// a JSON file per run in bench/results/<name>-<timestamp>.json; plus the
// small measuring helpers several benchmarks share.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

export function machine() {
  return {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

/** Writes `result` (which has `date`, an ISO string) and returns the file's path. */
export function writeResult(name: string, result: { date: string }): string {
  const dir = join("bench", "results");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}-${result.date.replace(/[:.]/g, "-")}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/**
 * User + system CPU seconds a process has used so far (Linux /proc); with
 * `thread`, only that thread's (a process's main thread has the pid as its id).
 */
export function cpuSeconds(pid: number | undefined, thread?: number): number {
  if (pid === undefined) return Number.NaN;
  const path = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
  const fields = readFileSync(path, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ is 100
}

export const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** The machine's CPU time counters (all CPUs, in USER_HZ ticks): busy and total. */
export function systemCpu(): { busy: number; total: number } {
  const times = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "")
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = times.reduce((sum, value) => sum + value, 0);
  const idle = (times[3] ?? 0) + (times[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** Share of the machine's CPU time that was busy between two `systemCpu()` readings. */
export function busyFraction(
  before: { busy: number; total: number },
  after: { busy: number; total: number },
): number {
  return (after.busy - before.busy) / Math.max(1, after.total - before.total);
}

/** mulberry32: a small seeded PRNG so every run measures the same input. */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
