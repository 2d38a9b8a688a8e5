// What every benchmark records with its figures: the machine it ran on, and
// a JSON file per run in bench/results/<name>-<timestamp>.json.

import { mkdirSync, writeFileSync } from "node:fs";
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
