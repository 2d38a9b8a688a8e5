// Bulk transfer through a real bastion with masking off and on, in the same
// run (issue 8 goal: masked ≥ 0.8× unmasked): every built-in detector on the
// target's output, for digits and newlines (`seq`) and for log lines with
// numbers, paths and key=value pairs (`yes LINE`). Both bastions record
// nothing (recordings.dir under /dev/null, best_effort), so the difference
// is the masking alone. Prints MB/s per run, the ratio of medians and CPU
// seconds per GiB, and writes bench/results/masking-<timestamp>.json.
// Usage: npm run build && node dist/bench/masking.js [MB] [runs]

import { MASK_DETECTORS } from "../src/policy/index.js";
import { recordingsAt, startTestBastion } from "../test/harness/bastion.js";
import { MASKED_ENTRY } from "./masked-entry.js";
import { compareOnOff, type Side } from "./on-off.js";

const LOG_LINE =
  "Nov 22 03:16:01 web1 app[4242]: GET /api/v1/items?id=118 status=200 bytes=5120 user=alice ms=12";

async function startSide(name: Side["name"]): Promise<Side> {
  const bastion = await startTestBastion({
    configEdit: recordingsAt("/dev/null/recordings", "best_effort"),
    ...(name === "on" ? { extraPolicy: MASKED_ENTRY } : {}),
  });
  const user = await bastion.issueUser("bench@example.com", [name === "on" ? "masked" : "ops"]);
  return { name, bastion, user, sessions: 0 };
}

const megabytes = Number(process.argv[2] ?? 200);
await compareOnOff({
  benchmark: "masking",
  runs: Number(process.argv[3] ?? 3),
  kinds: [
    {
      name: "text",
      command: (size) => `seq 1 1000000000 | head -c ${size}M`,
      megabytes,
    },
    { name: "logs", command: (size) => `yes '${LOG_LINE}' | head -c ${size}M`, megabytes },
  ],
  startSide,
  details: { detectors: MASK_DETECTORS },
});
