// PROTOCOL.certkeys codec, both directions against the real ssh-keygen:
// certificates from `ssh-keygen -s` parse and verify; ours are read by
// `ssh-keygen -L`. Structural problems (option order, duplicates, extra
// bytes) are refused with ERR_SSH_FORMAT.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  encodeCertificate,
  optionString,
  parseCertificate,
  parseCertificateLine,
  VALID_FOREVER,
} from "../../src/openssh/certificate.js";
import { verifySshSignature } from "../../src/openssh/signature.js";
import { SshReader, SshWriter } from "../../src/openssh/wire.js";
import type { TestKeyType } from "../harness/keys.js";
import { keygenList, keygenSign, loadedTestKey, tempDir } from "./fixtures.js";

const dir = tempDir();
const CA_TYPES: readonly TestKeyType[] = ["ed25519", "ecdsa", "rsa"];
const USER_TYPES: readonly TestKeyType[] = ["ed25519", "ecdsa384", "rsa"];
const formatError = { code: "ERR_SSH_FORMAT" };

for (const caType of CA_TYPES) {
  for (const userType of USER_TYPES) {
    test(`ssh-keygen -s (${caType} CA, ${userType} key) parses and its CA signature verifies`, () => {
      const ca = loadedTestKey(dir, caType);
      const user = loadedTestKey(dir, userType);
      const line = keygenSign(ca.privatePath, user.publicPath, [
        ...["-I", "alice@example.com", "-n", "alice", "-z", "12345", "-V", "20300101:20300102"],
        ...["-O", "clear", "-O", "permit-pty", "-O", "extension:groups@portcullis=ops,dev"],
        ...["-O", "source-address=10.0.0.0/8,::1"],
      ]);
      const cert = parseCertificateLine(line);
      assert.equal(cert.algorithm, `${user.publicKey.type}-cert-v01@openssh.com`);
      assert.ok(cert.key.blob.equals(user.publicKey.blob));
      assert.ok(cert.signatureKey.blob.equals(ca.publicKey.blob));
      assert.equal(cert.serial, 12345n);
      assert.equal(cert.type, "user");
      assert.equal(cert.keyId, "alice@example.com");
      assert.deepEqual(cert.principals, ["alice"]);
      assert.equal(cert.validBefore - cert.validAfter, 86_400n);
      assert.deepEqual([...cert.extensions.keys()], ["groups@portcullis", "permit-pty"]);
      assert.equal(
        optionString(cert.extensions.get("groups@portcullis") ?? Buffer.alloc(0)),
        "ops,dev",
      );
      const sourceAddress = cert.criticalOptions.get("source-address") ?? Buffer.alloc(0);
      assert.equal(optionString(sourceAddress), "10.0.0.0/8,::1");
      assert.equal(verifySshSignature(cert.signatureKey, cert.signature, cert.signedData), true);
      assert.ok(cert.blob.subarray(0, cert.signedData.length).equals(cert.signedData));
    });
  }

  test(`our certificate (${caType} CA) is read by ssh-keygen -L`, () => {
    const ca = loadedTestKey(dir, caType);
    const user = loadedTestKey(dir, "ed25519");
    const blob = encodeCertificate(
      {
        key: user.publicKey,
        serial: 987654321n,
        type: "user",
        keyId: "alice@example.com",
        principals: ["alice@example.com"],
        validAfter: 1_900_000_000n,
        validBefore: VALID_FOREVER,
        criticalOptions: { "source-address": "192.0.2.0/24" },
        extensions: { "permit-pty": true, "groups@portcullis": "ops,dev" },
      },
      ca.privateKey,
    );
    const certPath = join(dir, `ours-${caType}-cert.pub`);
    writeFileSync(certPath, `${parseCertificate(blob).toLine("alice")}\n`);
    const listing = keygenList(certPath);
    assert.match(listing, /Type: ssh-ed25519-cert-v01@openssh.com user certificate/);
    assert.match(listing, /Key ID: "alice@example.com"/);
    assert.match(listing, /Serial: 987654321/);
    assert.match(listing, /Principals: \n\s+alice@example.com\n/);
    assert.match(listing, /Valid: after 2030-03-17T\d\d:46:40/);
    assert.match(listing, /source-address 192\.0\.2\.0\/24/);
    assert.match(listing, /permit-pty\n/);
    // ssh-keygen 9.2 prints unknown extensions as hex: here the SSH string "ops,dev".
    const groupsHex = new SshWriter().string("ops,dev").toBuffer().toString("hex");
    assert.ok(listing.includes(`groups@portcullis UNKNOWN OPTION: ${groupsHex} (len 11)`));
    assert.ok(listing.includes(`Signing CA: `) && listing.includes(ca.publicKey.fingerprint));
    if (caType === "rsa") assert.match(listing, /\(using rsa-sha2-512\)/);
  });
}

test("encode → parse round trip; options come out sorted by name", () => {
  const ca = loadedTestKey(dir, "ed25519");
  const user = loadedTestKey(dir, "ecdsa");
  const nonce = Buffer.alloc(32, 7);
  const cert = parseCertificate(
    encodeCertificate(
      {
        key: user.publicKey,
        serial: 1n,
        type: "host",
        keyId: "host",
        principals: ["a", "b"],
        validAfter: 10n,
        validBefore: 20n,
        extensions: { "permit-pty": true, "b@x": "two", "a@x": Buffer.from([1, 2]) },
        nonce,
      },
      ca.privateKey,
    ),
  );
  assert.deepEqual(cert.nonce, nonce);
  assert.equal(cert.type, "host");
  assert.deepEqual(cert.principals, ["a", "b"]);
  assert.deepEqual([...cert.extensions.keys()], ["a@x", "b@x", "permit-pty"]);
  assert.deepEqual(cert.extensions.get("a@x"), Buffer.from([1, 2]));
  assert.equal(verifySshSignature(ca.publicKey, cert.signature, cert.signedData), true);
});

// ---- malformed certificates, built field by field ----

function optionsSection(entries: ReadonlyArray<[string, Buffer]>): Buffer {
  const writer = new SshWriter();
  for (const [name, data] of entries) writer.string(name).string(data);
  return writer.toBuffer();
}

function rawCertificate(parts: {
  type?: number;
  critical?: Buffer;
  extensions?: Buffer;
  trailing?: Buffer;
}): Buffer {
  const user = loadedTestKey(dir, "ed25519");
  const keyData = user.publicKey.blob.subarray(4 + "ssh-ed25519".length);
  return new SshWriter()
    .string("ssh-ed25519-cert-v01@openssh.com")
    .string(Buffer.alloc(32))
    .raw(keyData)
    .uint64(1n)
    .uint32(parts.type ?? 1)
    .string("id")
    .string(new SshWriter().string("alice").toBuffer())
    .uint64(0n)
    .uint64(VALID_FOREVER)
    .string(parts.critical ?? Buffer.alloc(0))
    .string(parts.extensions ?? Buffer.alloc(0))
    .string(Buffer.alloc(0))
    .string(user.publicKey.blob)
    .string(new SshWriter().string("ssh-ed25519").string(Buffer.alloc(64)).toBuffer())
    .raw(parts.trailing ?? Buffer.alloc(0))
    .toBuffer();
}

const flag = Buffer.alloc(0);
const stringData = (value: string) => new SshWriter().string(value).toBuffer();

test("a well-formed raw certificate parses (control for the cases below)", () => {
  const cert = parseCertificate(
    rawCertificate({ extensions: optionsSection([["permit-pty", flag]]) }),
  );
  assert.equal(cert.keyId, "id");
});

test("unsorted or duplicated option names are refused", () => {
  const unsorted = optionsSection([
    ["permit-pty", flag],
    ["permit-X11-forwarding", flag],
    ["a", flag],
  ]);
  const duplicated = optionsSection([
    ["permit-pty", flag],
    ["permit-pty", flag],
  ]);
  const message = /duplicated or not sorted/;
  assert.throws(() => parseCertificate(rawCertificate({ extensions: unsorted })), {
    ...formatError,
    message,
  });
  assert.throws(() => parseCertificate(rawCertificate({ extensions: duplicated })), {
    ...formatError,
    message,
  });
  const critical = optionsSection([
    ["source-address", stringData("::1")],
    ["force-command", stringData("x")],
  ]);
  assert.throws(() => parseCertificate(rawCertificate({ critical })), { ...formatError, message });
});

test("extra bytes inside known option data are refused", () => {
  const flagWithData = optionsSection([["permit-pty", Buffer.from([0])]]);
  const stringWithTrailing = optionsSection([
    ["groups@portcullis", Buffer.concat([stringData("ops"), flag, Buffer.of(1)])],
  ]);
  const sourceWithTrailing = optionsSection([
    ["source-address", Buffer.concat([stringData("::1"), Buffer.of(0)])],
  ]);
  const corrupt = (name: string) => ({
    ...formatError,
    message: `certificate option "${name}" is corrupt`,
  });
  assert.throws(
    () => parseCertificate(rawCertificate({ extensions: flagWithData })),
    corrupt("permit-pty"),
  );
  assert.throws(
    () => parseCertificate(rawCertificate({ extensions: stringWithTrailing })),
    corrupt("groups@portcullis"),
  );
  assert.throws(
    () => parseCertificate(rawCertificate({ critical: sourceWithTrailing })),
    corrupt("source-address"),
  );
});

test("unknown extension data is kept uninterpreted", () => {
  const extensions = optionsSection([["custom@example.com", Buffer.from([1, 2, 3])]]);
  const cert = parseCertificate(rawCertificate({ extensions }));
  assert.deepEqual(cert.extensions.get("custom@example.com"), Buffer.from([1, 2, 3]));
});

test("truncation, trailing bytes, unknown cert type codes and wrong line types are refused", () => {
  const good = rawCertificate({});
  assert.throws(() => parseCertificate(good.subarray(0, good.length - 1)), formatError);
  assert.throws(() => parseCertificate(rawCertificate({ trailing: Buffer.of(0) })), formatError);
  assert.throws(() => parseCertificate(rawCertificate({ type: 3 })), {
    ...formatError,
    message: "unknown certificate type 3",
  });
  const line = `ssh-rsa-cert-v01@openssh.com ${good.toString("base64")}`;
  assert.throws(() => parseCertificateLine(line), formatError);
  const plainKey = loadedTestKey(dir, "ed25519").publicKey.blob;
  assert.throws(() => parseCertificate(plainKey), { code: "ERR_SSH_UNSUPPORTED_KEY" });
});

test("the embedded key fields are the certified key", () => {
  const cert = parseCertificate(rawCertificate({}));
  const reader = new SshReader(cert.key.blob);
  assert.equal(reader.utf8String(), "ssh-ed25519");
  assert.equal(reader.string().length, 32);
  reader.end();
});
