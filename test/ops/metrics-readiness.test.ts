// /readyz of a real `portcullis serve` going unready for real reasons and
// back: the audit index's file system filling up (a small tmpfs the test
// fills, so root only) and a graceful shutdown (SIGTERM with a session
// open), each answered 503 with its reason in one line; /healthz stays 200.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestBastion, type TestBastion } from "../harness/bastion.js";
import { eventually } from "../harness/eventually.js";
import { PROMPT_END, PtyDriver } from "../harness/pty.js";
import { mountSmallDisk, type SmallDisk } from "../harness/tmpfs.js";
import { databaseAt } from "../signals/e2e-helpers.js";
import { get, opsUrl, scrape, withMetrics } from "./metrics-helpers.js";

describe("readiness of a running bastion", () => {
  describe("with the audit index on a small disk", () => {
    let disk: SmallDisk;
    let bastion: TestBastion;

    before(async () => {
      disk = mountSmallDisk("16m");
      const database = databaseAt(join(disk.dir, "portcullis.db"));
      bastion = await startTestBastion({ configEdit: (yaml) => withMetrics(database(yaml)) });
    });
    after(async () => {
      await bastion?.stop();
      disk?.unmount();
    });

    it("is not ready while the disk is full, and ready again once there is room", async () => {
      const url = opsUrl(bastion);
      assert.deepEqual(await get(`${url}/readyz`), { status: 200, body: "ready\n" });
      disk.fill();
      try {
        const full = await get(`${url}/readyz`);
        assert.equal(full.status, 503);
        assert.match(
          full.body,
          /^the audit index's file system is full \(\d+ bytes free in .+\)\n$/,
        );
        assert.deepEqual(await get(`${url}/healthz`), { status: 200, body: "ok\n" });
        assert.equal((await scrape(url)).value("portcullis_ready"), 0);
      } finally {
        disk.free();
      }
      await eventually(async () =>
        assert.deepEqual(await get(`${url}/readyz`), { status: 200, body: "ready\n" }),
      );
    });
  });

  describe("during a graceful shutdown", () => {
    let bastion: TestBastion;

    before(async () => {
      bastion = await startTestBastion({
        configEdit: withMetrics,
        sshConfig: ["shutdown_grace: 3s"],
      });
    });
    after(async () => {
      await bastion?.stop();
    });

    it("answers 503 'shutting down' from SIGTERM on, while sessions go on for their grace", async () => {
      const url = opsUrl(bastion);
      const user = await bastion.issueUser("alice@example.com", ["ops"]);
      const shell = new PtyDriver("/usr/bin/ssh", ["-tt", ...bastion.sshArgs(user, "web1")]);
      try {
        await shell.expect(PROMPT_END);
        assert.equal((await get(`${url}/readyz`)).status, 200);
        process.kill(Number(bastion.serverPid), "SIGTERM");
        assert.deepEqual(await pollUntilUnready(`${url}/readyz`), {
          status: 503,
          body: "shutting down\n",
        });
        const ended = bastion.auditEvents().filter((e) => e.event === "session.end");
        assert.deepEqual(ended, [], "unready before the session's grace ran out");
        await shell.expect("the bastion is shutting down");
      } finally {
        shell.kill();
      }
    });
  });
});

/** Asks every 20 ms (the window may be short) until the answer is not 200. */
async function pollUntilUnready(url: string): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const answer = await get(url);
    if (answer.status !== 200 || Date.now() > deadline) return answer;
    await new Promise((wake) => setTimeout(wake, 20));
  }
}
