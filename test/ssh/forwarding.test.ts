// Port forwarding through a real bastion to a real sshd with the real ssh
// client: `-W` and `-L` to an allowed destination (a TCP echo server on
// 127.0.0.1) carry data both ways and are audited with bytes; a destination
// outside the allow list, a certificate without permit-port-forwarding, `-R`
// without `remote: allow` and agent forwarding are refused and audited; `-R`
// with `remote: allow` relays the target's connections back; tunnels are
// marked in the session's recording. A half-close from the target's side
// stays a half-close: the reply still comes back (`-R` request/response, a
// `-L` destination that speaks first and then reads).

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { signUserKeyFile } from "../../src/ca/authority.js";
import {
  run,
  sshdTarget,
  startTestBastion,
  type TestBastion,
  type UserKey,
} from "../harness/bastion.js";
import { freePort } from "../harness/sshd.js";

const SSH = "/usr/bin/ssh";
const DAY_MS = 24 * 3600 * 1000;

type AuditEvent = Record<string, unknown>;

/** A TCP server on 127.0.0.1 (an ephemeral port), half-open connections allowed. */
async function listenLocally(
  onConnection: (socket: Socket, server: Server) => void,
): Promise<{ server: Server; port: number }> {
  const server: Server = createServer({ allowHalfOpen: true }, (socket) =>
    onConnection(socket, server),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { server, port: typeof address === "object" && address !== null ? address.port : 0 };
}

/** Collects what the peer sends until it half-closes. */
function readToEnd(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  return once(socket, "end").then(() => Buffer.concat(chunks));
}

const startEcho = () => listenLocally((socket) => socket.pipe(socket));

/** Answers with the request once it is complete (the peer half-closed), as `nc -N` or HTTP/1.0 peers expect. */
const startAnswerAtEnd = () =>
  listenLocally((socket) => {
    readToEnd(socket).then(
      (request) => socket.end(request),
      () => socket.destroy(),
    );
  });

/** Speaks first and half-closes at once; emits `upload` with what the peer then sends until it half-closes. */
const startGreeter = () =>
  listenLocally((socket, server) => {
    socket.end("ready\n");
    readToEnd(socket).then(
      (upload) => server.emit("upload", upload.toString()),
      (error: Error) => server.emit("upload", `(${error.message})`),
    );
  });

/** Sends `data` over a connection, half-closes, and resolves with what came back. */
function exchange(socket: Socket, data: Buffer): Promise<Buffer> {
  const answer = readToEnd(socket);
  socket.end(data);
  return answer;
}

/**
 * Connects to 127.0.0.1:port once something listens there (a forwarding ssh
 * client sets it up); `allowHalfOpen` keeps the socket writable after the
 * peer's EOF.
 */
async function connectWhenListening(
  port: number,
  { allowHalfOpen = false, timeoutMs = 10_000 } = {},
): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port, allowHalfOpen });
        socket.once("connect", () => resolve(socket));
        socket.once("error", reject);
      });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((wake) => setTimeout(wake, 50));
    }
  }
}

/** A long-running ssh client (for `-N -L`, `-N -R`), stopped by its own pid. */
function spawnSsh(args: readonly string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(SSH, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (data) => {
    stderr += data;
  });
  return { child, stderr: () => stderr };
}

function stopSsh(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  return exited;
}

function castFile(dir: string, sessionId: string): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === `${sessionId}.cast`)
      return join(entry.parentPath, entry.name);
  }
  return undefined;
}

function markers(path: string): string[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .slice(1)
    .map((line) => JSON.parse(line) as [number, string, string])
    .filter(([, kind]) => kind === "m")
    .map(([, , label]) => label);
}

describe("port forwarding through the bastion", () => {
  let bastion: TestBastion;
  let echo: { server: Server; port: number };
  let other: { server: Server; port: number };
  let answerAtEnd: { server: Server; port: number };
  let greeter: { server: Server; port: number };
  /** Group `tunnelers`, certificate with permit-port-forwarding. */
  let carol: UserKey;
  /** Group `tunnelers`, certificate without permit-port-forwarding (as `ca sign` issues). */
  let dave: UserKey;

  before(async () => {
    echo = await startEcho();
    other = await startEcho();
    answerAtEnd = await startAnswerAtEnd();
    greeter = await startGreeter();
    bastion = await startTestBastion({
      extraPolicy: (sshd) => `targets:
${sshdTarget("fwd1", sshd)}
${sshdTarget("fwd2", sshd)}
access:
  - name: tunnels
    subjects: { groups: [tunnelers] }
    targets: { names: [fwd1] }
    commands: [baseline]
    forwarding: { allow: ["127.0.0.1:${echo.port}", "127.0.0.1:${greeter.port}"] }
  - name: reverse
    subjects: { groups: [tunnelers] }
    targets: { names: [fwd2] }
    commands: [baseline]
    forwarding: { remote: allow }
`,
    });
    carol = await bastion.issueUser("carol@example.com", ["tunnelers"]);
    signUserKeyFile({
      caKeyPath: join(bastion.dir, "keys", "user_ca"),
      publicKeyPath: carol.publicPath,
      user: "carol@example.com",
      groups: ["tunnelers"],
      ttlMs: DAY_MS,
      now: new Date(),
      permitPortForwarding: true,
    });
    dave = await bastion.issueUser("dave@example.com", ["tunnelers"]);
  });
  after(async () => {
    await bastion?.stop();
    for (const local of [echo, other, answerAtEnd, greeter]) local?.server.close();
  });

  const tunnelEvent = (event: string, fields: AuditEvent) =>
    bastion.waitForAudit(
      (e) => e.event === event && Object.entries(fields).every(([key, value]) => e[key] === value),
    );

  /** Runs `use` while carol's `ssh -N` with `forward` (`-L …` or `-R …`) to `target` is up. */
  const whileForwarding = async (
    target: string,
    forward: readonly string[],
    use: () => Promise<void>,
  ) => {
    const ssh = spawnSsh(
      bastion.sshArgs(carol, target, "-N", "-o", "ExitOnForwardFailure=yes", ...forward),
    );
    try {
      await use();
    } finally {
      await stopSsh(ssh.child);
    }
  };

  it("-W to an allowed destination carries data both ways and audits the bytes", async () => {
    const data = randomBytes(3 * 2 ** 20).toString("base64");
    const result = await run(SSH, bastion.sshArgs(carol, "fwd1", "-W", `127.0.0.1:${echo.port}`), {
      input: data,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.length, data.length);
    assert.ok(result.stdout === data, "the echo differs from what was sent");
    const destination = `127.0.0.1:${echo.port}`;
    const opened = await tunnelEvent("tunnel.open", {
      user: "carol@example.com",
      destination,
      decision: "allow",
    });
    assert.equal(opened.kind, "local");
    assert.equal(opened.target, "fwd1");
    assert.equal(opened.rule, "tunnels");
    assert.equal(opened.matched, destination);
    const closed = await tunnelEvent("tunnel.close", { tunnel: opened.tunnel });
    assert.equal(closed.bytes_to_target, data.length);
    assert.equal(closed.bytes_from_target, data.length);
    assert.equal(typeof closed.duration_ms, "number");
  });

  it("ssh -N -L to an allowed destination works without a session channel", async () => {
    const localPort = await freePort();
    await whileForwarding("fwd1", ["-L", `${localPort}:127.0.0.1:${echo.port}`], async () => {
      const socket = await connectWhenListening(localPort);
      const echoed = await exchange(socket, Buffer.from("through the tunnel\n"));
      assert.equal(echoed.toString(), "through the tunnel\n");
    });
  });

  it("-L to a destination that speaks first and half-closes still gets the client's data", async () => {
    const localPort = await freePort();
    await whileForwarding("fwd1", ["-L", `${localPort}:127.0.0.1:${greeter.port}`], async () => {
      const socket = await connectWhenListening(localPort, { allowHalfOpen: true });
      assert.equal((await readToEnd(socket)).toString(), "ready\n");
      const upload = once(greeter.server, "upload");
      socket.end("upload after the greeting\n");
      assert.deepEqual(await upload, ["upload after the greeting\n"]);
    });
  });

  it("refuses a destination outside the allow list, and audits it", async () => {
    const destination = `127.0.0.1:${other.port}`;
    const result = await run(SSH, bastion.sshArgs(carol, "fwd1", "-W", destination));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /stdio forwarding failed/);
    const refused = await tunnelEvent("tunnel.open", { destination, decision: "deny" });
    assert.equal(
      refused.reason,
      `${destination} is not an allowed forwarding destination of tunnels`,
    );
  });

  it("refuses all forwarding when the certificate lacks permit-port-forwarding", async () => {
    const result = await run(SSH, bastion.sshArgs(dave, "fwd1", "-W", `127.0.0.1:${echo.port}`));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /stdio forwarding failed/);
    const refused = await tunnelEvent("tunnel.open", {
      user: "dave@example.com",
      decision: "deny",
    });
    assert.equal(refused.reason, "the certificate lacks permit-port-forwarding");
  });

  it("refuses -R unless the entry says remote: allow (ExitOnForwardFailure makes ssh fail)", async () => {
    const result = await run(
      SSH,
      bastion.sshArgs(
        carol,
        "fwd1",
        "-N",
        "-o",
        "ExitOnForwardFailure=yes",
        "-R",
        `0:127.0.0.1:${echo.port}`,
      ),
    );
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /remote port forwarding failed/);
    const refused = await tunnelEvent("tunnel.open", {
      user: "carol@example.com",
      target: "fwd1",
      kind: "remote",
      decision: "deny",
    });
    assert.equal(refused.reason, "remote forwarding (-R) is not allowed by tunnels");
  });

  it("-R with remote: allow: the target listens and its connections come back", async () => {
    const remotePort = await freePort();
    await whileForwarding("fwd2", ["-R", `${remotePort}:127.0.0.1:${echo.port}`], async () => {
      await tunnelEvent("tunnel.open", { target: "fwd2", kind: "remote", decision: "allow" });
      // The target's sshd (on this machine) listens on 127.0.0.1:remotePort.
      const socket = await connectWhenListening(remotePort);
      const echoed = await exchange(socket, Buffer.from("reverse\n"));
      assert.equal(echoed.toString(), "reverse\n");
      const closed = await tunnelEvent("tunnel.close", { target: "fwd2", bytes_to_target: 8 });
      assert.equal(closed.bytes_from_target, 8);
    });
  });

  it("-R: a connection that half-closes after its request gets the whole answer", async () => {
    const remotePort = await freePort();
    const request = randomBytes(256 * 1024);
    await whileForwarding(
      "fwd2",
      ["-R", `${remotePort}:127.0.0.1:${answerAtEnd.port}`],
      async () => {
        const socket = await connectWhenListening(remotePort);
        const originator = `127.0.0.1:${socket.localPort}`;
        const answer = await exchange(socket, request);
        assert.equal(answer.length, request.length);
        assert.ok(answer.equals(request), "the answer differs from the request");
        const closed = await tunnelEvent("tunnel.close", { target: "fwd2", originator });
        assert.equal(closed.bytes_from_target, request.length);
        assert.equal(closed.bytes_to_target, request.length);
      },
    );
  });

  it("refuses agent forwarding (-A with a running agent)", async () => {
    const agent = await run("/usr/bin/ssh-agent", ["-s"]);
    const socketPath = /SSH_AUTH_SOCK=([^;]+);/.exec(agent.stdout)?.[1] ?? "";
    const agentPid = Number(/SSH_AGENT_PID=(\d+);/.exec(agent.stdout)?.[1]);
    try {
      const result = await run(
        SSH,
        bastion.sshArgs(carol, "fwd1", "-A", "printenv SSH_AUTH_SOCK || echo no-agent"),
        { env: { SSH_AUTH_SOCK: socketPath } },
      );
      assert.equal(result.stdout, "no-agent\n");
      // Refused on the session channel (session-channel.ts), audited there.
      await tunnelEvent("session.denied", {
        user: "carol@example.com",
        reason: "agent forwarding is not allowed",
      });
    } finally {
      process.kill(agentPid, "SIGTERM");
    }
  });

  it("refuses X11 forwarding (-Y with a DISPLAY)", async () => {
    const result = await run(
      SSH,
      bastion.sshArgs(carol, "fwd1", "-Y", "printenv DISPLAY || echo no-display"),
      { env: { DISPLAY: "127.0.0.1:99" } },
    );
    assert.equal(result.stdout, "no-display\n");
    await tunnelEvent("session.denied", {
      user: "carol@example.com",
      reason: "X11 forwarding is not allowed",
    });
  });

  it("marks opened and refused tunnels in the session's recording", async () => {
    const localPort = await freePort();
    const deniedPort = await freePort();
    const ssh = spawnSsh(
      bastion.sshArgs(
        carol,
        "fwd1",
        "-o",
        "ExitOnForwardFailure=yes",
        "-L",
        `${localPort}:127.0.0.1:${echo.port}`,
        "-L",
        `${deniedPort}:127.0.0.1:${other.port}`,
        "cat",
      ),
    );
    try {
      const started = await bastion.waitForAudit(
        (e) => e.event === "command" && e.user === "carol@example.com" && e.line === "cat",
      );
      const echoed = await exchange(await connectWhenListening(localPort), Buffer.from("marked\n"));
      assert.equal(echoed.toString(), "marked\n");
      const refused = await connectWhenListening(deniedPort);
      await new Promise((closed) => refused.on("error", () => undefined).once("close", closed));
      await tunnelEvent("tunnel.open", { session: started.session, decision: "deny" });
      ssh.child.stdin?.end();
      await tunnelEvent("session.end", { session: started.session });
      const path = castFile(join(bastion.dir, "recordings"), String(started.session));
      assert.ok(path, "no recording for the session");
      assert.deepEqual(
        markers(path).filter((label) => label.includes("tunnel")),
        [
          `allow: tunnel to 127.0.0.1:${echo.port}`,
          `deny: tunnel to 127.0.0.1:${other.port} (127.0.0.1:${other.port} is not an allowed forwarding destination of tunnels)`,
        ],
      );
    } finally {
      await stopSsh(ssh.child);
    }
  });
});
