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

/** User + system CPU seconds a process has used so far (Linux /proc). */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ is 100
}

export const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
