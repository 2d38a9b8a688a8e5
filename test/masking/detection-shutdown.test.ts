// The bastion's detection threads end with it (src/serve/start.ts terminates
// the pool): a real bastion stopped with SIGTERM while a masked session is
// streaming bulk output (detections in flight in the worker) exits on its
// own, with status 0, and what reached the user before was masked.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { startTestBastion } from "../harness/bastion.js";

const CARD = "4111 1111 1111 1111";

const EXTRA_POLICY = `access:
  - name: masked
    subjects: { groups: [masked] }
    targets: { names: [web1] }
    commands: [baseline]
    mask: [credit-card, iban, us-ssn, password-assignment, generic-secret]
`;

test("SIGTERM during masked bulk output: the bastion exits 0 (no detection thread left behind)", {
  timeout: 60_000,
}, async () => {
  const bastion = await startTestBastion({
    extraPolicy: EXTRA_POLICY,
    sshConfig: ["shutdown_grace: 0s"], // the grace itself is tested in test/ops/lifecycle
  });
  const user = await bastion.issueUser("mia@example.com", ["masked"]);
  const command = `while :; do echo 'card ${CARD} ok'; seq 1 20000; done`;
  const ssh = spawn("/usr/bin/ssh", [...bastion.sshArgs(user, "web1"), command], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let shown = "";
  let bytes = 0;
  const streaming = new Promise<void>((resolve) =>
    ssh.stdout.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (shown.length < 2 ** 20) shown += chunk.toString("latin1");
      if (bytes > 4 * 2 ** 20) resolve();
    }),
  );
  const closed = new Promise((resolve) => ssh.once("close", resolve));
  try {
    await streaming;
    const started = Date.now();
    const code = await bastion.stop();
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 15_000, "it did not wait for a timeout");
    assert.ok(shown.includes("card ******************* ok"));
    assert.ok(!shown.includes(CARD));
  } finally {
    ssh.kill();
    await closed;
  }
});
