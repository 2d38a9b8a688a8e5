// From an approval to the held command running, through a real bastion and a
// real sshd (issue 7: "the measured time from an approval to the command
// running"). Each round, `ssh web1 'echo ran-N'` waits for approval; the
// approver approves with the real approver console (`ssh approvals@bastion
// approve ID`, decided in the server's own process); the figure is the time
// from the console's answer arriving (the decision is made by then) to
// `ran-N` arriving at the waiting client: the waiter waking, the upstream
// exec opening on the bastion's existing connection, the output.
// Prints the figures and writes bench/results/approval-to-run-<timestamp>.json.
// Usage: npm run build && node dist/bench/approval-to-run.js [rounds]

import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { startTestBastion } from "../test/harness/bastion.js";
import { machine, median, writeResult } from "./results-file.js";

const ROUNDS = Number(process.argv[2] ?? 10);
const SSH = "/usr/bin/ssh";
const REQUEST_SENT = /request (\w+) sent to/;

const POLICY = `rulesets:
  held:
    default: allow
    rules:
      - approve: ["echo ran-*"]
        approvers: { users: [bob@example.com] }
access:
  - name: held
    subjects: { groups: [makers] }
    targets: { names: [web1] }
    commands: [held]
`;

/** Approves at the console; resolves when its answer arrives (the decision is made by then). */
function approve(consoleArgs: string[], id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const approver = spawn(SSH, [...consoleArgs, `approve ${id}`]);
    approver.stdout.once("data", () => resolve(performance.now()));
    approver.on("close", (code) => {
      if (code !== 0) reject(new Error(`approve ${id} exited ${code}`));
    });
  });
}

async function main(): Promise<void> {
  const bastion = await startTestBastion({ extraPolicy: POLICY });
  try {
    const alice = await bastion.issueUser("alice@example.com", ["makers"]);
    const bob = await bastion.issueUser("bob@example.com", ["approvers"]);
    const millis: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const child = spawn(SSH, [...bastion.sshArgs(alice, "web1"), `echo ran-${round}`]);
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk;
      });
      const ran = new Promise<number>((resolve) =>
        child.stdout.on("data", () => resolve(performance.now())),
      );
      while (!REQUEST_SENT.test(stderr)) await new Promise((wake) => setTimeout(wake, 5));
      const id = REQUEST_SENT.exec(stderr)?.[1] ?? "";
      const decidedAt = await approve(bastion.sshArgs(bob, "approvals"), id);
      millis.push((await ran) - decidedAt);
    }
    const sorted = [...millis].sort((a, b) => a - b);
    const result = {
      date: new Date().toISOString(),
      machine: machine(),
      rounds: ROUNDS,
      approval_to_output_ms: {
        median: Number(median(millis).toFixed(1)),
        max: Number((sorted.at(-1) ?? 0).toFixed(1)),
        all: millis.map((ms) => Number(ms.toFixed(1))),
      },
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(`wrote ${writeResult("approval-to-run", result)}`);
  } finally {
    await bastion.stop();
  }
}

await main();
