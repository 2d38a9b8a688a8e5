// SSH signature blobs: our signatures verify for every key type, signatures
// made by the real `ssh-keygen -Y sign` verify with our verifier, and bad,
// mismatched or SHA-1 signatures are false (never an exception).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, sign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { signSsh, verifySshSignature } from "../../src/openssh/signature.js";
import { SshReader, SshWriter } from "../../src/openssh/wire.js";
import type { TestKeyType } from "../harness/keys.js";
import { flipByte, loadedTestKey, tempDir } from "./fixtures.js";

const dir = tempDir();
const TYPES: readonly TestKeyType[] = ["ed25519", "ecdsa", "ecdsa384", "ecdsa521", "rsa"];
const data = Buffer.from("session data to sign");

function algorithmOf(signature: Buffer): string {
  return new SshReader(signature).utf8String();
}

/** Signs `message` with `ssh-keygen -Y sign`; returns the SSH signature blob and the data it covers. */
function keygenSignature(privatePath: string, message: Buffer) {
  const messagePath = `${privatePath}.msg`;
  writeFileSync(messagePath, message);
  execFileSync("ssh-keygen", ["-q", "-Y", "sign", "-f", privatePath, "-n", "test", messagePath]);
  const armored = readFileSync(`${messagePath}.sig`, "utf8").split("\n").slice(1, -2).join("");
  const reader = new SshReader(Buffer.from(armored, "base64").subarray(6)); // after "SSHSIG"
  reader.uint32();
  reader.string();
  const namespace = reader.string();
  reader.string();
  const hash = reader.utf8String();
  const signature = reader.string();
  const signedData = new SshWriter()
    .raw(Buffer.from("SSHSIG"))
    .string(namespace)
    .string(Buffer.alloc(0))
    .string(hash)
    .string(createHash(hash).update(message).digest())
    .toBuffer();
  return { signature, signedData };
}

for (const type of TYPES) {
  test(`${type}: signSsh output verifies; other data and flipped bytes do not`, () => {
    const key = loadedTestKey(dir, type);
    const signature = signSsh(key.privateKey, data);
    assert.equal(verifySshSignature(key.publicKey, signature, data), true);
    assert.equal(verifySshSignature(key.publicKey, signature, Buffer.from("other")), false);
    assert.equal(verifySshSignature(key.publicKey, flipByte(signature, -1), data), false);
    assert.equal(verifySshSignature(key.publicKey, signature.subarray(0, 20), data), false);
    const other = loadedTestKey(dir, type);
    assert.equal(verifySshSignature(other.publicKey, signature, data), false);
  });

  test(`${type}: ssh-keygen -Y sign signatures verify`, () => {
    const key = loadedTestKey(dir, type);
    const { signature, signedData } = keygenSignature(key.privatePath, Buffer.from("hello"));
    assert.equal(verifySshSignature(key.publicKey, signature, signedData), true);
    assert.equal(verifySshSignature(key.publicKey, signature, flipByte(signedData, -1)), false);
  });
}

test("signing algorithms: ed25519, ecdsa-sha2-nistpN, rsa-sha2-512", () => {
  const names = ["ed25519", "ecdsa", "ecdsa384", "ecdsa521", "rsa"].map((type) =>
    algorithmOf(signSsh(loadedTestKey(dir, type as TestKeyType).privateKey, data)),
  );
  assert.deepEqual(names, [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
  ]);
});

test("RSA: rsa-sha2-256 verifies, SHA-1 ssh-rsa is refused, expectedAlgorithm is enforced", () => {
  const key = loadedTestKey(dir, "rsa");
  const raw256 = sign("sha256", data, key.privateKey.keyObject);
  const raw1 = sign("sha1", data, key.privateKey.keyObject);
  const blob = (name: string, raw: Buffer) => new SshWriter().string(name).string(raw).toBuffer();
  assert.equal(verifySshSignature(key.publicKey, blob("rsa-sha2-256", raw256), data), true);
  assert.equal(verifySshSignature(key.publicKey, blob("ssh-rsa", raw1), data), false);
  assert.equal(
    verifySshSignature(key.publicKey, blob("rsa-sha2-256", raw256), data, "rsa-sha2-512"),
    false,
  );
  const sha512 = signSsh(key.privateKey, data);
  assert.equal(verifySshSignature(key.publicKey, sha512, data, "rsa-sha2-512"), true);
});

test("an algorithm that does not fit the key type is false", () => {
  const ed = loadedTestKey(dir, "ed25519");
  const ecdsa = loadedTestKey(dir, "ecdsa");
  const edSignature = signSsh(ed.privateKey, data);
  const reader = new SshReader(edSignature);
  reader.string();
  const relabelled = new SshWriter()
    .string("ecdsa-sha2-nistp256")
    .string(reader.string())
    .toBuffer();
  assert.equal(verifySshSignature(ecdsa.publicKey, edSignature, data), false);
  assert.equal(verifySshSignature(ed.publicKey, relabelled, data), false);
});

test("garbage and trailing bytes are false, never an exception", () => {
  const key = loadedTestKey(dir, "ecdsa");
  const signature = signSsh(key.privateKey, data);
  assert.equal(
    verifySshSignature(key.publicKey, Buffer.concat([signature, Buffer.of(0)]), data),
    false,
  );
  assert.equal(verifySshSignature(key.publicKey, Buffer.alloc(0), data), false);
  assert.equal(verifySshSignature(key.publicKey, Buffer.from("junk junk junk"), data), false);
});
