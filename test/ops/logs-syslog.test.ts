// Syslog forwarding (src/audit/destinations-syslog.ts) to real receivers on
// 127.0.0.1, over TCP and over TLS with a certificate made now: every line
// arrives as one RFC 6587 octet-counted RFC 5424 frame with the right PRI,
// version, timestamp, host, app name, pid, event and the JSON line as MSG
// (long, multi-line and non-ASCII values included); an untrusted collector
// is refused without harm; when the collector goes away the lines wait and
// are delivered once it is back; a full buffer drops the oldest lines and
// says how many; close delivers what is left, and resolves even when the
// connection fails while it waits.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { SyslogOptions } from "../../src/audit/destinations-syslog.js";
import { eventually } from "../harness/eventually.js";
import {
  FAST,
  forwardingLog,
  logLines,
  type SyslogMessage,
  selfSignedCertificate,
  startSyslogReceiver,
  testDir,
} from "./logs-receivers.js";

const dir = testDir("logs-syslog");
/** local3 = 19: PRI = 19 * 8 + severity. */
const LOCAL3 = 19 * 8;

/** An audit log forwarding to the syslog receiver on `port` over TCP (unless `syslog` says otherwise). */
function syslogLog(port: number, syslog: Partial<SyslogOptions> = {}, tuning = FAST) {
  const options: SyslogOptions = {
    address: { host: "127.0.0.1", port },
    tls: false,
    app_name: "portcullis-test",
    facility: "local3",
    ...syslog,
  };
  return forwardingLog(dir, { syslog: options }, tuning);
}

const bySession = (session: string) => (message: SyslogMessage) => message.json.session === session;

test("each line is one octet-counted RFC 5424 message with the JSON line as MSG (TCP)", async () => {
  const receiver = await startSyslogReceiver();
  const { log, file } = await syslogLog(receiver.port);
  const long = "x".repeat(100_000);
  log.emit("session.start", { session: "s-1", user: "alice", target: "web1" });
  log.emit("command", {
    session: "s-2",
    line: "printf 'a\\nb'\necho héllo ✓ 𝄞",
    decision: "allow",
  });
  log.emit("command", { session: "s-3", line: long, decision: "deny" });
  log.error("audit index write failed", { session: "s-4", reason: "disk full" });

  const lines = logLines(file);
  for (const session of ["s-1", "s-2", "s-3", "s-4"]) {
    const message = await receiver.waitFor(bySession(session));
    const line = lines.find((candidate) => candidate.session === session);
    assert.deepEqual(message.json, line, "MSG is the audit file's JSON line");
    assert.equal(message.version, 1);
    assert.equal(message.timestamp, line?.time, "TIMESTAMP is the line's own time");
    assert.match(message.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(message.hostname, hostname());
    assert.equal(message.appName, "portcullis-test");
    assert.equal(message.procId, String(process.pid));
    assert.equal(message.structuredData, "-");
  }
  const start = await receiver.waitFor(bySession("s-1"));
  assert.equal(start.pri, LOCAL3 + 6, "info → severity 6");
  assert.equal(start.msgId, "session.start", "MSGID is the event's name");
  const failure = await receiver.waitFor(bySession("s-4"));
  assert.equal(failure.pri, LOCAL3 + 3, "error → severity 3");
  assert.equal(failure.msgId, "-", "operational lines have no MSGID");
  assert.equal((await receiver.waitFor(bySession("s-3"))).json.line, long);
  assert.ok((await receiver.waitFor(bySession("s-3"))).length > 100_000);
  assert.equal(
    (await receiver.waitFor(bySession("s-2"))).json.line,
    "printf 'a\\nb'\necho héllo ✓ 𝄞",
  );
  assert.deepEqual(receiver.errors, []);
});

test("over TLS the collector's certificate is checked against tls.ca; an untrusted one gets nothing", async () => {
  const certDir = mkdtempSync(join(dir, "tls-"));
  const { cert, key, certPath } = selfSignedCertificate(certDir);
  const receiver = await startSyslogReceiver({ cert, key });
  const trusted = await syslogLog(receiver.port, {
    tls: { ca: certPath },
    facility: "authpriv",
  });
  trusted.log.emit("auth.success", { session: "tls-1", user: "alice" });
  const message = await receiver.waitFor(bySession("tls-1"));
  assert.equal(message.pri, 10 * 8 + 6, "authpriv.info");
  assert.equal(message.msgId, "auth.success");

  // tls: true trusts only the system's CAs: the self-signed collector is refused
  const untrusted = await syslogLog(receiver.port, { tls: true });
  untrusted.log.emit("auth.success", { session: "tls-2", user: "mallory" });
  await eventually(() => {
    const warning = logLines(untrusted.file).find((line) => line.sink === "syslog");
    assert.equal(warning?.level, "warn");
    assert.equal(warning?.msg, "syslog forwarding: the collector is unreachable; buffering");
    assert.match(String(warning?.reason), /SELF_SIGNED|CERT|certificate/i);
  });
  untrusted.log.emit("auth.success", { session: "tls-3", user: "alice" });
  assert.ok(
    logLines(untrusted.file).some((line) => line.session === "tls-3"),
    "the file still gets every line",
  );
  assert.ok(
    !receiver.messages.some((m) => m.json.session === "tls-2" || m.json.session === "tls-3"),
  );
});

test("when the collector goes away the lines wait, and are delivered once it is back", async () => {
  const receiver = await startSyslogReceiver();
  const { log, file } = await syslogLog(receiver.port);
  log.emit("session.start", { session: "before" });
  await receiver.waitFor(bySession("before"));

  await receiver.stop();
  await eventually(() =>
    assert.ok(
      logLines(file).some(
        (line) => line.msg === "syslog forwarding: the collector is unreachable; buffering",
      ),
    ),
  );
  for (let i = 0; i < 20; i++) log.emit("command", { session: `while-down-${i}`, line: "ls" });
  await new Promise((wait) => setTimeout(wait, 300)); // a few failed reconnects
  await receiver.start();

  for (let i = 0; i < 20; i++) await receiver.waitFor(bySession(`while-down-${i}`));
  const order = receiver.messages
    .map((message) => String(message.json.session))
    .filter((session) => session.startsWith("while-down-"));
  assert.deepEqual(
    order,
    Array.from({ length: 20 }, (_, i) => `while-down-${i}`),
    "in order, once each",
  );
  await eventually(() => {
    const back = logLines(file).find(
      (line) => line.msg === "syslog forwarding: the collector is reachable again",
    );
    assert.equal(back?.dropped, 0);
  });
  log.emit("session.end", { session: "after" });
  await receiver.waitFor(bySession("after"));
});

test("a full buffer drops the oldest lines and says how many", async () => {
  const receiver = await startSyslogReceiver();
  await receiver.stop(); // the collector is down from the start
  const { log, file } = await syslogLog(receiver.port, {}, { ...FAST, bufferBytes: 4000 });
  for (let i = 0; i < 100; i++) log.emit("command", { session: `burst-${i}`, line: "true" });
  await eventually(() =>
    assert.ok(
      logLines(file).some(
        (line) => line.msg === "syslog forwarding: buffer full, dropped the oldest lines",
      ),
    ),
  );
  await receiver.start();
  await receiver.waitFor(bySession("burst-99"));
  const delivered = receiver.messages
    .map((message) => String(message.json.session))
    .filter((session) => session.startsWith("burst-"))
    .map((session) => Number(session.slice("burst-".length)));
  assert.ok(delivered.length > 0 && delivered.length < 100, `${delivered.length} delivered`);
  const first = delivered[0] as number;
  assert.deepEqual(
    delivered,
    Array.from({ length: 100 - first }, (_, i) => first + i),
    "the newest, in order",
  );
  await log.close?.(); // reports drops not reported yet (the last report itself may push one out)
  const reported = logLines(file)
    .filter((line) => line.sink === "syslog")
    .reduce((sum, line) => sum + Number(line.dropped ?? 0) + Number(line.undelivered ?? 0), 0);
  assert.ok(reported >= first, `${reported} reported dropped, ${first} audit lines missing`);
});

test("close delivers what is buffered; with the collector gone it gives up in time and says so", async () => {
  const receiver = await startSyslogReceiver();
  const { log } = await syslogLog(receiver.port);
  for (let i = 0; i < 500; i++) log.emit("command", { session: `closing-${i}`, line: "true" });
  await log.close?.();
  assert.ok(receiver.messages.some(bySession("closing-499")), "delivered before close resolved");

  await receiver.stop();
  const gone = await syslogLog(receiver.port, {}, { ...FAST, closeTimeoutMs: 500 });
  gone.log.emit("server.stop", { reason: "test" });
  const started = Date.now();
  await gone.log.close?.();
  assert.ok(Date.now() - started < 2000);
  const report = logLines(gone.file).find(
    (line) => line.msg === "log forwarding: lines not delivered at shutdown",
  );
  assert.equal(report?.sink, "syslog");
  assert.ok(Number(report?.undelivered) >= 1);
});

test("close resolves when the connection fails while close waits for it (a reset mid-handshake)", async () => {
  // accepts TCP but never speaks TLS, and resets the connection while close() waits for its end
  const accepted: Socket[] = [];
  const silent = createServer((socket) => {
    accepted.push(socket);
    socket.on("error", () => {});
    setTimeout(() => socket.resetAndDestroy(), 150);
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  after(() => silent.close());
  const port = (silent.address() as { port: number }).port;
  const { log } = await syslogLog(port, { tls: true });
  await eventually(() => assert.equal(accepted.length, 1));
  await log.close?.(); // rejected with ECONNRESET before
});
