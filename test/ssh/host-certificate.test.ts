// The bastion presents an OpenSSH host certificate signed by its host CA:
// the real ssh client with only the `@cert-authority` line and strict host
// key checking connects with no prompt; without the line, with a certificate
// for another name, or when the certificate is gone, it refuses. The plain
// host key stays offered for clients that pinned it.

import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { run, startTestBastion, type TestBastion, type UserKey } from "../harness/bastion.js";

const SSH = "/usr/bin/ssh";

describe("the bastion's host certificate", () => {
  let bastion: TestBastion;
  let alice: UserKey;
  const knownHosts = () => join(bastion.dir, "known_hosts_ca");

  before(async () => {
    bastion = await startTestBastion();
    alice = await bastion.issueUser("alice@example.com", ["ops"]);
  });
  after(async () => {
    await bastion?.stop();
  });

  /** ssh to web1 through the bastion, trusting only what `knownHostsPath` holds. */
  const sshWith = (knownHostsPath: string, ...extra: string[]) =>
    run(SSH, [
      ...extra,
      ...bastion
        .sshArgs(alice, "web1", "echo through")
        .map((arg) =>
          arg.startsWith("UserKnownHostsFile=") ? `UserKnownHostsFile=${knownHostsPath}` : arg,
        ),
    ]);

  const hostCaLine = async () => {
    const result = await bastion.cli(["ca", "known-hosts"]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };

  it("is trusted by a client holding only the @cert-authority line", async () => {
    writeFileSync(knownHosts(), await hostCaLine());
    const result = await sshWith(knownHosts(), "-v");
    assert.equal(result.stdout, "through\n", result.stderr);
    assert.equal(result.code, 0);
    assert.match(result.stderr, /kex: host key algorithm: ssh-ed25519-cert-v01@openssh\.com/);
    assert.match(result.stderr, /matches the ED25519-CERT host certificate/);
  });

  it("is refused by a client without the @cert-authority line", async () => {
    writeFileSync(knownHosts(), "");
    const result = await sshWith(knownHosts());
    assert.equal(result.code, 255);
    assert.match(result.stderr, /Host key verification failed/);
    assert.equal(result.stdout, "");
  });

  it("is refused when the line names another host CA", async () => {
    const other = readFileSync(join(bastion.dir, "keys", "user_ca.pub"), "utf8");
    writeFileSync(knownHosts(), `@cert-authority 127.0.0.1 ${other}`);
    const result = await sshWith(knownHosts());
    assert.equal(result.code, 255);
    assert.match(result.stderr, /Host key verification failed/);
  });

  it("still lets clients that pinned the plain host key in", async () => {
    const result = await sshWith(bastion.knownHostsPath, "-v");
    assert.equal(result.stdout, "through\n", result.stderr);
    assert.match(result.stderr, /matches the ED25519 host key/);
  });

  it("still offers the plain host key to clients that do not accept certificates", async () => {
    const result = await sshWith(
      bastion.knownHostsPath,
      "-v",
      "-o",
      "HostKeyAlgorithms=ssh-ed25519",
    );
    assert.equal(result.stdout, "through\n", result.stderr);
    assert.match(result.stderr, /kex: host key algorithm: ssh-ed25519\r?\n/);
  });

  it("is refused by the client when it does not name the host connected to", async () => {
    const config = readFileSync(bastion.configPath, "utf8");
    const renamed = config.replace(/^ {2}host_names: .*$/m, "  host_names: [bastion.example.net]");
    assert.notEqual(renamed, config);
    writeFileSync(bastion.configPath, renamed);
    const signed = await bastion.cli(["ca", "sign-host"]);
    assert.equal(signed.code, 0, signed.stderr);
    await bastion.restart();

    const caKey = readFileSync(join(bastion.dir, "keys", "host_ca.pub"), "utf8");
    writeFileSync(knownHosts(), `@cert-authority 127.0.0.1,bastion.example.net ${caKey}`);
    const result = await sshWith(knownHosts());
    assert.equal(result.code, 255);
    assert.match(result.stderr, /Certificate invalid: name is not a listed principal/);
    assert.match(result.stderr, /Host key verification failed/);
  });

  it("serves the plain key only, and says so, when the certificate file is missing", async () => {
    rmSync(join(bastion.dir, "keys", "host_ed25519-cert.pub"));
    await bastion.restart();
    await bastion.waitForAudit(
      (event) => event.msg === "no host certificate: serving the plain host key only",
    );
    writeFileSync(knownHosts(), await hostCaLine());
    const refused = await sshWith(knownHosts());
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /Host key verification failed/);
    const pinned = await sshWith(bastion.knownHostsPath);
    assert.equal(pinned.stdout, "through\n", pinned.stderr);
  });
});
