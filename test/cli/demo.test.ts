// `portcullis demo --port 0 --http-port 0` as a user runs it, using only what
// it prints: the demo users sign in at the embedded OIDC issuer (device flow,
// driven like a browser), get a certificate from the demo's login server,
// and the real OpenSSH client — trusting the bastion only through the host CA
// line the server publishes — reaches the demo target, where each user's
// group decides what runs. Also: the ready-made certificate (one command and
// an interactive shell), a wrong password, the audit log, Ctrl-C, busy ports.

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DiscoveryDocument } from "../../src/http/index.js";
import { isolatedSshOptions, run } from "../harness/bastion.js";
import { generateTestKey } from "../harness/keys.js";
import {
  approveDeviceCode,
  authorizationCodeTokens,
  deviceFlowTokens,
  redeemDeviceCode,
  startDeviceAuthorization,
} from "../harness/oidc.js";
import { PtyDriver } from "../harness/pty.js";
import { devicePrompt, loginEnvironment, makeTestHome } from "../login/helpers.js";
import {
  CLI,
  CliProcess,
  type LoopbackServer,
  listenOnLoopback,
  makeTempDir,
  removeDir,
} from "./cli.js";

const STOP_TIMEOUT_MS = 15_000;
const CLIENT_ID = "portcullis";
const BANNER_END = /^Press Ctrl-C to stop/m;

interface PrintedUser {
  username: string;
  password: string;
  group: string;
}

/** Everything a user reads off the demo's banner. */
interface Banner {
  sshPort: number;
  dir: string;
  issuer: string;
  loginLine: string;
  loginServer: string;
  sshLine: string[];
  readySshLine: string[];
  recordingsLine: string;
  auditFile: string;
  users: Map<string, PrintedUser>;
}

function captured(text: string, pattern: RegExp): string {
  const value = pattern.exec(text)?.[1];
  assert.ok(value !== undefined, `${pattern} not in the banner:\n${text}`);
  return value;
}

function parseBanner(text: string): Banner {
  const users = new Map<string, PrintedUser>();
  for (const [, username = "", password = "", group = ""] of text.matchAll(
    /^ {2}(alice|audrey|bob) +(\S+) +(\S+) +\S/gm,
  )) {
    users.set(username, { username, password, group });
  }
  const loginLine = captured(text, /^ {2}(\S+ .*\blogin --server .+)$/m);
  return {
    sshPort: Number(captured(text, /bastion on 127\.0\.0\.1:(\d+)/)),
    dir: captured(text, /files in (\S+)\)\./),
    issuer: captured(text, /Identity provider: (\S+)$/m),
    loginLine,
    loginServer: captured(loginLine, /--server (\S+)$/),
    sshLine: captured(text, /^ {2}(ssh -p .+)$/m).split(" "),
    readySshLine: captured(text, /^ {2}(ssh -i .+)$/m).split(" "),
    recordingsLine: captured(text, /^Recordings: +(.+)$/m),
    auditFile: captured(text, /^Audit log: +(\S+)$/m),
    users,
  };
}

function passwordOf(banner: Banner, username: string): string {
  const user = banner.users.get(username);
  assert.ok(user, `${username} is not in the banner`);
  return user.password;
}

function readAudit(file: string): Record<string, unknown>[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("portcullis demo", () => {
  let tmp: string;
  let demo: CliProcess;
  let banner: Banner;
  let discovery: DiscoveryDocument;
  let knownHosts: string;

  before(async () => {
    tmp = makeTempDir("demo");
    demo = new CliProcess(["demo", "--port", "0", "--http-port", "0"], {
      cwd: tmp,
      env: { TMPDIR: tmp },
    });
    await demo.waitFor("stdout", BANNER_END);
    banner = parseBanner(demo.stdout);
    const response = await fetch(`${banner.loginServer}/.well-known/portcullis`);
    discovery = (await response.json()) as DiscoveryDocument;
    knownHosts = join(tmp, "known_hosts");
    writeFileSync(knownHosts, `${discovery.host_ca}\n`);
  });
  after(() => {
    demo?.stop();
    removeDir(tmp);
  });

  /** What `portcullis login` does for the user: sign in, send a fresh key, keep the certificate. */
  async function signedInKey(username: string, tokens = deviceFlowTokens) {
    const { id_token } = await tokens(banner.issuer, {
      clientId: discovery.client_id,
      username,
      password: passwordOf(banner, username),
    });
    const key = generateTestKey(tmp, "ed25519");
    const response = await fetch(`${banner.loginServer}/v1/certs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: id_token, public_key: key.publicLine }),
    });
    const body = (await response.json()) as { certificate: string; groups: string[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    writeFileSync(`${key.privatePath}-cert.pub`, `${body.certificate}\n`);
    return { privatePath: key.privatePath, groups: body.groups };
  }

  /** The printed ssh line, with the key and the host CA line `login` would have installed. */
  function sshAfterLogin(privatePath: string, command: string) {
    const [ssh = "ssh", ...args] = banner.sshLine;
    return run(ssh, [...isolatedSshOptions(privatePath, knownHosts), ...args, command]);
  }

  it("prints the demo users with their groups and this run's passwords", () => {
    assert.deepEqual(
      [...banner.users.values()].map(({ username, group }) => [username, group]),
      [
        ["alice", "ops"],
        ["audrey", "auditors"],
        ["bob", "approvers"],
      ],
    );
    const passwords = [...banner.users.values()].map((user) => user.password);
    assert.equal(new Set(passwords).size, 3);
    for (const password of passwords) assert.match(password, /^[A-Za-z0-9_-]{12}$/);
  });

  it("prints the login line for its login server and the ssh line for its bastion", () => {
    assert.equal(banner.loginLine, `node ${CLI} login --server ${banner.loginServer}`);
    assert.match(banner.loginServer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(banner.sshLine, ["ssh", "-p", String(banner.sshPort), "demo@127.0.0.1"]);
    assert.ok(banner.dir.startsWith(`${tmp}/portcullis-demo-`), banner.dir);
    assert.ok(existsSync(banner.dir));
  });

  it("serves the issuer's discovery document and its own /.well-known/portcullis", async () => {
    const openid = (await (
      await fetch(`${banner.issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    assert.equal(openid.issuer, banner.issuer);
    assert.equal(typeof openid.device_authorization_endpoint, "string");
    assert.deepEqual(
      { issuer: discovery.issuer, client_id: discovery.client_id, ssh: discovery.ssh },
      {
        issuer: banner.issuer,
        client_id: CLIENT_ID,
        ssh: { host: "127.0.0.1", port: banner.sshPort },
      },
    );
    assert.match(discovery.host_ca ?? "", /^@cert-authority 127\.0\.0\.1,localhost ssh-ed25519 /);
  });

  it("alice signs in (device flow), gets a certificate and reaches the demo target", async () => {
    const alice = await signedInKey("alice");
    assert.deepEqual(alice.groups, ["ops"]);
    const result = await sshAfterLogin(alice.privatePath, "echo demo-$((6*7)); exit 5");
    assert.equal(result.stdout, "demo-42\n", result.stderr);
    assert.equal(result.code, 5);
  });

  it("a new user follows the printed steps: the printed login line, then the printed ssh line, recorded", async () => {
    const home = makeTestHome();
    try {
      const [program = "", ...loginArgs] = banner.loginLine.split(" ");
      const login = new PtyDriver(program, loginArgs, { cols: 200, env: loginEnvironment(home) });
      try {
        const { uri, code } = await devicePrompt(login);
        await approveDeviceCode(uri, code, "alice", passwordOf(banner, "alice"));
        assert.equal((await login.exit(30_000)).exitCode, 0, login.output);
      } finally {
        login.kill();
      }
      // ssh reads ~/.ssh/config from the password database, not $HOME: -F names the test's.
      const [ssh = "ssh", ...args] = banner.sshLine;
      const result = await run(ssh, ["-F", home.sshConfig, ...args, "echo followed-$((3*4))"], {
        env: loginEnvironment(home),
      });
      assert.equal(result.stdout, "followed-12\n", result.stderr);
      const [node = "node", ...listArgs] = banner.recordingsLine.split(" ");
      const deadline = Date.now() + 10_000;
      let listed = "";
      while (!/alice@example\.com/.test(listed) && Date.now() < deadline) {
        listed = (await run(node, [...listArgs, "--text", "followed-"])).stdout;
        await new Promise((wake) => setTimeout(wake, 100));
      }
      assert.match(listed, /alice@example\.com/);
    } finally {
      home.remove();
    }
  });

  it("audrey (auditors) signs in with code + PKCE; her group gets read-only commands", async () => {
    const audrey = await signedInKey("audrey", authorizationCodeTokens);
    assert.deepEqual(audrey.groups, ["auditors"]);
    const looked = await sshAfterLogin(audrey.privatePath, "ls -d /");
    assert.equal(looked.stdout, "/\n", looked.stderr);
    const touched = await sshAfterLogin(audrey.privatePath, "touch /tmp/audrey-was-here");
    assert.equal(touched.code, 126);
    assert.match(touched.stderr, /^portcullis: blocked: .*\(rule default:read-only\)$/m);
  });

  it("bob (approvers) runs what alice's change rules would hold", async () => {
    const bob = await signedInKey("bob");
    assert.deepEqual(bob.groups, ["approvers"]);
    const check = (line: string, user: string, group: string) =>
      run(process.execPath, [
        CLI,
        "--config",
        join(banner.dir, "portcullis.yaml"),
        "policy",
        "check",
        "--json",
        "--user",
        user,
        "--groups",
        group,
        "--target",
        "demo",
        "--",
        line,
      ]);
    const decision = async (user: string, group: string) =>
      (
        JSON.parse((await check("systemctl restart nginx", user, group)).stdout) as {
          command: { decision: string };
        }
      ).command.decision;
    assert.equal(await decision("alice@example.com", "ops"), "approve");
    assert.equal(await decision("bob@example.com", "approvers"), "allow");
  });

  it("refuses a wrong password: the device code stays unapproved", async () => {
    const device = await startDeviceAuthorization(banner.issuer, CLIENT_ID);
    await assert.rejects(
      approveDeviceCode(device.verification_uri, device.user_code, "alice", "not-the-password"),
      /answered 401/,
    );
    const token = await redeemDeviceCode(banner.issuer, CLIENT_ID, device.device_code);
    assert.equal(((await token.json()) as { error: string }).error, "authorization_pending");
  });

  it("runs one command with the ready-made certificate's ssh line", async () => {
    const [ssh = "ssh", ...args] = banner.readySshLine;
    const result = await run(ssh, [...args, "-o", "BatchMode=yes", "echo ready-$((1+1))"]);
    assert.equal(result.stdout, "ready-2\n", result.stderr);
    assert.equal(result.code, 0);
  });

  it("opens an interactive shell where each line is checked", async () => {
    const [ssh = "ssh", ...args] = banner.readySshLine;
    const session = new PtyDriver(ssh, args);
    try {
      session.type("echo hi$((1+1))\r");
      await session.expect(/\bhi2\b/);
      session.type("rm -r /\r");
      await session.expect("portcullis: blocked: recursive delete of / (rule baseline#1)");
      session.type("exit\r");
      assert.equal((await session.exit()).exitCode, 0);
    } finally {
      session.kill();
    }
  });

  it("audits the certificates, sessions and refused commands of the signed-in users", () => {
    const events = readAudit(banner.auditFile);
    const issued = events.filter((e) => e.event === "cert.issued").map((e) => e.user);
    // alice twice: by the test's own sign-in, then by the printed login line.
    assert.deepEqual(issued, [
      "alice@example.com",
      "alice@example.com",
      "audrey@example.com",
      "bob@example.com",
    ]);
    const sessions = events.filter((e) => e.event === "session.start" && e.target === "demo");
    // audrey's refused command never started a session on the target.
    assert.deepEqual(
      sessions.map((e) => e.user),
      [
        "alice@example.com",
        "alice@example.com",
        "audrey@example.com",
        "alice@example.com",
        "alice@example.com",
      ],
    );
    const refused = events.find(
      (e) => e.event === "command" && e.line === "touch /tmp/audrey-was-here",
    );
    assert.deepEqual([refused?.decision, refused?.rule], ["deny", "default:read-only"]);
  });

  it("lists the recorded sessions with the printed recordings line", async () => {
    const [node = "node", ...args] = banner.recordingsLine.split(" ");
    const result = await run(node === "node" ? process.execPath : node, args);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /audrey@example\.com/);
    assert.match(result.stdout, /alice@example\.com/);
  });

  it("stops on SIGINT with status 0 and removes its directory", async () => {
    demo.child.kill("SIGINT");
    const result = await demo.result(STOP_TIMEOUT_MS);
    assert.equal(result.signal, null);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(existsSync(banner.dir), false);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });
});

describe("portcullis demo on ports in use", () => {
  let tmp: string;
  let sshBlocker: LoopbackServer;
  let httpBlocker: LoopbackServer;
  let demo: CliProcess | undefined;

  before(async () => {
    tmp = makeTempDir("demo-busy");
    sshBlocker = await listenOnLoopback();
    httpBlocker = await listenOnLoopback();
  });
  after(async () => {
    demo?.stop();
    await sshBlocker?.close();
    await httpBlocker?.close();
    removeDir(tmp);
  });

  it("falls back to free ports, prints them and still stops on SIGINT", async () => {
    const busy = [sshBlocker.port, httpBlocker.port].map(String);
    demo = new CliProcess(["demo", "--port", busy[0] ?? "", "--http-port", busy[1] ?? ""], {
      cwd: tmp,
      env: { TMPDIR: tmp },
    });
    await demo.waitFor("stdout", BANNER_END);
    const banner = parseBanner(demo.stdout);
    assert.notEqual(String(banner.sshPort), busy[0]);
    assert.notEqual(new URL(banner.loginServer).port, busy[1]);
    const response = await fetch(`${banner.loginServer}/.well-known/portcullis`);
    assert.equal(((await response.json()) as DiscoveryDocument).ssh.port, banner.sshPort);
    demo.child.kill("SIGINT");
    assert.equal((await demo.result(STOP_TIMEOUT_MS)).code, 0);
  });
});
