// Bulk transfer over exec (`head -c N /dev/zero`), straight to a real sshd and
// through a real bastion, alternating in one run (the machine is noisy: compare
// ratios within a run). Prints MB/s and the ratio and writes them to
// bench/results/throughput-<timestamp>.json.
// Usage: npm run build && node dist/bench/throughput.js [MB] [runs]

import { spawn } from "node:child_process";
import { startTestBastion } from "../test/harness/bastion.js";
import { cpuSeconds, machine, median, writeResult } from "./results-file.js";

const CIPHER = "aes128-gcm@openssh.com";

function timeTransfer(args: string[], megabytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(
      "/usr/bin/ssh",
      ["-c", CIPHER, ...args, `head -c ${megabytes}M /dev/zero`],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let bytes = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0 || bytes !== megabytes * 1024 * 1024) {
        return reject(new Error(`transfer failed: exit ${code}, ${bytes} bytes`));
      }
      resolve(megabytes / seconds);
    });
  });
}

async function main(): Promise<void> {
  const megabytes = Number(process.argv[2] ?? 500);
  const runs = Number(process.argv[3] ?? 3);
  const bastion = await startTestBastion();
  try {
    const user = await bastion.issueUser("bench@example.com", ["ops"]);
    const direct: number[] = [];
    const proxied: number[] = [];
    let bastionCpu = 0;
    for (let run = 0; run < runs; run++) {
      direct.push(await timeTransfer(bastion.directSshArgs(), megabytes));
      const cpuBefore = cpuSeconds(bastion.serverPid);
      proxied.push(await timeTransfer(bastion.sshArgs(user, "web1"), megabytes));
      bastionCpu += cpuSeconds(bastion.serverPid) - cpuBefore;
    }
    const result = {
      benchmark: "throughput",
      date: new Date().toISOString(),
      machine: machine(),
      cipher: CIPHER,
      megabytes,
      direct_mb_s: direct.map(Math.round),
      bastion_mb_s: proxied.map(Math.round),
      ratio: Number((median(proxied) / median(direct)).toFixed(3)),
      // Less noisy than throughput on a shared 2-core machine: what the
      // bastion process itself spends per GiB proxied.
      bastion_cpu_s_per_gib: Number(((bastionCpu / (runs * megabytes)) * 1024).toFixed(2)),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    writeResult("throughput", result);
  } finally {
    await bastion.stop();
  }
}

await main();
