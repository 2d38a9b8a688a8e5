// Targets trusted by `host_ca` instead of a pinned key: a real sshd presents
// a host certificate made by real `ssh-keygen -s -h`; the bastion accepts it
// only when the configured host CA signed it for the target's address.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { run, startTestBastion, type TestBastion, type UserKey } from "../harness/bastion.js";
import { generateTestKey } from "../harness/keys.js";

/** Signs `hostKeyPublicPath` as a host certificate valid for `principals`. */
function signHostKey(caPath: string, hostKeyPublicPath: string, principals: string): void {
  execFileSync("ssh-keygen", [
    "-q",
    "-s",
    caPath,
    "-h",
    "-I",
    "test-host",
    "-n",
    principals,
    hostKeyPublicPath,
  ]);
}

describe("targets trusted by a host CA", () => {
  let dir: string;
  let bastion: TestBastion;
  let alice: UserKey;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "portcullis-hostca-"));
    const hostCa = generateTestKey(dir, "ed25519", "host_ca");
    const otherCa = generateTestKey(dir, "ed25519", "other_ca");
    const certifiedKey = generateTestKey(dir, "ed25519", "certified_host_key");
    signHostKey(hostCa.privatePath, certifiedKey.publicPath, "127.0.0.1");
    const certificate = certifiedKey.publicPath.replace(/\.pub$/, "-cert.pub");
    bastion = await startTestBastion({
      sshdExtraConfig: [`HostKey ${certifiedKey.privatePath}`, `HostCertificate ${certificate}`],
      extraPolicy: (sshd) => `targets:
  ca-good:
    address: "127.0.0.1:${sshd.port}"
    logins: [${sshd.login}]
    credential: web1-key
    host_ca: "${hostCa.publicLine}"
  ca-other:
    address: "127.0.0.1:${sshd.port}"
    logins: [${sshd.login}]
    credential: web1-key
    host_ca: "${otherCa.publicLine}"
  ca-wrong-name:
    address: "localhost:${sshd.port}"
    logins: [${sshd.login}]
    credential: web1-key
    host_ca: "${hostCa.publicLine}"
access:
  - name: host-ca-tests
    subjects: { groups: [hostca] }
    targets: { names: [ca-good, ca-other, ca-wrong-name] }
    commands: [baseline]
`,
    });
    alice = await bastion.issueUser("alice@example.com", ["hostca"]);
  });
  after(async () => {
    await bastion?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ssh = (target: string) =>
    run("/usr/bin/ssh", bastion.sshArgs(alice, target, "echo via-host-ca"));

  it("connects when the target's host certificate is signed by its host_ca", async () => {
    const result = await ssh("ca-good");
    assert.equal(result.stdout, "via-host-ca\n");
    assert.equal(result.code, 0);
  });

  it("refuses a host certificate signed by another CA", async () => {
    const result = await ssh("ca-other");
    assert.match(
      result.stderr,
      /host key of 127\.0\.0\.1:\d+ is not trusted: host certificate is signed by SHA256:\S+, not by the target's host_ca/,
    );
    assert.equal(result.stdout, "");
    assert.equal(result.code, 255);
    await bastion.waitForAudit(
      (e) => e.event === "upstream.host_key_rejected" && e.target === "ca-other",
    );
  });

  it("refuses a host certificate that does not name the target", async () => {
    const result = await ssh("ca-wrong-name");
    assert.match(
      result.stderr,
      /is not trusted: host certificate is not valid for localhost or ca-wrong-name/,
    );
    assert.equal(result.code, 255);
  });
});
