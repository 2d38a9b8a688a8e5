// Public and private OpenSSH keys from the real ssh-keygen and from ssh2:
// every supported type parses, fingerprints match ssh-keygen -l, weak or
// encrypted keys are refused with messages that hold no key material.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import ssh2 from "ssh2";
import { parsePrivateKey, parsePublicKeyLine, publicKeyFromBlob } from "../../src/openssh/keys.js";
import { SshWriter } from "../../src/openssh/wire.js";
import { generateTestKey, type TestKeyType } from "../harness/keys.js";
import { flipByte, tempDir } from "./fixtures.js";

const dir = tempDir();
const TYPES: ReadonlyArray<[TestKeyType, string]> = [
  ["ed25519", "ssh-ed25519"],
  ["ecdsa", "ecdsa-sha2-nistp256"],
  ["ecdsa384", "ecdsa-sha2-nistp384"],
  ["ecdsa521", "ecdsa-sha2-nistp521"],
  ["rsa", "ssh-rsa"],
];

for (const [keyType, sshType] of TYPES) {
  test(`${keyType}: ssh-keygen key pair parses; fingerprint as ssh-keygen -l`, () => {
    const key = generateTestKey(dir, keyType);
    const publicKey = parsePublicKeyLine(key.publicLine);
    assert.equal(publicKey.type, sshType);
    const listed = execFileSync("ssh-keygen", ["-l", "-f", key.publicPath], { encoding: "utf8" });
    assert.equal(publicKey.fingerprint, listed.split(" ")[1]);
    assert.equal(publicKey.toLine("test"), key.publicLine);
    const privateKey = parsePrivateKey(readFileSync(key.privatePath, "utf8"));
    assert.ok(privateKey.public.blob.equals(publicKey.blob));
    assert.equal(privateKey.comment, "test");
    assert.equal(privateKey.keyObject.type, "private");
  });
}

const SSH2_TYPES = [
  ["ed25519", undefined],
  ["ecdsa", { bits: 384 }],
  ["rsa", { bits: 2048 }],
] as const;

for (const [type, options] of SSH2_TYPES) {
  test(`${type}: ssh2 generateKeyPairSync output parses`, () => {
    const pair =
      options === undefined
        ? ssh2.utils.generateKeyPairSync(type as "ed25519")
        : ssh2.utils.generateKeyPairSync(type as "ecdsa", options as { bits: 384 });
    const privateKey = parsePrivateKey(pair.private);
    assert.ok(privateKey.public.blob.equals(parsePublicKeyLine(pair.public).blob));
  });
}

test("RSA keys under 2048 bits are refused", () => {
  const path = `${dir}/rsa1024`;
  execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", path]);
  const refusal = { code: "ERR_SSH_UNSUPPORTED_KEY", message: /1024 bits is too small/ };
  assert.throws(() => parsePublicKeyLine(readFileSync(`${path}.pub`, "utf8")), refusal);
  assert.throws(() => parsePrivateKey(readFileSync(path, "utf8")), refusal);
});

test("a passphrase-protected key is refused by name", () => {
  const path = `${dir}/encrypted`;
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret pass", "-f", path]);
  assert.throws(() => parsePrivateKey(readFileSync(path, "utf8"), path), {
    code: "ERR_SSH_KEY_ENCRYPTED",
    message: `${path} is passphrase-protected`,
  });
});

test("other private key formats are refused without echoing the key", () => {
  const path = `${dir}/pem`;
  execFileSync("ssh-keygen", ["-q", "-t", "ecdsa", "-m", "PEM", "-N", "", "-f", path]);
  const text = readFileSync(path, "utf8");
  assert.throws(
    () => parsePrivateKey(text, "my key"),
    (error: Error) => {
      assert.match(error.message, /^my key is not an unencrypted OpenSSH private key file$/);
      return true;
    },
  );
});

test("a corrupted private key fails with ERR_SSH_FORMAT and no key material", () => {
  const key = generateTestKey(dir, "ed25519");
  const text = readFileSync(key.privatePath, "utf8");
  const lines = text.trim().split("\n");
  const body = flipByte(Buffer.from(lines.slice(1, -1).join(""), "base64"), -40); // in the private section
  const damaged = [lines[0], body.toString("base64"), lines.at(-1), ""].join("\n");
  assert.throws(
    () => parsePrivateKey(damaged, "damaged"),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "ERR_SSH_FORMAT");
      assert.match(error.message, /^damaged: /);
      assert.doesNotMatch(error.message, /[A-Za-z0-9+/]{16,}/);
      return true;
    },
  );
});

test("public key lines: type must match the blob; junk and trailing bytes are refused", () => {
  const key = parsePublicKeyLine(generateTestKey(dir, "ed25519").publicLine);
  const base64 = key.blob.toString("base64");
  const formatError = { code: "ERR_SSH_FORMAT" };
  assert.throws(() => parsePublicKeyLine(`ssh-rsa ${base64}`), formatError);
  assert.throws(() => parsePublicKeyLine(`ssh-ed25519 ${base64.slice(1)}`), formatError);
  assert.throws(() => parsePublicKeyLine("ssh-ed25519"), formatError);
  assert.throws(() => publicKeyFromBlob(Buffer.concat([key.blob, Buffer.of(0)])), formatError);
  assert.throws(() => publicKeyFromBlob(key.blob.subarray(0, 30)), formatError);
});

test("an ECDSA point not on the curve is refused", () => {
  const key = parsePublicKeyLine(generateTestKey(dir, "ecdsa").publicLine);
  assert.throws(() => publicKeyFromBlob(flipByte(key.blob, -1)), { code: "ERR_SSH_FORMAT" });
});

test("unsupported key types are refused by name", () => {
  const blob = new SshWriter().string("ssh-dss").string(Buffer.alloc(128)).toBuffer();
  assert.throws(() => publicKeyFromBlob(blob), {
    code: "ERR_SSH_UNSUPPORTED_KEY",
    message: 'unsupported key type "ssh-dss"',
  });
});
