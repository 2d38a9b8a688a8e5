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

import { rmSync } from "node:fs";
import { join } from "node:path";
import { recordingsAt, startTestBastion } from "../test/harness/bastion.js";
import { compareOnOff, type Side } from "./on-off.js";

async function startSide(name: Side["name"]): Promise<Side> {
  const bastion = await startTestBastion(
    name === "off" ? { configEdit: recordingsAt("/dev/null/recordings", "best_effort") } : {},
  );
  const user = await bastion.issueUser("bench@example.com", ["ops"]);
  return { name, bastion, user, sessions: 0 };
}

await compareOnOff({
  benchmark: "recording",
  runs: Number(process.argv[4] ?? 3),
  kinds: [
    {
      name: "text",
      command: (megabytes) => `seq 1 1000000000 | head -c ${megabytes}M`,
      megabytes: Number(process.argv[2] ?? 500),
    },
    {
      name: "zeros",
      command: (megabytes) => `head -c ${megabytes}M /dev/zero`,
      megabytes: Number(process.argv[3] ?? 200),
    },
  ],
  startSide,
  afterTransfer: (side) =>
    rmSync(join(side.bastion.dir, "recordings"), { recursive: true, force: true }),
});
