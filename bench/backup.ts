// Backup, verify and restore of a database of N MB (default 300, random
// rows so nothing compresses): wall time, throughput over the database's
// size, and each operation's peak RSS (VmHWM of a process that does only
// that operation; the scrypt derivation, 128 MiB, is part of every one).
// Prints a table and writes bench/results/backup-<timestamp>.json.
// Usage: npm run build && node dist/bench/backup.js [MB]

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { restoreBackup, verifyBackup, writeBackup } from "../src/backup/index.js";
import { loadConfig } from "../src/config/index.js";
import { makeBackupFixture } from "../test/ops/backup-fixture.js";
import { machine, writeResult } from "./results-file.js";

const PASSPHRASE = "a long and private bench phrase";
const OPERATIONS = {
  backup: (dir: string) =>
    writeBackup(loadConfig(join(dir, "bastion", "portcullis.yaml")), backupFile(dir), PASSPHRASE),
  verify: (dir: string) => verifyBackup(backupFile(dir), PASSPHRASE),
  restore: (dir: string) =>
    restoreBackup(backupFile(dir), join(dir, "restored"), PASSPHRASE, false),
} as const;
type Operation = keyof typeof OPERATIONS;

const backupFile = (dir: string) => join(dir, "bastion.pcbackup");

/** Peak resident set of this process so far, in MiB (Linux /proc). */
function peakRssMiB(): number {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  return Math.round(Number(kib) / 1024);
}

/** In a child process: one operation, then its figures as JSON on stdout. */
function runOperation(operation: Operation, dir: string): void {
  const start = performance.now();
  OPERATIONS[operation](dir);
  const seconds = (performance.now() - start) / 1000;
  process.stdout.write(JSON.stringify({ seconds, peak_rss_mib: peakRssMiB() }));
}

function measure(operation: Operation, dir: string): { seconds: number; peak_rss_mib: number } {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, [self, "--operation", operation, dir], {
    encoding: "utf8",
  });
  if (child.status !== 0) throw new Error(`${operation} failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as { seconds: number; peak_rss_mib: number };
}

async function main(): Promise<void> {
  const megabytes = Number(process.argv[2] ?? 300);
  const dir = mkdtempSync(join(tmpdir(), "portcullis-bench-backup-"));
  try {
    const fixture = await makeBackupFixture(join(dir, "bastion"), megabytes * 2 ** 20);
    const databaseMiB = statSync(fixture.database).size / 2 ** 20;
    const figures = Object.fromEntries(
      (Object.keys(OPERATIONS) as Operation[]).map((operation) => {
        const { seconds, peak_rss_mib } = measure(operation, dir);
        return [operation, { seconds, mib_per_s: databaseMiB / seconds, peak_rss_mib }];
      }),
    );
    const result = {
      date: new Date().toISOString(),
      machine: machine(),
      database_mib: databaseMiB,
      backup_file_mib: statSync(backupFile(dir)).size / 2 ** 20,
      ...figures,
    };
    console.log(`database ${databaseMiB.toFixed(0)} MiB`);
    console.log("operation  seconds  MiB/s  peak RSS MiB");
    for (const [operation, { seconds, mib_per_s, peak_rss_mib }] of Object.entries(figures)) {
      console.log(
        `${operation.padEnd(9)}  ${seconds.toFixed(2).padStart(7)}  ${mib_per_s.toFixed(0).padStart(5)}  ${String(peak_rss_mib).padStart(12)}`,
      );
    }
    console.log(`wrote ${writeResult("backup", result)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--operation")
  runOperation(process.argv[3] as Operation, process.argv[4] as string);
else await main();
