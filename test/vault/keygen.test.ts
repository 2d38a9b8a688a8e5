// Tests for src/ssh/keygen.ts: generated pairs agree with OpenSSH's own view
// of them, and inspectPrivateKey refuses what is not a usable private key.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { generateKeyPair, inspectPrivateKey, KEY_TYPES } from "../../src/ssh/keygen.js";

const dir = mkdtempSync(join(tmpdir(), "portcullis-keygen-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function sshKeygen(name: string, args: string[]): string {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-f", path, "-C", "test@example", ...args]);
  return path;
}

function publicKeyFromOpenSsh(privateKeyPath: string): string {
  return execFileSync("ssh-keygen", ["-y", "-f", privateKeyPath], { encoding: "utf8" }).trim();
}

describe("generateKeyPair", () => {
  const expectedPrefix = {
    ed25519: "ssh-ed25519 ",
    ecdsa: "ecdsa-sha2-nistp256 ",
    rsa: "ssh-rsa ",
  };
  for (const type of KEY_TYPES) {
    test(`${type}: OpenSSH derives the same public key line`, () => {
      const pair = generateKeyPair(type, "web1-deploy");
      assert.ok(pair.privateKey.startsWith(`-----BEGIN ${"OPENSSH PRIVATE"} KEY-----\n`));
      assert.ok(pair.publicKey.startsWith(expectedPrefix[type]));
      assert.ok(pair.publicKey.endsWith(" web1-deploy"));
      const path = join(dir, `generated-${type}`);
      writeFileSync(path, pair.privateKey, { mode: 0o600 });
      assert.equal(publicKeyFromOpenSsh(path), pair.publicKey);
      assert.equal(inspectPrivateKey(pair.privateKey).publicKey, pair.publicKey);
    });
  }

  test("rsa keys have 3072 bits", () => {
    const path = join(dir, "generated-rsa-bits");
    writeFileSync(path, generateKeyPair("rsa").privateKey, { mode: 0o600 });
    const fingerprint = execFileSync("ssh-keygen", ["-l", "-f", path], { encoding: "utf8" });
    assert.match(fingerprint, /^3072 /);
  });

  test("regression: ssh2 dropped leading zero bytes of ed25519 public keys (1 key in 256; patched)", () => {
    // 1500 keys meet such a key with probability 1 - (255/256)^1500 > 99.7 %.
    for (let i = 0; i < 1500; i++) {
      const pair = generateKeyPair("ed25519");
      assert.equal(inspectPrivateKey(pair.privateKey).publicKey, pair.publicKey);
      assert.equal(Buffer.from(pair.publicKey.split(" ")[1] ?? "", "base64").length, 51);
    }
  });

  test("without a comment the public line is type and key only", () => {
    assert.match(generateKeyPair("ed25519").publicKey, /^ssh-ed25519 [A-Za-z0-9+/]+=*$/);
  });
});

describe("inspectPrivateKey", () => {
  test("accepts keys written by ssh-keygen, OpenSSH and PEM formats", () => {
    for (const [name, args] of [
      ["openssh-ecdsa", ["-t", "ecdsa", "-b", "384", "-N", ""]],
      ["pem-rsa", ["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""]],
    ] as const) {
      const path = sshKeygen(name, [...args]);
      const info = inspectPrivateKey(readFileSync(path));
      assert.equal(info.publicKey.split(" ").slice(0, 2).join(" "), readPublicKeyFile(path));
    }
  });

  test("a passphrase-protected key: decrypt it first", () => {
    const path = sshKeygen("encrypted", ["-t", "ed25519", "-N", "secret passphrase"]);
    assert.throws(() => inspectPrivateKey(readFileSync(path, "utf8")), {
      code: "ERR_KEY_ENCRYPTED",
      message: "private key is passphrase-protected; decrypt it first with ssh-keygen -p",
    });
  });

  test("a public key instead of a private key", () => {
    const path = sshKeygen("public-only", ["-t", "ed25519", "-N", ""]);
    assert.throws(() => inspectPrivateKey(readFileSync(`${path}.pub`)), {
      code: "ERR_KEY_PUBLIC",
      message: "a public key was given where a private key is needed",
    });
  });

  test("text that is not a key, or a damaged key", () => {
    const damaged = generateKeyPair("ed25519").privateKey.replace(/\n[A-Za-z0-9+/]{20}/, "\n");
    for (const text of ["hello", "", damaged]) {
      assert.throws(() => inspectPrivateKey(text), { code: "ERR_KEY_INVALID" });
    }
  });

  test("RSA keys shorter than 2048 bits are refused", () => {
    const path = sshKeygen("short-rsa", ["-t", "rsa", "-b", "1024", "-N", ""]);
    assert.throws(() => inspectPrivateKey(readFileSync(path)), { code: "ERR_KEY_UNSUPPORTED" });
  });
});

function readPublicKeyFile(privateKeyPath: string): string {
  return readFileSync(`${privateKeyPath}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
}
