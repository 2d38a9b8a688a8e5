// File transfer throughput (issue 10): `scp` (SFTP protocol) upload and
// `sftp -b` get/put of one random file, through the bastion and straight to
// the same sshd, each pair back to back, alternating which goes first. Files
// live on tmpfs (/dev/shm) so the disk is not measured. Prints and writes
// bench/results/transfer-<time>.json: MB/s per run, medians, the ratio via
// bastion / direct, the bastion's CPU seconds per GiB.
// Usage: node dist/bench/transfer.js [MEGABYTES=1024] [RUNS=3]

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTestBastion, type TestBastion } from "../test/harness/bastion.js";
import { clientOptions, writeRandomFile } from "../test/sftp/helpers.js";
import { cpuSeconds, machine, median, writeResult } from "./results-file.js";

const MIB = 2 ** 20;
const megabytes = Number(process.argv[2] ?? 1024);
const runs = Number(process.argv[3] ?? 3);

type Route = "direct" | "bastion";
type Tool = "scp put" | "sftp get" | "sftp put";
const TOOLS: readonly Tool[] = ["scp put", "sftp get", "sftp put"];

interface Setup {
  bastion: TestBastion;
  options: Record<Route, string[]>;
  local: string;
  remote: string;
}

/** Runs `program` and resolves with its wall time in seconds; rejects on a failure. */
function timed(program: string, args: readonly string[]): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (data) => {
      stderr += data;
    });
    child.on("close", (code) =>
      code === 0
        ? resolve(Number(process.hrtime.bigint() - started) / 1e9)
        : reject(new Error(`${program} exited ${code}: ${stderr.trim()}`)),
    );
  });
}

function transfer(setup: Setup, route: Route, tool: Tool): Promise<number> {
  const host = route === "direct" ? `${setup.bastion.sshd.login}@127.0.0.1` : "web1@127.0.0.1";
  const options = setup.options[route];
  const source = join(setup.local, "big.bin");
  const remoteFile = join(setup.remote, `${route}.bin`);
  if (tool === "scp put")
    return timed("/usr/bin/scp", [...options, source, `${host}:${remoteFile}`]);
  const batch = join(setup.local, `${route}.batch`);
  const line =
    tool === "sftp get"
      ? `get ${join(setup.remote, "big.bin")} ${join(setup.local, `${route}.got`)}`
      : `put ${source} ${remoteFile}`;
  writeFileSync(batch, `${line}\n`);
  return timed("/usr/bin/sftp", [...options, "-b", batch, host]);
}

async function main(): Promise<void> {
  const bastion = await startTestBastion({
    extraPolicy: `access:
  - name: bench
    subjects: { groups: [bench] }
    targets: { names: [web1] }
    file_transfer: allow
`,
  });
  const shm = mkdtempSync("/dev/shm/portcullis-transfer-");
  try {
    const user = await bastion.issueUser("bench@example.com", ["bench"]);
    const direct = bastion.directSshArgs().slice(0, -3); // without `-l LOGIN HOST`
    const setup: Setup = {
      bastion,
      options: {
        bastion: clientOptions(bastion, user),
        direct: direct.map((arg) => (arg === "-p" ? "-P" : arg)),
      },
      local: mkdtempSync(join(shm, "local-")),
      remote: mkdtempSync(join(shm, "remote-")),
    };
    writeRandomFile(join(setup.local, "big.bin"), megabytes * MIB);
    writeRandomFile(join(setup.remote, "big.bin"), megabytes * MIB);
    const results = await measure(setup);
    const result = { date: new Date().toISOString(), machine: machine(), megabytes, runs, results };
    const path = writeResult("transfer", result);
    console.log(JSON.stringify(results, null, 2));
    console.log(`written to ${path}`);
  } finally {
    rmSync(shm, { recursive: true, force: true });
    await bastion.stop();
  }
}

async function measure(setup: Setup) {
  const results: Record<string, unknown> = {};
  for (const tool of TOOLS) {
    const speeds: Record<Route, number[]> = { direct: [], bastion: [] };
    const cpu: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      const order: Route[] = run % 2 === 0 ? ["direct", "bastion"] : ["bastion", "direct"];
      for (const route of order) {
        const before = cpuSeconds(setup.bastion.serverPid);
        const seconds = await transfer(setup, route, tool);
        if (route === "bastion") cpu.push(cpuSeconds(setup.bastion.serverPid) - before);
        speeds[route].push(Math.round((megabytes / seconds) * 10) / 10);
      }
    }
    const ratio = median(speeds.bastion) / median(speeds.direct);
    results[tool] = {
      mb_s: speeds,
      median_mb_s: { direct: median(speeds.direct), bastion: median(speeds.bastion) },
      ratio: Math.round(ratio * 100) / 100,
      bastion_cpu_seconds_per_gib: Math.round((median(cpu) / (megabytes / 1024)) * 100) / 100,
    };
    console.error(`${tool}: ${JSON.stringify(results[tool])}`);
  }
  return results;
}

await main();
