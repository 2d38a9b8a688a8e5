// A feature's cost on bulk transfers: two real bastions (each in front of
// its own identical sshd), one with the feature off and one with it on, the
// same transfers over exec through each, alternating which side goes first
// every run. Per kind of output: MB/s per run (first byte to last), the
// ratio of the medians, the bastion's CPU seconds per GiB (whole process and
// main thread), and how busy the machine was. Used by bench/recording.ts and
// bench/masking.ts.

import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import type { TestBastion, UserKey } from "../test/harness/bastion.js";
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

export interface Side {
  readonly name: "off" | "on";
  readonly bastion: TestBastion;
  readonly user: UserKey;
  sessions: number;
}

export interface TransferKind {
  readonly name: string;
  /** A shell command on web1 printing exactly `megabytes` MiB. */
  command(megabytes: number): string;
  readonly megabytes: number;
}

export interface OnOffOptions {
  readonly benchmark: string;
  readonly kinds: readonly TransferKind[];
  readonly runs: number;
  startSide(name: Side["name"]): Promise<Side>;
  /** After each transfer (e.g. removing recordings so the disk does not fill up). */
  afterTransfer?(side: Side): void;
  /** Added to the result file as they are. */
  readonly details?: Record<string, unknown>;
}

interface Measured {
  mb_s: number[];
  busy: number[];
  cpu_seconds: number;
  main_thread_cpu_seconds: number;
  megabytes: number;
}

/** Runs the comparison, prints and writes bench/results/<benchmark>-<timestamp>.json. */
export async function compareOnOff(options: OnOffOptions): Promise<void> {
  const sides = await Promise.all([options.startSide("off"), options.startSide("on")]);
  try {
    const measured = options.kinds.map((kind) => ({
      kind,
      off: measuredNone(),
      on: measuredNone(),
    }));
    for (let run = 0; run < options.runs; run++) {
      const order = run % 2 === 0 ? sides : [...sides].reverse();
      for (const { kind, off, on } of measured)
        for (const side of order) {
          await measureOnce(side, kind, side.name === "off" ? off : on);
          options.afterTransfer?.(side);
        }
    }
    const result = {
      benchmark: options.benchmark,
      date: new Date().toISOString(),
      machine: machine(),
      load_average: loadavg().map((value) => Number(value.toFixed(1))),
      cipher: CIPHER,
      runs: options.runs,
      megabytes: Object.fromEntries(options.kinds.map((kind) => [kind.name, kind.megabytes])),
      ...options.details,
      ...Object.fromEntries(measured.map(({ kind, off, on }) => [kind.name, summary(off, on)])),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    writeResult(options.benchmark, result);
  } finally {
    for (const side of sides) await side.bastion.stop();
  }
}

function measuredNone(): Measured {
  return { mb_s: [], busy: [], cpu_seconds: 0, main_thread_cpu_seconds: 0, megabytes: 0 };
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

/** Waits until the bastion has ended `count` sessions (their recordings closed). */
async function sessionsEnded(bastion: TestBastion, count: number): Promise<void> {
  const ended = () => bastion.auditEvents().filter((e) => e.event === "session.end").length;
  while (ended() < count) await new Promise((wake) => setTimeout(wake, 20));
}

async function measureOnce(side: Side, kind: TransferKind, into: Measured): Promise<void> {
  const pid = side.bastion.serverPid;
  const cpuBefore = cpuSeconds(pid);
  const mainBefore = cpuSeconds(pid, pid);
  const busyBefore = systemCpu();
  const mbS = await timeTransfer(side, kind.command(kind.megabytes), kind.megabytes);
  into.busy.push(busyFraction(busyBefore, systemCpu()));
  side.sessions += 1;
  await sessionsEnded(side.bastion, side.sessions);
  into.cpu_seconds += cpuSeconds(pid) - cpuBefore;
  into.main_thread_cpu_seconds += cpuSeconds(pid, pid) - mainBefore;
  into.mb_s.push(mbS);
  into.megabytes += kind.megabytes;
  const busy = into.busy.at(-1) ?? 0;
  process.stderr.write(
    `${kind.name} ${side.name}: ${mbS.toFixed(1)} MB/s, machine ${(busy * 100).toFixed(0)}% busy\n`,
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
