// Bulk transfer through a real bastion with session recording on and off, in
// the same run (issue 5 goal: recorded ≥ 0.95× unrecorded), for two kinds of
// output over exec: terminal-like text (`seq`, digits and newlines) and zeros
// (`head -c N /dev/zero`, the asciicast's worst case: each NUL is written as
// `\u0000`, 6 bytes on disk). Prints MB/s per run, the ratio of medians and
// the bastion's CPU seconds per GiB (connection set-up included), and writes
// bench/results/recording-<timestamp>.json.
//
// "Off" is a second bastion (same build, its own identical sshd) whose
// recordings cannot be created: `recordings.dir` is under /dev/null (mkdir
// fails with ENOTDIR) and
// `recordings.mode` is best_effort, so every session goes on without a
// recorder, exactly the data path of a bastion that does not record (one
// `signal` audit line per session is the only extra). "On" records to the
// bastion's own directory on the local disk; its recordings are deleted
// after every transfer so the disk does not fill up.
// Runs alternate off/on, starting with the other one every run, so a burst of
// load on the shared machine hits both alike.
// Usage: npm run build && node dist/bench/recording.js [textMB] [zerosMB] [runs]

import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import {
  recordingsAt,
  startTestBastion,
  type TestBastion,
  type UserKey,
} from "../test/harness/bastion.js";
import {
  busyFraction,
  cpuSeconds,
  machine,
  median,
  systemCpu,
  writeResult,
} from "./results-file.js";

const CIPHER = "aes128-gcm@openssh.com";
const MIB = 2 ** 20;

const KINDS = {
  text: (megabytes: number) => `seq 1 1000000000 | head -c ${megabytes}M`,
  zeros: (megabytes: number) => `head -c ${megabytes}M /dev/zero`,
} as const;
type Kind = keyof typeof KINDS;

interface Side {
  name: "off" | "on";
  bastion: TestBastion;
  user: UserKey;
  sessions: number;
}

interface Measured {
  mb_s: number[];
  /** CPU seconds of the bastion's main thread, which moves the sessions' bytes. */
  main_thread_cpu_seconds: number;
  /** Share of all the machine's CPUs busy during each transfer. */
  busy: number[];
  cpu_seconds: number;
  megabytes: number;
}

/**
 * Runs `command` on web1 through the bastion; resolves with MB/s from the
 * first byte to the last (the connection set-up is left out).
 */
function timeTransfer(side: Side, command: string, megabytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = ["-c", CIPHER, ...side.bastion.sshArgs(side.user, "web1"), command];
    const child = spawn("/usr/bin/ssh", args, { stdio: ["ignore", "pipe", "pipe"] });
    let started = 0n;
    let bytes = 0;
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      if (bytes === 0) started = process.hrtime.bigint();
      bytes += chunk.length;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0 || bytes !== megabytes * MIB) {
        return reject(new Error(`${side.name}: exit ${code}, ${bytes} bytes; ${stderr.trim()}`));
      }
      resolve(megabytes / seconds);
    });
  });
}

/** Waits until the bastion has ended `count` sessions (the recording closed and fsynced). */
async function sessionsEnded(bastion: TestBastion, count: number): Promise<void> {
  const ended = () => bastion.auditEvents().filter((e) => e.event === "session.end").length;
  while (ended() < count) await new Promise((wake) => setTimeout(wake, 20));
}

async function measureOnce(side: Side, kind: Kind, megabytes: number, into: Measured) {
  const pid = side.bastion.serverPid;
  const cpuBefore = cpuSeconds(pid);
  const mainBefore = cpuSeconds(pid, pid);
  const busyBefore = systemCpu();
  const mbS = await timeTransfer(side, KINDS[kind](megabytes), megabytes);
  into.busy.push(busyFraction(busyBefore, systemCpu()));
  side.sessions += 1;
  await sessionsEnded(side.bastion, side.sessions);
  into.cpu_seconds += cpuSeconds(pid) - cpuBefore;
  into.main_thread_cpu_seconds += cpuSeconds(pid, pid) - mainBefore;
  into.mb_s.push(mbS);
  into.megabytes += megabytes;
  rmSync(join(side.bastion.dir, "recordings"), { recursive: true, force: true });
  const busy = into.busy.at(-1) ?? 0;
  process.stderr.write(
    `${kind} ${side.name}: ${mbS.toFixed(1)} MB/s, machine ${(busy * 100).toFixed(0)}% busy\n`,
  );
}

function summary(off: Measured, on: Measured) {
  const perGib = (measured: Measured, seconds = measured.cpu_seconds) =>
    Number(((seconds / measured.megabytes) * 1024).toFixed(2));
  return {
    off_mb_s: off.mb_s.map((value) => Number(value.toFixed(1))),
    on_mb_s: on.mb_s.map((value) => Number(value.toFixed(1))),
    off_machine_busy: off.busy.map((value) => Number(value.toFixed(2))),
    on_machine_busy: on.busy.map((value) => Number(value.toFixed(2))),
    ratio: Number((median(on.mb_s) / median(off.mb_s)).toFixed(3)),
    off_cpu_s_per_gib: perGib(off),
    on_cpu_s_per_gib: perGib(on),
    off_main_thread_cpu_s_per_gib: perGib(off, off.main_thread_cpu_seconds),
    on_main_thread_cpu_s_per_gib: perGib(on, on.main_thread_cpu_seconds),
  };
}

async function startSide(name: Side["name"]): Promise<Side> {
  const bastion = await startTestBastion(
    name === "off" ? { configEdit: recordingsAt("/dev/null/recordings", "best_effort") } : {},
  );
  const user = await bastion.issueUser("bench@example.com", ["ops"]);
  return { name, bastion, user, sessions: 0 };
}

async function main(): Promise<void> {
  const sizes: Record<Kind, number> = {
    text: Number(process.argv[2] ?? 500),
    zeros: Number(process.argv[3] ?? 200),
  };
  const runs = Number(process.argv[4] ?? 3);
  const sides = await Promise.all([startSide("off"), startSide("on")]);
  try {
    const measured = (Object.keys(KINDS) as Kind[]).map((kind) => {
      const off: Measured = {
        mb_s: [],
        busy: [],
        cpu_seconds: 0,
        main_thread_cpu_seconds: 0,
        megabytes: 0,
      };
      const on: Measured = {
        mb_s: [],
        busy: [],
        cpu_seconds: 0,
        main_thread_cpu_seconds: 0,
        megabytes: 0,
      };
      return { kind, off, on };
    });
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? sides : [...sides].reverse();
      for (const { kind, off, on } of measured)
        for (const side of order)
          await measureOnce(side, kind, sizes[kind], side.name === "off" ? off : on);
    }
    const result = {
      benchmark: "recording",
      date: new Date().toISOString(),
      machine: machine(),
      load_average: loadavg().map((value) => Number(value.toFixed(1))),
      cipher: CIPHER,
      runs,
      megabytes: sizes,
      ...Object.fromEntries(measured.map(({ kind, off, on }) => [kind, summary(off, on)])),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    writeResult("recording", result);
  } finally {
    for (const side of sides) await side.bastion.stop();
  }
}

await main();
