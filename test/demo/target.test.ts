// Tests for src/demo/target.ts with the real OpenSSH client: exec, stderr,
// stdin, exit status, refused keys, an interactive pty session; and with an
// ssh2 client whose agent signs with junk (must be refused) and signals.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ParsedKey } from "ssh2";
import ssh2 from "ssh2";
import { type DemoTarget, startDemoTarget } from "../../src/demo/target.js";
import { generateKeyPair, type KeyPair } from "../../src/ssh/keygen.js";
import { isolatedSshOptions } from "../harness/bastion.js";
import { SigningAgent } from "../harness/certs.js";
import { PtyDriver } from "../harness/pty.js";

const dir = realpathSync(mkdtempSync(join(tmpdir(), "portcullis-demo-target-")));
const home = join(dir, "home");
const clientKey = generateKeyPair("ed25519", "demo-client");
const clientKeyPath = writeKey("client", clientKey);
const knownHosts = join(dir, "known_hosts");
let target: DemoTarget;

before(async () => {
  mkdirSync(home);
  process.env.PORTCULLIS_VAULT_KEY = "must-not-reach-the-shell";
  target = await startDemoTarget({
    hostKey: generateKeyPair("ed25519").privateKey,
    authorizedKey: clientKey.publicKey,
    home,
  });
  writeFileSync(knownHosts, `[127.0.0.1]:${target.port} ${target.hostKeyLine}\n`);
});

after(async () => {
  await target.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeKey(name: string, pair: KeyPair): string {
  const path = join(dir, name);
  writeFileSync(path, pair.privateKey, { mode: 0o600 });
  return path;
}

function sshArgs(keyPath: string): string[] {
  return [...isolatedSshOptions(keyPath, knownHosts), "-p", String(target.port), "demo@127.0.0.1"];
}

interface SshResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ssh … command` asynchronously: the server lives in this same process. */
function ssh(
  command: string,
  { input = "", keyPath = clientKeyPath, options = [] as string[] } = {},
): Promise<SshResult> {
  const child = spawn("ssh", [...options, ...sshArgs(keyPath), command]);
  const result = { status: null as number | null, stdout: "", stderr: "" };
  child.stdout.on("data", (chunk: Buffer) => {
    result.stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    result.stderr += chunk.toString();
  });
  child.stdin.end(input);
  return new Promise((resolve) => {
    child.on("close", (status) => resolve({ ...result, status }));
  });
}

describe("exec with the OpenSSH client", () => {
  test("output and exit status", async () => {
    const result = await ssh("echo hello; exit 3");
    assert.deepEqual(result, { status: 3, stdout: "hello\n", stderr: "" });
  });

  test("stderr arrives separately", async () => {
    const result = await ssh("echo out; echo err >&2");
    assert.deepEqual(result, { status: 0, stdout: "out\n", stderr: "err\n" });
  });

  test("stdin is piped through and its end reaches the command", async () => {
    const input = "line one\nline two\n".repeat(2000);
    const result = await ssh("cat", { input });
    assert.equal(result.status, 0);
    assert.equal(result.stdout, input);
  });

  test("runs in the demo home with a clean environment", async () => {
    const result = await ssh('pwd; echo "$HOME"; printenv PORTCULLIS_VAULT_KEY || echo "[unset]"');
    assert.equal(result.stdout, `${home}\n${home}\n[unset]\n`);
  });

  test("exec with a forced pty runs on a terminal and keeps the exit status", async () => {
    const result = await ssh("tty; exit 4", { options: ["-tt"] });
    assert.equal(result.status, 4);
    assert.match(result.stdout, /^\/dev\/pts\/\d+\r\n$/);
  });

  test("a key that is not the authorized one is refused", async () => {
    const wrongKeyPath = writeKey("wrong", generateKeyPair("ed25519"));
    const result = await ssh("echo should-not-run", { keyPath: wrongKeyPath });
    assert.equal(result.status, 255);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /Permission denied \(publickey\)/);
  });

  test("an unknown host key is refused by the client (the pin is the target's key)", async () => {
    writeFileSync(
      join(dir, "other_known_hosts"),
      `[127.0.0.1]:${target.port} ${generateKeyPair("ed25519").publicKey}\n`,
    );
    const args = sshArgs(clientKeyPath).map((arg) =>
      arg === `UserKnownHostsFile=${knownHosts}`
        ? `UserKnownHostsFile=${join(dir, "other_known_hosts")}`
        : arg,
    );
    const child = spawn("ssh", [...args, "true"], { stdio: "ignore" });
    const status = await new Promise((resolve) => child.on("close", resolve));
    assert.equal(status, 255);
  });
});

describe("interactive session through a pty", () => {
  test("typing, terminal size, resize, TERM and exit", async () => {
    const driver = new PtyDriver("ssh", ["-tt", ...sshArgs(clientKeyPath)], {
      cols: 100,
      rows: 30,
    });
    try {
      driver.type("echo hi$((1+1))\r");
      await driver.expect("hi2");
      let from = driver.output.length;
      driver.type("stty size; echo $TERM\r");
      await driver.expect(/30 100\r?\nxterm-256color/, 15_000, from);
      driver.resize(120, 40);
      // The window change travels asynchronously: ask again until it has arrived, like a person.
      for (let attempt = 0; attempt < 20; attempt++) {
        from = driver.output.length;
        driver.type(`stty size; echo size-$((${attempt}+1000))\r`);
        await driver.expect(`size-${attempt + 1000}`, 15_000, from);
        if (/40 120/.test(driver.output.slice(from))) break;
      }
      assert.match(driver.output.slice(from), /40 120/);
      driver.type("exit\r");
      assert.deepEqual(await driver.exit(), { exitCode: 0 });
    } finally {
      driver.kill();
    }
  });
});

describe("signatures and signals with an ssh2 client", () => {
  function connect(agent: SigningAgent): Promise<ssh2.Client> {
    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      client.on("ready", () => resolve(client)).on("error", reject);
      client.connect({
        host: "127.0.0.1",
        port: target.port,
        username: "demo",
        agent,
        hostVerifier: (key: Buffer) => target.hostKeyLine.endsWith(key.toString("base64")),
      });
    });
  }

  const privateKey = () => ssh2.utils.parseKey(clientKey.privateKey) as ParsedKey;

  test("a junk signature from the right key is refused", async () => {
    const junk = new SigningAgent(privateKey(), () => Buffer.alloc(64, 7));
    await assert.rejects(connect(junk), /All configured authentication methods failed/);
  });

  test("a real signature is accepted (control for the junk case)", async () => {
    const key = privateKey();
    const client = await connect(new SigningAgent(key, (data) => key.sign(data)));
    client.end();
  });

  test("a signal from the client ends the command; its exit signal comes back", async () => {
    const key = privateKey();
    const client = await connect(new SigningAgent(key, (data) => key.sign(data)));
    try {
      const exit = await new Promise<unknown[]>((resolve, reject) => {
        client.exec("echo started; exec sleep 30", (error, channel) => {
          if (error) return reject(error);
          channel.on("data", () => channel.signal("INT"));
          channel.on("exit", (...args: unknown[]) => resolve(args));
        });
      });
      assert.deepEqual(exit.slice(0, 2), [null, "SIGINT"]);
    } finally {
      client.end();
    }
  });
});
