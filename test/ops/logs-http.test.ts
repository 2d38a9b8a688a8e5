// HTTP forwarding (src/audit/destinations-http.ts) to a real receiver on
// 127.0.0.1: lines arrive in order as application/x-ndjson batches with the
// Authorization header from authorization_file (which never appears in the
// log), at most one batch's worth of lines per request; failures are
// retried with backoff, refused batches dropped and reported; close
// delivers what is left; a missing or multi-line authorization file fails
// start-up with one line.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError } from "../../src/util/errors.js";
import { eventually } from "../harness/eventually.js";
import { receiver } from "../harness/webhook-receiver.js";
import { forwardingLog, logLines, testDir } from "./logs-receivers.js";

const dir = testDir("logs-http");
const AUTHORIZATION = "Bearer log-collector-test-token";
const authorizationFile = join(dir, "collector.auth");
writeFileSync(authorizationFile, `${AUTHORIZATION}\n`, { mode: 0o600 });

/** An audit log posting to `url` every `flushInterval` ms. */
function httpLog(
  url: string,
  flushInterval = 50,
  authorization: string | undefined = authorizationFile,
) {
  const http = {
    url,
    flush_interval: flushInterval,
    ...(authorization === undefined ? {} : { authorization_file: authorization }),
  };
  return forwardingLog(dir, { http });
}

type Collector = Awaited<ReturnType<typeof receiver>>;

/** Every JSON line the collector accepted (2xx), in arrival order. */
function received(collector: Collector, statuses: number[] = []): Record<string, unknown>[] {
  return collector.deliveries
    .filter((_, index) => (statuses[index] ?? 200) < 300)
    .flatMap((delivery) => delivery.body.split("\n").filter(Boolean))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test("lines arrive in order as ndjson batches with the Authorization header, never logged", async () => {
  const collector = await receiver();
  const { log, file } = await httpLog(collector.url);
  for (let i = 0; i < 3; i++) log.emit("command", { session: "h-1", line: `echo ${i}` });
  log.error("audit index write failed", { reason: "test" });
  await eventually(() => assert.equal(received(collector).length, 4));
  for (const delivery of collector.deliveries) {
    assert.equal(delivery.headers["content-type"], "application/x-ndjson");
    assert.equal(delivery.headers.authorization, AUTHORIZATION);
    assert.ok(delivery.body.endsWith("\n"), "every line ends with a newline");
  }
  assert.deepEqual(received(collector), logLines(file), "the same lines as the file, in order");

  for (let i = 0; i < 1200; i++) log.emit("command", { session: "h-2", line: `seq ${i}` });
  await eventually(() => assert.equal(received(collector).length, 1204));
  const lines = received(collector)
    .slice(4)
    .map((line) => line.line);
  assert.deepEqual(
    lines,
    Array.from({ length: 1200 }, (_, i) => `seq ${i}`),
  );
  const sizes = collector.deliveries.map((delivery) => delivery.body.split("\n").length - 1);
  assert.ok(Math.max(...sizes) <= 500, `batches of ${sizes.join(", ")} lines`);
  await log.close?.();
  const written = readFileSync(file, "utf8");
  assert.ok(!written.includes("log-collector-test-token") && !written.includes("token=abc"));
});

test("failed batches are retried with backoff and delivered once, in order", async () => {
  const statuses = [503, 503];
  const collector = await receiver([...statuses]);
  const { log, file } = await httpLog(collector.url);
  for (let i = 0; i < 5; i++) log.emit("command", { session: "r-1", line: `try ${i}` });
  await eventually(() => assert.ok(received(collector, statuses).length >= 5));
  assert.deepEqual(
    received(collector, statuses)
      .filter((line) => line.event === "command")
      .map((line) => line.line),
    ["try 0", "try 1", "try 2", "try 3", "try 4"],
  );
  assert.ok(collector.deliveries.length >= 3, "two refusals, then the delivery");
  await eventually(() => {
    const warnings = logLines(file).filter((line) => line.sink === "http");
    assert.ok(!JSON.stringify(warnings).includes("token=abc"), "never the URL");
    assert.equal(warnings[0]?.msg, "http forwarding: the collector is unreachable; buffering");
    assert.equal(warnings[0]?.reason, "HTTP 503");
    assert.equal(warnings.at(-1)?.msg, "http forwarding: the collector is reachable again");
  });
});

test("a batch refused for good is dropped and reported; the next one still goes", async () => {
  const statuses = [401];
  const collector = await receiver([...statuses]);
  const { log, file } = await httpLog(collector.url);
  log.emit("command", { session: "d-1", line: "refused" });
  await eventually(() =>
    assert.ok(
      logLines(file).some(
        (line) => line.msg === "http forwarding: the collector refused a batch; dropped it",
      ),
    ),
  );
  const report = logLines(file).find((line) => line.sink === "http");
  assert.equal(report?.reason, "HTTP 401");
  assert.equal(report?.dropped, 1);
  log.emit("command", { session: "d-2", line: "accepted" });
  await eventually(() =>
    assert.ok(received(collector, statuses).some((line) => line.line === "accepted")),
  );
  assert.ok(!received(collector, statuses).some((line) => line.line === "refused"));
});

test("close sends what is waiting without waiting for the interval", async () => {
  const collector = await receiver();
  const { log } = await httpLog(collector.url, 60_000);
  log.emit("server.stop", { reason: "test" });
  await log.close?.();
  assert.equal(received(collector)[0]?.event, "server.stop");
});

test("an unreadable or multi-line authorization file fails start-up with one line", async () => {
  const missing = join(dir, "absent.auth");
  await assert.rejects(httpLog("http://127.0.0.1:9/", 50, missing), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, `logging.http.authorization_file: cannot read ${missing}: ENOENT`);
    return true;
  });
  const twoLines = join(dir, "two-lines.auth");
  writeFileSync(twoLines, "Bearer a\nBearer b\n");
  await assert.rejects(
    httpLog("http://127.0.0.1:9/", 50, twoLines),
    /must hold one non-empty line/,
  );
});
