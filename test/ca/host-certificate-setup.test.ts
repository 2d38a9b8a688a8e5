// The bastion's own host certificate through the real CLI: what `init`
// writes (host CA, certificate ssh-keygen reads), `ca sign-host` and
// `ca known-hosts`, and `serve` refusing to start, with one line, when the
// certificate does not belong to the host key, the host CA or the names.

import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  hostCaKnownHostsLine,
  issueHostCertificate,
  knownHostsCaLine,
} from "../../src/ca/host-ca.js";
import { loadConfig } from "../../src/config/index.js";
import { parseCertificateLine } from "../../src/openssh/certificate.js";
import { parsePrivateKey, parsePublicKeyLine } from "../../src/openssh/keys.js";
import {
  assertFailure,
  type InitializedSetup,
  initSetup,
  keyOf,
  makeTempDir,
  removeDir,
  runCli,
  sshKeygen,
} from "../cli/cli.js";
import { generateTestKey } from "../harness/keys.js";

const modeOf = (path: string) => statSync(path).mode & 0o777;
const DAY_SECONDS = 86_400n;

describe("bastion host certificate setup", () => {
  let parent: string;
  let setup: InitializedSetup;
  const keys = (file: string) => join(setup.dir, "keys", file);
  const defaultNames = () => [hostname(), "localhost", "127.0.0.1"];

  before(async () => {
    parent = makeTempDir("host-ca");
    setup = await initSetup(join(parent, "setup"));
  });
  after(() => removeDir(parent));

  it("init writes the host CA owner-only and its public key world-readable", () => {
    assert.equal(modeOf(keys("host_ca")), 0o600);
    assert.equal(modeOf(keys("host_ca.pub")), 0o644);
    assert.equal(modeOf(keys("host_ed25519-cert.pub")), 0o644);
    const derived = sshKeygen(["-y", "-f", keys("host_ca")]);
    assert.equal(keyOf(derived), keyOf(readFileSync(keys("host_ca.pub"), "utf8")));
  });

  it("init certifies the host key as a host, for the machine's names, for 365 days", () => {
    const listing = sshKeygen(["-L", "-f", keys("host_ed25519-cert.pub")]);
    assert.match(listing, /Type: ssh-ed25519-cert-v01@openssh\.com host certificate/);
    const fingerprint = (path: string) => sshKeygen(["-l", "-f", path]).split(" ")[1] ?? "none";
    assert.ok(
      listing.includes(`Signing CA: ED25519 ${fingerprint(keys("host_ca.pub"))} `),
      listing,
    );
    const certificate = parseCertificateLine(readFileSync(keys("host_ed25519-cert.pub"), "utf8"));
    assert.equal(certificate.key.toLine(), keyOf(readFileSync(keys("host_ed25519.pub"), "utf8")));
    assert.deepEqual(certificate.principals, defaultNames());
    assert.equal(certificate.validBefore - certificate.validAfter, 365n * DAY_SECONDS + 60n);
    assert.equal(certificate.criticalOptions.size, 0);
    const config = readFileSync(setup.configPath, "utf8");
    assert.match(config, /^ {2}host_names: \[.*"localhost", "127\.0\.0\.1"\]$/m);
  });

  it("ca known-hosts prints the @cert-authority line for the configured names", async () => {
    const result = await setup.cli(["ca", "known-hosts"]);
    const caKey = keyOf(readFileSync(keys("host_ca.pub"), "utf8"));
    const expected = `@cert-authority ${defaultNames().join(",")} ${caKey} portcullis host CA`;
    assert.equal(result.stdout, `${expected}\n`);
    assert.equal(hostCaKnownHostsLine(loadConfig(setup.configPath).config), expected);
  });

  it("hostCaKnownHostsLine is undefined without a host CA public key", () => {
    const { config } = loadConfig(setup.configPath);
    const ssh = { ...config.ssh, host_ca: join(setup.dir, "keys", "missing.pub") };
    assert.equal(hostCaKnownHostsLine({ ssh }), undefined);
  });

  it("ca sign-host re-issues the certificate with other names and validity", async () => {
    const before = readFileSync(keys("host_ed25519-cert.pub"), "utf8");
    const result = await setup.cli([
      "ca",
      "sign-host",
      "--host-name",
      "bastion.example.net",
      "--host-name",
      "127.0.0.1",
      "--ttl",
      "30d",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /valid for bastion\.example\.net, 127\.0\.0\.1 until /);
    const reissued = parseCertificateLine(readFileSync(keys("host_ed25519-cert.pub"), "utf8"));
    assert.deepEqual(reissued.principals, ["bastion.example.net", "127.0.0.1"]);
    assert.equal(reissued.validBefore - reissued.validAfter, 30n * DAY_SECONDS + 60n);
    assert.notEqual(reissued.serial, parseCertificateLine(before).serial);
    const restored = await setup.cli(["ca", "sign-host"]);
    assert.equal(restored.code, 0, restored.stderr);
  });

  it("issues nothing for an empty name list or a wildcard name", () => {
    const caKey = parsePrivateKey(readFileSync(keys("host_ca"), "utf8"));
    const hostKey = parsePublicKeyLine(readFileSync(keys("host_ed25519.pub"), "utf8"));
    const issue = (hostNames: string[]) => () =>
      issueHostCertificate({ caKey, hostKey, hostNames, ttlMs: 60_000, now: new Date() });
    assert.throws(issue([]), { code: "ERR_CA_REQUEST" });
    assert.throws(issue(["*.example.net"]), { code: "ERR_CA_REQUEST" });
    assert.match(issue(["a.example.net"])().toLine(), /^ssh-ed25519-cert-v01@openssh\.com /);
  });

  it("knownHostsCaLine joins the names as one pattern list", () => {
    const caKey = parsePublicKeyLine(readFileSync(keys("host_ca.pub"), "utf8"));
    assert.equal(
      knownHostsCaLine(caKey, ["a.example.net", "10.0.0.1"]),
      `@cert-authority a.example.net,10.0.0.1 ${caKey.toLine()} portcullis host CA`,
    );
  });

  it("refuses a host name with a wildcard in ssh.host_names as a config error", async () => {
    const dir = join(parent, "bad-names");
    mkdirSync(dir);
    const configPath = join(dir, "portcullis.yaml");
    writeFileSync(configPath, 'ssh:\n  host_names: ["*.example.net"]\n');
    const result = await runCli(["--config", configPath, "ca", "known-hosts"]);
    assertFailure(result, {
      code: 2,
      stderr: /:2:\d+: ssh\.host_names\[0\]: expected a host name or address/,
    });
  });

  describe("serve refuses to start with a certificate that does not fit", () => {
    let work: string;
    const certificatePath = () => keys("host_ed25519-cert.pub");
    let good: string;

    before(() => {
      work = makeTempDir("host-ca-keys");
      good = readFileSync(certificatePath(), "utf8");
    });
    after(() => {
      writeFileSync(certificatePath(), good);
      removeDir(work);
    });

    /** Signs `publicPath` with `caPath` via ssh-keygen and installs it as the host certificate. */
    function installSigned(caPath: string, publicPath: string, extra: readonly string[]): void {
      const names = defaultNames().join(",");
      sshKeygen(["-q", "-s", caPath, "-I", "test", "-n", names, ...extra, publicPath]);
      copyFileSync(publicPath.replace(/\.pub$/, "-cert.pub"), certificatePath());
    }

    async function assertServeRefuses(pattern: RegExp): Promise<void> {
      const result = await setup.cli(["serve"]);
      assertFailure(result, { code: 2, stderr: pattern });
    }

    it("a certificate for another key", async () => {
      const other = generateTestKey(work, "ed25519");
      installSigned(keys("host_ca"), other.publicPath, ["-h"]);
      await assertServeRefuses(
        /^portcullis: ssh\.host_certificate: \S+ certifies SHA256:\S+, not ssh\.host_key SHA256:\S+ \(re-issue it with `portcullis ca sign-host`\)\n$/,
      );
    });

    it("a certificate signed by another CA", async () => {
      const otherCa = generateTestKey(work, "ed25519");
      copyFileSync(keys("host_ed25519.pub"), join(work, "host.pub"));
      installSigned(otherCa.privatePath, join(work, "host.pub"), ["-h"]);
      await assertServeRefuses(/ is signed by SHA256:\S+, not by the host CA SHA256:\S+ /);
    });

    it("a user certificate", async () => {
      copyFileSync(keys("host_ed25519.pub"), join(work, "host.pub"));
      installSigned(keys("host_ca"), join(work, "host.pub"), []);
      await assertServeRefuses(/ is a user certificate, not a host certificate\n$/);
    });

    it("an expired certificate", async () => {
      copyFileSync(keys("host_ed25519.pub"), join(work, "host.pub"));
      installSigned(keys("host_ca"), join(work, "host.pub"), ["-h", "-V", "20200101:20200102"]);
      await assertServeRefuses(/ expired at 2020-01-02T\d\d:00:00\.000Z /);
    });

    it("a certificate missing one of ssh.host_names", async () => {
      await setup.cli(["ca", "sign-host", "--host-name", "localhost"]);
      await assertServeRefuses(/ does not name .*127\.0\.0\.1 from ssh\.host_names /);
    });

    it("a certificate that cannot be checked without the host CA public key", async () => {
      writeFileSync(certificatePath(), good);
      const caPublic = keys("host_ca.pub");
      const saved = readFileSync(caPublic);
      rmSync(caPublic);
      try {
        await assertServeRefuses(/ cannot be checked: the host CA public key \S+ .* is missing\n$/);
      } finally {
        writeFileSync(caPublic, saved);
      }
    });

    it("a file that is not a certificate", async () => {
      copyFileSync(keys("host_ed25519.pub"), certificatePath());
      await assertServeRefuses(/^portcullis: ssh\.host_certificate: \S+ is not a certificate: /);
    });
  });
});
