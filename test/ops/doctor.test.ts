// `portcullis doctor` through the real CLI on setups made by `portcullis
// init`: a clean setup passes; key files open to others, a config that does
// not load, a missing vault entry and a database from a newer Portcullis
// fail with what to fix; targets are checked against real OpenSSH sshds
// (pinned key right and wrong, a host certificate from the target's
// host_ca, a closed port); an identity provider on loopback is fetched and
// its Date header compared with the clock. Disk space and clock skew are
// also judged directly, as statfs and a far-off clock cannot be staged.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import type { CheckResult } from "../../src/doctor/check.js";
import { judgeDiskSpace } from "../../src/doctor/disk.js";
import { type DiscoveryAnswer, judgeClockSkew } from "../../src/doctor/idp.js";
import {
  type InitializedSetup,
  initSetup,
  listenOnLoopback,
  makeTempDir,
  removeDir,
} from "../cli/cli.js";
import { generateTestKey } from "../harness/keys.js";
import { type RunningSshd, startSshd } from "../harness/sshd.js";

const GiB = 1024 ** 3;
const MINUTE = 60_000;

interface Report {
  ok: boolean;
  checks: CheckResult[];
}

async function doctorJson(setup: InitializedSetup, env: NodeJS.ProcessEnv = {}) {
  const result = await setup.cli(["doctor", "--json"], { env });
  return { code: result.code, report: JSON.parse(result.stdout) as Report, stderr: result.stderr };
}

function checkNamed(report: Report, name: string): CheckResult {
  const found = report.checks.find((check) => check.check === name);
  assert.ok(found, `no check ${name} in ${JSON.stringify(report.checks)}`);
  return found;
}

/** A fresh setup whose policy is `policy` (the example policies removed). */
async function setupWith(parent: string, name: string, policy = "targets: {}\n") {
  const setup = await initSetup(join(parent, name));
  writeFileSync(join(setup.dir, "policies", "00-test.yaml"), policy);
  return setup;
}

describe("portcullis doctor on local files", () => {
  let parent: string;
  let setup: InitializedSetup;

  before(async () => {
    parent = makeTempDir("doctor");
    setup = await setupWith(parent, "clean");
  });
  after(() => removeDir(parent));

  it("passes a fresh setup: one line per check, exit 0", async () => {
    const result = await setup.cli(["doctor"]);
    assert.equal(result.code, 0, result.stdout);
    assert.equal(result.stderr, "");
    const lines = result.stdout.trimEnd().split("\n");
    assert.deepEqual(
      lines.map((line) => line.split(":")[0]),
      [
        "ok    config",
        "ok    ssh.host_key",
        "ok    ca.user_key",
        "ok    host CA key",
        "ok    recordings.signing_key",
        "ok    vault master key",
        "warn  vault",
        "ok    policy",
        "ok    database",
        lines.find((line) => / disk space:/.test(line))?.split(":")[0],
        "skip  identity provider",
        "skip  clock",
      ],
    );
    assert.match(result.stdout, /^warn {2}vault: .* is empty: portcullis vault generate NAME/m);
    assert.match(result.stdout, /^ok {4}database: .* does not exist yet; serve creates it$/m);
  });

  it("prints the same checks as one JSON document with --json", async () => {
    const { code, report } = await doctorJson(setup);
    assert.equal(code, 0);
    assert.equal(report.ok, true);
    assert.deepEqual(checkNamed(report, "ca.user_key"), {
      check: "ca.user_key",
      status: "ok",
      detail: `${join(setup.dir, "keys/user_ca")} (mode 0600)`,
    });
  });

  it("fails a private key open to group or others, with the chmod to run", async () => {
    const key = join(setup.dir, "keys/audit_ed25519");
    chmodSync(key, 0o644);
    try {
      const result = await setup.cli(["doctor"]);
      assert.equal(result.code, 1);
      assert.match(
        result.stdout,
        new RegExp(
          `^FAIL  recordings\\.signing_key: ${key} has mode 0644, open to group or others: chmod 600 ${key}$`,
          "m",
        ),
      );
    } finally {
      chmodSync(key, 0o600);
    }
  });

  it("accepts a host CA key kept offline, and a vault master key from $CREDENTIALS_DIRECTORY", async () => {
    const other = await setupWith(parent, "credentials");
    const credentials = join(parent, "credentials-dir");
    mkdirSync(credentials);
    renameSync(join(other.dir, "keys/vault.key"), join(credentials, "vault.key"));
    renameSync(join(other.dir, "keys/host_ca"), join(parent, "host_ca.offline"));
    const { code, report } = await doctorJson(other, { CREDENTIALS_DIRECTORY: credentials });
    assert.equal(code, 0, JSON.stringify(report.checks));
    assert.equal(checkNamed(report, "host CA key").status, "ok");
    assert.match(checkNamed(report, "host CA key").detail, /^not on this host \(kept offline/);
    assert.deepEqual(checkNamed(report, "vault master key"), {
      check: "vault master key",
      status: "ok",
      detail: `${join(credentials, "vault.key")} (systemd credential)`,
    });
  });

  it("fails a target whose credential is not in the vault, as serve would", async () => {
    const other = await setupWith(
      parent,
      "no-credential",
      'targets:\n  web1:\n    address: "127.0.0.1:1"\n    logins: [deploy]\n    credential: web1-deploy\n    host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"\n',
    );
    const { code, report } = await doctorJson(other);
    assert.equal(code, 1);
    assert.equal(checkNamed(report, "policy").status, "fail");
    assert.match(
      checkNamed(report, "policy").detail,
      /targets\.web1\.credential: no vault entry "web1-deploy" .*; serve refuses to start without it$/,
    );
  });

  it("fails a config that does not load, with its problem, and checks nothing else", async () => {
    const broken = join(parent, "broken.yaml");
    writeFileSync(broken, "ssh:\n  listen: nowhere\n");
    const result = await setup.cli(["doctor", "--config", broken]);
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      /^FAIL {2}config: .*broken\.yaml:2:11: ssh\.listen: invalid address "nowhere"/,
    );
    assert.equal(result.stdout.trimEnd().split("\n").length, 1);
  });

  it("reads the database's schema version; a newer one fails, an older one is migrated by serve", async () => {
    const other = await setupWith(parent, "database");
    const path = join(other.dir, "data/portcullis.db");
    const db = new Database(path);
    try {
      db.pragma("user_version = 9999");
      const newer = await doctorJson(other);
      assert.equal(newer.code, 1);
      assert.match(
        checkNamed(newer.report, "database").detail,
        /has schema version 9999, newer than this Portcullis knows \(\d+\): upgrade Portcullis$/,
      );
      db.pragma("user_version = 1");
      const older = checkNamed((await doctorJson(other)).report, "database");
      assert.equal(older.status, "warn");
      assert.match(older.detail, /schema version 1; serve migrates it to \d+ when it starts/);
    } finally {
      db.close();
    }
  });
});

describe("portcullis doctor on targets", () => {
  let parent: string;
  let plain: RunningSshd;
  let certified: RunningSshd;
  let setup: InitializedSetup;
  let closedPort: number;
  let hostCaLine: string;
  let otherKey: string;

  before(async () => {
    parent = makeTempDir("doctor-targets");
    const hostCa = generateTestKey(parent, "ed25519", "host_ca");
    const certifiedKey = generateTestKey(parent, "ed25519", "certified_host_key");
    execFileSync("ssh-keygen", [
      "-q",
      ...["-s", hostCa.privatePath, "-h", "-I", "test-host", "-n", "127.0.0.1"],
      certifiedKey.publicPath,
    ]);
    hostCaLine = hostCa.publicLine;
    plain = await startSshd();
    certified = await startSshd({
      extraConfig: [
        `HostKey ${certifiedKey.privatePath}`,
        `HostCertificate ${certifiedKey.privatePath}-cert.pub`,
      ],
    });
    const closed = await listenOnLoopback();
    await closed.close();
    closedPort = closed.port;
    otherKey = generateTestKey(parent, "ed25519").publicLine;
    const target = (name: string, port: number, trust: string) =>
      `  ${name}:\n    address: "127.0.0.1:${port}"\n    logins: [deploy]\n    credential: k\n    ${trust}\n`;
    setup = await setupWith(
      parent,
      "setup",
      `targets:\n${[
        target("pinned", plain.port, `host_key: "${plain.hostKeyLine}"`),
        target("moved", plain.port, `host_key: "${otherKey}"`),
        target("by-ca", certified.port, `host_ca: "${hostCaLine}"`),
        target("by-other-ca", plain.port, `host_ca: "${hostCaLine}"`),
        target("gone", closedPort, `host_key: "${plain.hostKeyLine}"`),
      ].join("")}`,
    );
    assert.equal((await setup.cli(["vault", "generate", "k"])).code, 0);
  });
  after(async () => {
    await plain?.stop();
    await certified?.stop();
    removeDir(parent);
  });

  it("checks each target's reachability and host key without logging in", async () => {
    const { code, report } = await doctorJson(setup);
    assert.equal(code, 1);
    const fingerprint = (line: string) =>
      execFileSync("ssh-keygen", ["-l", "-f", "-"], { input: line, encoding: "utf8" }).split(
        " ",
      )[1];
    assert.deepEqual(
      report.checks.filter((check) => check.check.startsWith("target ")),
      [
        {
          check: "target pinned",
          status: "ok",
          detail: `127.0.0.1:${plain.port} accepts connections`,
        },
        {
          check: "target pinned host key",
          status: "ok",
          detail: `matches the pinned ${fingerprint(plain.hostKeyLine)}`,
        },
        {
          check: "target moved",
          status: "ok",
          detail: `127.0.0.1:${plain.port} accepts connections`,
        },
        {
          check: "target moved host key",
          status: "fail",
          detail: `presents ${fingerprint(plain.hostKeyLine)}, not the pinned ${fingerprint(otherKey)}: if the change is expected, check it out of band and pin the line from portcullis targets scan moved`,
        },
        {
          check: "target by-ca",
          status: "ok",
          detail: `127.0.0.1:${certified.port} accepts connections`,
        },
        {
          check: "target by-ca host key",
          status: "ok",
          detail: `host certificate signed by its host_ca ${fingerprint(hostCaLine)}`,
        },
        {
          check: "target by-other-ca",
          status: "ok",
          detail: `127.0.0.1:${plain.port} accepts connections`,
        },
        {
          check: "target by-other-ca host key",
          status: "fail",
          detail: "presents no host certificate, but the target is trusted by host_ca",
        },
        {
          check: "target gone",
          status: "fail",
          detail: `cannot connect to 127.0.0.1:${closedPort} (ECONNREFUSED): check the address and firewalls`,
        },
      ],
    );
    const log = readFileSync(plain.logPath, "utf8");
    assert.doesNotMatch(log, /Accepted|Failed (publickey|password|none)/);
  });
});

describe("portcullis doctor and the identity provider", () => {
  let parent: string;
  let server: Server;
  let issuer: string;
  let published: () => string;

  before(async () => {
    parent = makeTempDir("doctor-idp");
    server = createServer((request, response) => {
      if (request.url !== "/.well-known/openid-configuration") {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ issuer: published(), jwks_uri: `${issuer}/jwks` }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server?.close();
    removeDir(parent);
  });

  async function setupWithIssuer(name: string, configuredIssuer: string) {
    const setup = await setupWith(parent, name);
    const config = join(setup.dir, "portcullis.yaml");
    writeFileSync(
      config,
      `${readFileSync(config, "utf8")}oidc:\n  issuer: "${configuredIssuer}"\n  client_id: portcullis\n`,
    );
    return setup;
  }

  it("fetches the discovery document and compares the clock with its Date header", async () => {
    published = () => issuer;
    const { code, report } = await doctorJson(await setupWithIssuer("idp-ok", issuer));
    assert.equal(code, 0, JSON.stringify(report.checks));
    assert.equal(checkNamed(report, `identity provider ${issuer}`).status, "ok");
    assert.match(checkNamed(report, "clock").detail, new RegExp(`^within \\d+s of ${issuer}$`));
  });

  it("fails an issuer whose document names another issuer, and one that does not answer", async () => {
    published = () => `${issuer}/`;
    const mismatch = await doctorJson(await setupWithIssuer("idp-mismatch", issuer));
    assert.equal(mismatch.code, 1);
    assert.match(
      checkNamed(mismatch.report, `identity provider ${issuer}`).detail,
      /names the issuer ".*\/": set the issuer exactly so/,
    );
    const closed = await listenOnLoopback();
    await closed.close();
    const gone = `http://127.0.0.1:${closed.port}`;
    const unreachable = await doctorJson(await setupWithIssuer("idp-gone", gone));
    assert.equal(unreachable.code, 1);
    assert.match(
      checkNamed(unreachable.report, `identity provider ${gone}`).detail,
      /^unreachable \(ECONNREFUSED\): check the URL/,
    );
    assert.equal(checkNamed(unreachable.report, "clock").status, "skip");
  });
});

describe("doctor's judgements", () => {
  const answer = (offsetMs: number): DiscoveryAnswer => ({
    issuer: "https://idp.example.com",
    sentAt: 1_800_000_000_000,
    receivedAt: 1_800_000_000_200,
    date: new Date(1_800_000_000_100 + offsetMs).toUTCString(),
  });

  it("warns when the clock is further from the IdP's than ca.clock_skew, either way", () => {
    assert.equal(judgeClockSkew(answer(0), 2 * MINUTE).status, "ok");
    assert.equal(judgeClockSkew(answer(119_000), 2 * MINUTE).status, "ok");
    const ahead = judgeClockSkew(answer(-5 * MINUTE), 2 * MINUTE);
    assert.equal(ahead.status, "warn");
    assert.match(
      ahead.detail,
      /^about 4m5\ds ahead of https:\/\/idp\.example\.com, more than ca\.clock_skew \(2m00s\)/,
    );
    assert.match(judgeClockSkew(answer(5 * MINUTE), 2 * MINUTE).detail, /behind/);
  });

  it("warns under 1 GiB or 5 % free for recordings, fails under 100 MiB", () => {
    const status = (free: number, total: number) => judgeDiskSpace("/r", { free, total }).status;
    assert.equal(status(50 * GiB, 100 * GiB), "ok");
    assert.equal(status(0.9 * GiB, 100 * GiB), "warn");
    assert.equal(status(4 * GiB, 100 * GiB), "warn");
    assert.equal(status(0.05 * GiB, 100 * GiB), "fail");
    assert.match(
      judgeDiskSpace("/r", { free: 4 * GiB, total: 100 * GiB }).detail,
      /^4\.0 GiB free \(4\.0 %\)/,
    );
  });
});
