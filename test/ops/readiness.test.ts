// Readiness notification: with $NOTIFY_SOCKET pointing at a real AF_UNIX
// datagram socket (python3 listens there, as PID 1 would: it reads each
// datagram and closes any descriptors passed with it), createReadiness()
// delivers READY/RELOADING/STOPPING/STATUS in order through the real
// systemd-notify, and `portcullis serve` reports its whole run: ready once
// listening, reloading and ready again on SIGHUP, stopping on SIGTERM.
// Without $NOTIFY_SOCKET nothing is sent.

import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { createReadiness } from "../../src/serve/readiness.js";
import { CLI, portcullis } from "../harness/bastion.js";
import { eventually } from "../harness/eventually.js";

const LISTENER = `
import array, json, os, socket, sys
address = sys.argv[1]
server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
server.bind("\\0" + address[1:] if address.startswith("@") else address)
print("bound", flush=True)
while True:
    data, ancillary, _flags, _sender = server.recvmsg(4096, socket.CMSG_SPACE(64))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                os.close(fd)
    print(json.dumps(data.decode()), flush=True)
`;

/** The barrier systemd-notify sends after each message to wait until it was read. */
const BARRIER = "BARRIER=1";

interface NotifyListener {
  /** The datagrams received so far, barriers left out. */
  messages(): string[];
  close(): void;
}

async function listenForNotifications(address: string): Promise<NotifyListener> {
  const child: ChildProcessWithoutNullStreams = spawn("python3", ["-c", LISTENER, address]);
  const received: string[] = [];
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`notify listener exited with ${code}`)));
    lines.once("line", () => resolve());
  });
  lines.on("line", (line) => received.push(JSON.parse(line) as string));
  return {
    messages: () => received.filter((message) => message !== BARRIER),
    close: () => child.kill(),
  };
}

const tools = ["python3", "systemd-notify"].filter(
  (tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0,
);
const skip = tools.length > 0 ? `needs ${tools.join(" and ")} (installed by .ci/run)` : false;

describe("readiness notification", { skip }, () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "portcullis-notify-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("sends the lifecycle of a serve run, in order, as separate datagrams", async () => {
    const address = join(dir, "notify");
    const listener = await listenForNotifications(address);
    try {
      const errors: string[] = [];
      const readiness = createReadiness(
        { ...process.env, NOTIFY_SOCKET: address },
        { onError: (message) => errors.push(message) },
      );
      readiness.ready("ssh on 0.0.0.0:2222");
      readiness.reloading();
      readiness.ready();
      readiness.status("2 sessions open");
      readiness.stopping();
      await readiness.settled();

      assert.deepEqual(errors, []);
      const messages = listener.messages();
      assert.equal(messages.length, 5);
      assert.equal(messages[0], "READY=1\nSTATUS=ssh on 0.0.0.0:2222");
      assert.match(messages[1] ?? "", /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
      assert.deepEqual(messages.slice(2), ["READY=1", "STATUS=2 sessions open", "STOPPING=1"]);
    } finally {
      listener.close();
    }
  });

  it("keeps a status to one field: line breaks cannot add READY=1 or anything else", async () => {
    const address = join(dir, "notify-status");
    const listener = await listenForNotifications(address);
    try {
      const readiness = createReadiness({ ...process.env, NOTIFY_SOCKET: address });
      readiness.status("policy reloaded\nREADY=1\r\nSTOPPING=1");
      await readiness.settled();
      assert.deepEqual(listener.messages(), ["STATUS=policy reloaded READY=1 STOPPING=1"]);
    } finally {
      listener.close();
    }
  });

  it("reaches an abstract socket (@name), as systemd may set", async () => {
    const address = `@portcullis-notify-${process.pid}`;
    const listener = await listenForNotifications(address);
    try {
      const readiness = createReadiness({ ...process.env, NOTIFY_SOCKET: address });
      readiness.ready();
      await readiness.settled();
      assert.deepEqual(listener.messages(), ["READY=1"]);
    } finally {
      listener.close();
    }
  });

  it("portcullis serve: ready when listening, reloading on SIGHUP, stopping on SIGTERM", async () => {
    const setup = join(dir, "bastion");
    const init = await portcullis(["init", "--listen", "127.0.0.1:0", setup]);
    assert.equal(init.code, 0, init.stderr);
    for (const file of readdirSync(join(setup, "policies"))) rmSync(join(setup, "policies", file)); // no targets: no vault entries needed
    const address = join(dir, "notify-serve");
    const listener = await listenForNotifications(address);
    const serve = spawn(
      process.execPath,
      [CLI, "serve", "--config", join(setup, "portcullis.yaml")],
      {
        env: { ...process.env, NOTIFY_SOCKET: address },
        stdio: "ignore",
      },
    );
    try {
      await eventually(() => assert.equal(listener.messages().length, 1), 20_000);
      assert.match(listener.messages()[0] ?? "", /^READY=1\nSTATUS=ssh on 127\.0\.0\.1:\d+$/);
      serve.kill("SIGHUP");
      await eventually(() => assert.equal(listener.messages().length, 3));
      assert.match(listener.messages()[1] ?? "", /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
      assert.equal(listener.messages()[2], "READY=1");
      serve.kill("SIGTERM");
      const [code] = await once(serve, "exit");
      assert.equal(code, 0);
      assert.deepEqual(listener.messages().slice(3), ["STOPPING=1"]);
    } finally {
      serve.kill("SIGKILL");
      listener.close();
    }
  });
});

describe("readiness without systemd", () => {
  it("does nothing when $NOTIFY_SOCKET is not set", async () => {
    const errors: string[] = [];
    const readiness = createReadiness(
      { PATH: process.env.PATH },
      { command: join(tmpdir(), "no-such-systemd-notify"), onError: (m) => errors.push(m) },
    );
    readiness.ready("up");
    readiness.stopping();
    await readiness.settled();
    assert.deepEqual(errors, []);
  });

  it("reports in one line when the notification cannot be sent", async () => {
    const errors: string[] = [];
    const readiness = createReadiness(
      { PATH: process.env.PATH, NOTIFY_SOCKET: join(tmpdir(), "portcullis-no-such-socket") },
      { command: join(tmpdir(), "no-such-systemd-notify"), onError: (m) => errors.push(m) },
    );
    readiness.ready();
    await readiness.settled();
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? "", /^cannot notify systemd \(READY\): .*ENOENT/);
    assert.doesNotMatch(errors[0] ?? "", /\n/);
  });
});
