// `portcullis serve` (a child process) configured to forward its audit log
// to a syslog and an HTTP collector: server.start reaches the syslog
// collector while it runs, and on SIGTERM the shutdown path hands
// server.stop to both before the process exits (the HTTP interval is a
// minute, so only the close path can have sent it).

import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestBastion } from "../harness/bastion.js";
import { receiver } from "../harness/webhook-receiver.js";
import { startSyslogReceiver } from "./logs-receivers.js";

test("serve forwards to syslog and HTTP, and delivers server.stop on SIGTERM", async () => {
  const syslog = await startSyslogReceiver();
  const http = await receiver();
  const bastion = await startTestBastion({
    configEdit: (yaml) =>
      `${yaml.trimEnd()}\n${[
        "  syslog:",
        `    address: 127.0.0.1:${syslog.port}`,
        "    facility: local0",
        "  http:",
        `    url: ${http.url}`,
        "    flush_interval: 1m",
      ].join("\n")}\n`,
  });
  const started = await syslog.waitFor((message) => message.msgId === "server.start");
  assert.equal(started.pri, 16 * 8 + 6);
  assert.equal(started.appName, "portcullis");
  assert.equal(started.procId, String(bastion.serverPid));
  assert.equal(http.deliveries.length, 0, "nothing before the interval or a full batch");

  const stopping = Date.now();
  assert.equal(await bastion.stop("SIGTERM"), 0);
  assert.ok(Date.now() - stopping < 3000, "nothing waits for a timeout");
  assert.ok(syslog.messages.some((message) => message.msgId === "server.stop"));
  const events = http.deliveries
    .flatMap((delivery) => delivery.body.split("\n").filter(Boolean))
    .map((line) => (JSON.parse(line) as { event?: string }).event);
  assert.ok(events.includes("server.start") && events.includes("server.stop"), String(events));
});
