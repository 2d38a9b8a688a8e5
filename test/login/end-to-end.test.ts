// `portcullis login` end to end, as a person uses it: the real command on a
// pseudo-terminal against a real `portcullis serve` (http + oidc) and a real
// OIDC issuer; the test approves the device code over HTTP (or plays the
// browser for --browser); then the real OpenSSH client, given only `-F` with
// the ssh config login wrote, reaches a real sshd through the bastion and
// the session is recorded.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DemoIdentityProvider } from "../../src/idp/index.js";
import { bastionTrust } from "../../src/login/bastion-trust.js";
import type { ServerDiscovery } from "../../src/login/server-api.js";
import { portcullis, run, startTestBastion, type TestBastion } from "../harness/bastion.js";
import { approveDeviceCode } from "../harness/oidc.js";
import { ALICE, startPeopleIdp } from "../oidc/fixtures.js";
import { TestBrowser } from "./browser.js";
import {
  devicePrompt,
  loginEnvironment,
  makeTestHome,
  openedUrls,
  startLogin,
  type TestHome,
} from "./helpers.js";

const SSH = "/usr/bin/ssh";

function withLogin(issuer: string) {
  return (yaml: string) =>
    `${yaml}http:\n  listen: "127.0.0.1:0"\noidc:\n  issuer: "${issuer}"\n  client_id: portcullis\n`;
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

function castFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".cast"))
    .map((name) => join(dir, name));
}

describe("portcullis login", () => {
  let idp: DemoIdentityProvider;
  let bastion: TestBastion;
  let server: string;
  const homes: TestHome[] = [];

  before(async () => {
    idp = await startPeopleIdp();
    bastion = await startTestBastion({ configEdit: withLogin(idp.issuer) });
    const started = await bastion.waitForAudit((e) => e.event === "server.start");
    server = `http://${String(started.http_listen)}`;
  });
  after(async () => {
    await bastion?.stop();
    await idp?.close();
    for (const home of homes) home.remove();
  });

  function newHome(): TestHome {
    const home = makeTestHome();
    homes.push(home);
    return home;
  }

  async function deviceLogin(home: TestHome, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
    const pty = startLogin(home, ["--server", server, ...args], env);
    try {
      const { uri, code } = await devicePrompt(pty);
      await approveDeviceCode(uri, code, ALICE.username, ALICE.password);
      const exit = await pty.exit(30_000);
      assert.equal(exit.exitCode, 0, pty.output);
      return pty.output;
    } finally {
      pty.kill();
    }
  }

  function sshThroughBastion(home: TestHome, user: string, command: string) {
    return run(SSH, ["-F", home.sshConfig, `${user}@127.0.0.1`, command], {
      env: loginEnvironment(home),
    });
  }

  describe("device flow", () => {
    const home = makeTestHome();
    homes.push(home);
    const key = join(home.dir, ".ssh", "portcullis", "127.0.0.1");

    it("prints the URL and code, opens the browser, and installs key, certificate and ssh config", async () => {
      const output = await deviceLogin(home);
      assert.match(output, /To sign in, open http:\/\/127\.0\.0\.1:\d+\/device\r?\n/);
      assert.match(output, /Waiting for you to sign in \(\d+m\d+s left\)/);
      assert.match(
        output,
        new RegExp(`Logged in to ${server} as alice@example\\.com \\(groups: ops, dba\\)`),
      );
      assert.match(output, /Connect with: ssh TARGET@127\.0\.0\.1/);
      const [opened] = await openedUrls(home);
      assert.match(opened ?? "", /\/device\?user_code=/);

      assert.equal(mode(join(home.dir, ".ssh", "portcullis")), 0o700);
      assert.equal(mode(key), 0o600);
      assert.match(readFileSync(`${key}-cert.pub`, "utf8"), /^ssh-ed25519-cert-v01@openssh\.com /);
      const userConfig = readFileSync(home.sshConfig, "utf8");
      assert.match(
        userConfig,
        /^# Added by portcullis login.*\nInclude ".*\/\.ssh\/portcullis\/config"\n/,
      );
      const block = readFileSync(`${key}.conf`, "utf8");
      assert.match(block, new RegExp(`Port ${bastion.port}\\n`));
      const knownHosts = readFileSync(`${key}.known_hosts`, "utf8");
      assert.match(
        knownHosts,
        new RegExp(`^@cert-authority \\[127\\.0\\.0\\.1\\]:${bastion.port} ssh-ed25519 `),
      );
    });

    it("lets the real OpenSSH client reach a target through the bastion with only -F, and the session is recorded", async () => {
      const result = await sshThroughBastion(
        home,
        "web1",
        "echo login-e2e-$((6*7)) from $(whoami)",
      );
      assert.equal(result.stdout, `login-e2e-42 from ${bastion.sshd.login}\n`, result.stderr);
      assert.equal(result.code, 0);
      const success = await bastion.waitForAudit(
        (e) => e.event === "auth.success" && e.user === ALICE.email,
      );
      assert.deepEqual(success.groups, ["ops", "dba"]);
      await bastion.waitForAudit((e) => e.event === "session.end" && e.user === ALICE.email);
      const recordings = join(bastion.dir, "recordings");
      const deadline = Date.now() + 10_000;
      let recorded = false;
      while (!recorded && Date.now() < deadline) {
        recorded = castFiles(recordings).some((file) =>
          readFileSync(file, "utf8").includes("login-e2e-42"),
        );
        if (!recorded) await new Promise((wake) => setTimeout(wake, 50));
      }
      assert.ok(recorded, "no recording holds the session's output");
    });

    it("--status shows identity, groups, principals and remaining validity", async () => {
      const status = await portcullis(["login", "--status"], { env: loginEnvironment(home) });
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /^identity: +alice@example\.com$/m);
      assert.match(status.stdout, /^groups: +ops, dba$/m);
      assert.match(status.stdout, /^principals: +alice@example\.com$/m);
      assert.match(status.stdout, /^valid: +until \S+Z \((7h5\d|8h00)m left\)$/m);
      assert.match(status.stdout, new RegExp(`^server: +${server}$`, "m"));
    });

    it("a second login reuses the key, replaces the certificate and loads both into the ssh-agent", async () => {
      const publicBefore = readFileSync(`${key}.pub`, "utf8");
      const certBefore = readFileSync(`${key}-cert.pub`, "utf8");
      const configBefore = readFileSync(home.sshConfig, "utf8");
      const agent = await startAgent(home);
      try {
        // No --server: the last server is remembered.
        const pty = startLogin(home, [], { SSH_AUTH_SOCK: agent.socket });
        const { uri, code } = await devicePrompt(pty);
        await approveDeviceCode(uri, code, ALICE.username, ALICE.password);
        assert.equal((await pty.exit(30_000)).exitCode, 0, pty.output);
        assert.match(pty.output, /ssh-agent: +loaded for (7h5\d|8h00)m/);
        assert.doesNotMatch(pty.output, /\(new\)/);
        const listed = execFileSync("ssh-add", ["-l"], {
          env: { ...process.env, SSH_AUTH_SOCK: agent.socket },
        });
        assert.match(listed.toString(), /ED25519-CERT/);
      } finally {
        agent.stop();
      }
      assert.equal(readFileSync(`${key}.pub`, "utf8"), publicBefore);
      assert.notEqual(readFileSync(`${key}-cert.pub`, "utf8"), certBefore);
      assert.equal(
        readFileSync(home.sshConfig, "utf8"),
        configBefore,
        "the Include line is added once",
      );
      const result = await sshThroughBastion(home, "web1", "echo again");
      assert.equal(result.stdout, "again\n", result.stderr);
    });
  });

  it("--browser: authorization code + PKCE on a loopback redirect, the test acting as the browser", async () => {
    const home = newHome();
    const pty = startLogin(home, ["--server", server, "--browser"]);
    try {
      await pty.expect(/To sign in, open this URL in a browser on this machine:/);
      const [url = ""] = await openedUrls(home);
      const authorize = new URL(url);
      assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
      assert.match(
        authorize.searchParams.get("redirect_uri") ?? "",
        /^http:\/\/127\.0\.0\.1:\d+\/callback$/,
      );
      assert.ok(authorize.searchParams.get("state") && authorize.searchParams.get("nonce"));
      const page = await new TestBrowser().signIn(url, ALICE.username, ALICE.password);
      assert.match(page.url, /^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
      assert.equal(page.status, 200);
      assert.match(page.body, /You can close this tab/);
      assert.equal((await pty.exit(30_000)).exitCode, 0, pty.output);
    } finally {
      pty.kill();
    }
    assert.match(pty.output, /as alice@example\.com \(groups: ops, dba\)/);
    const result = await sshThroughBastion(home, "db1", "echo via-browser-login");
    assert.equal(result.stdout, "via-browser-login\n", result.stderr);
  });

  it("--no-config writes the key and certificate but no ssh config, and prints the block instead", async () => {
    const home = newHome();
    const output = await deviceLogin(home, ["--no-config"]);
    const dir = join(home.dir, ".ssh", "portcullis");
    assert.ok(existsSync(join(dir, "127.0.0.1-cert.pub")));
    assert.ok(!existsSync(home.sshConfig));
    assert.ok(!existsSync(join(dir, "config")));
    assert.ok(!existsSync(join(dir, "127.0.0.1.conf")));
    assert.ok(!existsSync(join(dir, "127.0.0.1.known_hosts")));
    assert.match(output, /Add this to your ssh config:\r?\n(?:#.*\r?\n)*Host 127\.0\.0\.1\r?\n/);
    assert.match(output, /@cert-authority \[127\.0\.0\.1\]:\d+ ssh-ed25519 /);
  });

  it("without a host CA, login pins the host key the server publishes", async () => {
    const published = (await (
      await fetch(`${server}/.well-known/portcullis`)
    ).json()) as ServerDiscovery;
    const trust = bastionTrust({ ...published, host_ca: null });
    const hostKey = readFileSync(join(bastion.dir, "keys", "host_ed25519.pub"), "utf8").split(" ");
    assert.equal(trust.kind, "pinned-host-key");
    assert.equal(trust.knownHosts, `[127.0.0.1]:${bastion.port} ${hostKey[0]} ${hostKey[1]}\n`);
  });

  it("--status without a login exits 1 and says so", async () => {
    const home = newHome();
    const status = await portcullis(["login", "--status", "--server", server], {
      env: loginEnvironment(home),
    });
    assert.equal(status.code, 1);
    assert.equal(status.stderr, `portcullis: not logged in to ${server}: run portcullis login\n`);
  });
});

/** A private ssh-agent (`-d`: it prints its socket once it listens). */
async function startAgent(home: TestHome): Promise<{ socket: string; stop(): void }> {
  const socket = join(home.dir, "agent.sock");
  const agent = spawn("ssh-agent", ["-d", "-a", socket], { stdio: ["ignore", "pipe", "ignore"] });
  await new Promise<void>((resolve, reject) => {
    agent.stdout.on("data", (data: Buffer) => {
      if (data.toString().includes("SSH_AUTH_SOCK")) resolve();
    });
    agent.once("exit", (code) => reject(new Error(`ssh-agent exited with ${code}`)));
  });
  return { socket, stop: () => agent.kill() };
}
