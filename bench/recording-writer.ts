// Micro benchmark of the asciicast writer (src/recording): output() with
// 32 KiB chunks of terminal-like text and of zeros (what `head -c N
// /dev/zero` sends; each byte becomes `\u0000`), one chunk per turn (as
// network reads arrive), paced as a session's output is (waiting above 2 MiB
// unwritten), against the same loop without recording. Prints the cost of
// the output() calls themselves (what the session's data path pays),
// end-to-end MB/s until close() has fsynced, CPU seconds per GiB of the main
// thread and of the whole process (the writer thread's work is the
// difference), and event-loop delay; writes
// bench/results/recording-writer-<timestamp>.json.
// Usage: npm run build && node dist/bench/recording-writer.js [MB] [dir]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";
import { createLocalRecordingStore } from "../src/recording/index.js";
import { BACKLOG_HIGH, BACKLOG_LOW } from "../src/ssh/channel-recording.js";
import { cpuSeconds, machine, writeResult } from "./results-file.js";

const CHUNK_BYTES = 32 * 1024;
const MIB = 2 ** 20;
let recordedRuns = 0;

/** 32 KiB of coloured `ls -l`-like lines with some non-ASCII names. */
function terminalChunk(seed: number): Buffer {
  const lines: string[] = [];
  for (let size = 0, n = seed; size < CHUNK_BYTES; n++) {
    const line = `-rw-r--r-- 1 root root ${n * 7919} Nov 22 03:16 \u001b[01;34mfile-${n}-données.log\u001b[0m\r\n`;
    lines.push(line);
    size += Buffer.byteLength(line);
  }
  return Buffer.from(lines.join("")).subarray(0, CHUNK_BYTES);
}

interface RunFigures {
  /** Less than asked when the recording failed. */
  sent_bytes: number;
  seconds: number;
  output_call_seconds: number;
  process_cpu_s_per_gib: number;
  main_thread_cpu_s_per_gib: number;
  loop_delay_ms: { p50: number; p99: number; max: number };
  failure?: string;
  file_bytes?: number;
}

async function run(chunks: Buffer[], count: number, dir: string | undefined): Promise<RunFigures> {
  const store =
    dir === undefined
      ? undefined
      : createLocalRecordingStore({ dir, fsyncIntervalMs: 1000, now: Date.now });
  const recording = store?.create(`bench-${recordedRuns++}`, {
    width: 200,
    height: 50,
    term: "xterm-256color",
    title: "bench",
    startedAt: new Date(),
  });
  let failure: string | undefined;
  recording?.onFailure((error) => {
    failure = error.message;
  });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = process.hrtime.bigint();
  const cpuBefore = cpuSeconds(process.pid);
  const mainBefore = cpuSeconds(process.pid, process.pid);
  let inOutput = 0n;
  let sent = 0;
  for (let i = 0; i < count && failure === undefined; i++, sent += CHUNK_BYTES) {
    const before = process.hrtime.bigint();
    recording?.output(chunks[i % chunks.length] as Buffer);
    inOutput += process.hrtime.bigint() - before;
    await nextTurn();
    if (recording !== undefined && recording.backlog > BACKLOG_HIGH)
      await recording.whenBelow(BACKLOG_LOW);
  }
  const closed = await recording?.close();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const perGib = (cpu: number) => Number(((cpu / sent) * 2 ** 30).toFixed(2));
  const cpu = {
    process_cpu_s_per_gib: perGib(cpuSeconds(process.pid) - cpuBefore),
    main_thread_cpu_s_per_gib: perGib(cpuSeconds(process.pid, process.pid) - mainBefore),
  };
  await store?.close();
  delay.disable();
  const ms = (nanoseconds: number) => Math.round(nanoseconds / 1e4) / 100;
  return {
    sent_bytes: sent,
    seconds,
    output_call_seconds: Number(inOutput) / 1e9,
    ...cpu,
    loop_delay_ms: {
      p50: ms(delay.percentile(50)),
      p99: ms(delay.percentile(99)),
      max: ms(delay.max),
    },
    ...(failure === undefined ? {} : { failure }),
    ...(closed === undefined ? {} : { file_bytes: closed.bytes }),
  };
}

const mbPerSecond = (bytes: number, seconds: number) => Math.round(bytes / MIB / seconds);

/** Baseline loop, then the same loop recording, for one kind of data. */
async function scenario(chunks: Buffer[], megabytes: number, dir: string) {
  const count = Math.ceil((megabytes * MIB) / CHUNK_BYTES);
  const baseline = await run(chunks, count, undefined);
  const recorded = await run(chunks, count, dir);
  return {
    output_calls_mb_per_s: mbPerSecond(recorded.sent_bytes, recorded.output_call_seconds),
    end_to_end_mb_per_s: mbPerSecond(recorded.sent_bytes, recorded.seconds),
    loop_only_mb_per_s: mbPerSecond(baseline.sent_bytes, baseline.seconds),
    baseline,
    recorded,
  };
}

async function main(): Promise<void> {
  const megabytes = Number(process.argv[2] ?? 512);
  const dir = process.argv[3] ?? mkdtempSync(join(tmpdir(), "portcullis-bench-recording-"));
  try {
    const result = {
      date: new Date().toISOString(),
      machine: machine(),
      megabytes,
      chunk_bytes: CHUNK_BYTES,
      fsync_interval_ms: 1000,
      terminal_text: await scenario(
        Array.from({ length: 16 }, (_, seed) => terminalChunk(seed * 1000)),
        megabytes,
        dir,
      ),
      zeros: await scenario([Buffer.alloc(CHUNK_BYTES)], megabytes, dir),
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(`wrote ${writeResult("recording-writer", result)}`);
  } finally {
    if (process.argv[3] === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
