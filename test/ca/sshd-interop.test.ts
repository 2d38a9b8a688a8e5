// Interop with the real OpenSSH: an sshd that trusts our CA
// (TrustedUserCAKeys) lets `ssh -i key` in with the key-cert.pub we wrote,
// and refuses the same key without a certificate.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { signUserKeyFile } from "../../src/ca/authority.js";
import { parseCertificateLine } from "../../src/openssh/certificate.js";
import { generateTestKey, type TestKey } from "../harness/keys.js";
import { type RunningSshd, startSshd } from "../harness/sshd.js";
import { tempDir } from "../openssh/fixtures.js";

const run = promisify(execFile);
const dir = tempDir();
let sshd: RunningSshd;
let ca: TestKey;
let knownHosts: string;

before(async () => {
  ca = generateTestKey(dir, "ed25519", "user_ca");
  sshd = await startSshd({ trustedUserCaKeys: [ca.publicLine] });
  knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
});

after(async () => {
  await sshd?.stop();
});

async function sshEcho(
  identity: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [
    ...["-F", "/dev/null", "-i", identity, "-p", String(sshd.port)],
    ...["-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes"],
    ...["-o", `UserKnownHostsFile=${knownHosts}`, "-o", "BatchMode=yes"],
    `${sshd.login}@127.0.0.1`,
    "echo ok",
  ];
  try {
    const { stdout, stderr } = await run("ssh", args, { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

for (const keyType of ["ed25519", "ecdsa", "rsa"] as const) {
  test(`sshd accepts ssh -i KEY with our KEY-cert.pub (${keyType} user key)`, async () => {
    const key = generateTestKey(dir, keyType, `id_${keyType}`);
    const certPath = signUserKeyFile({
      caKeyPath: ca.privatePath,
      publicKeyPath: key.publicPath,
      user: sshd.login,
      groups: ["ops"],
      ttlMs: 600_000,
      now: new Date(),
    });
    const result = await sshEcho(key.privatePath);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "ok\n");
    const serial = parseCertificateLine(readFileSync(certPath, "utf8")).serial;
    assert.match(
      readFileSync(sshd.logPath, "utf8"),
      new RegExp(`Accepted publickey for ${sshd.login} .*-CERT .*\\(serial ${serial}\\)`),
    );
  });
}

test("sshd refuses the same kind of key without a certificate", async () => {
  const key = generateTestKey(dir, "ed25519", "id_certified");
  signUserKeyFile({
    caKeyPath: ca.privatePath,
    publicKeyPath: key.publicPath,
    user: sshd.login,
    groups: [],
    ttlMs: 600_000,
    now: new Date(),
  });
  const bare = join(dir, "id_bare");
  copyFileSync(key.privatePath, bare);
  chmodSync(bare, 0o600);
  const result = await sshEcho(bare);
  assert.equal(result.code, 255);
  assert.match(result.stderr, /Permission denied \(publickey\)/);
});

test("sshd refuses a certificate for another principal", async () => {
  const key = generateTestKey(dir, "ed25519", "id_other");
  signUserKeyFile({
    caKeyPath: ca.privatePath,
    publicKeyPath: key.publicPath,
    user: `not-${sshd.login}`,
    groups: [],
    ttlMs: 600_000,
    now: new Date(),
  });
  const result = await sshEcho(key.privatePath);
  assert.equal(result.code, 255);
});
