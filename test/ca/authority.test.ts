// The user CA: issued certificates have the SPEC §4 shape, are signed by the
// CA key (ed25519, ECDSA and RSA CAs), and are readable by ssh-keygen -L;
// signUserKeyFile writes KEY-cert.pub like `ssh-keygen -s`.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  BACKDATE_MS,
  certificatePathFor,
  loadCertificateAuthority,
  signUserKeyFile,
} from "../../src/ca/authority.js";
import { optionString, parseCertificateLine } from "../../src/openssh/certificate.js";
import { verifySshSignature } from "../../src/openssh/signature.js";
import { generateTestKey, type TestKeyType } from "../harness/keys.js";
import { keygenList, tempDir, unixSeconds } from "../openssh/fixtures.js";

const dir = tempDir();
const now = new Date("2030-01-02T03:04:05.678Z");
const HOUR = 3_600_000;

for (const caType of ["ed25519", "ecdsa", "rsa"] as TestKeyType[]) {
  test(`${caType} CA issues a user certificate of the documented shape`, () => {
    const caKey = generateTestKey(dir, caType);
    const ca = loadCertificateAuthority(caKey.privatePath);
    const userKey = generateTestKey(dir, "ed25519");
    const issued = ca.signUserCertificate({
      publicKeyLine: userKey.publicLine,
      user: "alice@example.com",
      groups: ["ops", "dev"],
      ttlMs: 8 * HOUR,
      now,
    });
    const cert = parseCertificateLine(issued.certificateLine);
    assert.ok(issued.certificateLine.endsWith(" alice@example.com"));
    assert.equal(cert.type, "user");
    assert.equal(cert.keyId, "alice@example.com");
    assert.equal(issued.keyId, "alice@example.com");
    assert.deepEqual(cert.principals, ["alice@example.com"]);
    assert.equal(cert.serial, issued.serial);
    assert.equal(cert.validAfter, unixSeconds(new Date(now.getTime() - BACKDATE_MS)));
    assert.equal(cert.validBefore, unixSeconds(new Date(now.getTime() + 8 * HOUR)));
    assert.deepEqual(issued.validAfter, new Date(now.getTime() - 60_000));
    assert.deepEqual(issued.validBefore, new Date(now.getTime() + 8 * HOUR));
    assert.deepEqual([...cert.extensions.keys()], ["groups@portcullis", "permit-pty"]);
    assert.equal(
      optionString(cert.extensions.get("groups@portcullis") ?? Buffer.alloc(0)),
      "ops,dev",
    );
    assert.equal(cert.criticalOptions.size, 0);
    assert.ok(cert.signatureKey.blob.equals(ca.publicKey.blob));
    assert.equal(verifySshSignature(ca.publicKey, cert.signature, cert.signedData), true);
  });
}

test("port forwarding and source-address only when asked; no groups extension when empty", () => {
  const ca = loadCertificateAuthority(generateTestKey(dir).privatePath);
  const request = {
    publicKeyLine: generateTestKey(dir).publicLine,
    user: "bob",
    groups: [],
    ttlMs: HOUR,
    now,
  };
  const plain = parseCertificateLine(ca.signUserCertificate(request).certificateLine);
  assert.deepEqual([...plain.extensions.keys()], ["permit-pty"]);
  const extended = parseCertificateLine(
    ca.signUserCertificate({ ...request, permitPortForwarding: true, sourceAddress: "10.0.0.0/8" })
      .certificateLine,
  );
  assert.deepEqual([...extended.extensions.keys()], ["permit-port-forwarding", "permit-pty"]);
  assert.equal(
    optionString(extended.criticalOptions.get("source-address") ?? Buffer.alloc(0)),
    "10.0.0.0/8",
  );
});

test("serials are random 64-bit values", () => {
  const ca = loadCertificateAuthority(generateTestKey(dir).privatePath);
  const publicKeyLine = generateTestKey(dir).publicLine;
  const serials = new Set(
    Array.from(
      { length: 20 },
      () =>
        ca.signUserCertificate({ publicKeyLine, user: "u", groups: [], ttlMs: HOUR, now }).serial,
    ),
  );
  assert.equal(serials.size, 20);
});

test("bad requests are refused", () => {
  const ca = loadCertificateAuthority(generateTestKey(dir).privatePath);
  const request = {
    publicKeyLine: generateTestKey(dir).publicLine,
    user: "alice",
    groups: ["ops"],
    ttlMs: HOUR,
    now,
  };
  const refused = { code: "ERR_CA_REQUEST" };
  assert.throws(() => ca.signUserCertificate({ ...request, user: "" }), refused);
  assert.throws(() => ca.signUserCertificate({ ...request, user: "  " }), refused);
  assert.throws(() => ca.signUserCertificate({ ...request, user: "a\nb" }), refused);
  assert.throws(() => ca.signUserCertificate({ ...request, groups: ["ops,admin"] }), {
    ...refused,
    message: 'group "ops,admin" must be non-empty, without commas',
  });
  assert.throws(() => ca.signUserCertificate({ ...request, groups: [""] }), refused);
  assert.throws(() => ca.signUserCertificate({ ...request, ttlMs: 0 }), refused);
  assert.throws(() => ca.signUserCertificate({ ...request, publicKeyLine: "ssh-ed25519 AAAA" }), {
    code: "ERR_SSH_FORMAT",
  });
});

test("CA key loading errors are one clear line", () => {
  assert.throws(() => loadCertificateAuthority(join(dir, "missing")), {
    code: "ERR_CA_KEY",
    message: `cannot read CA key ${join(dir, "missing")}: ENOENT`,
  });
  const encrypted = join(dir, "encrypted_ca");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "pass phrase", "-f", encrypted]);
  assert.throws(() => loadCertificateAuthority(encrypted), {
    code: "ERR_SSH_KEY_ENCRYPTED",
    message: `CA key ${encrypted} is passphrase-protected`,
  });
});

test("signUserKeyFile writes KEY-cert.pub (0644) that ssh-keygen -L reads", () => {
  const caKey = generateTestKey(dir, "ed25519");
  const userKey = generateTestKey(dir, "ecdsa", "key");
  const written = signUserKeyFile({
    caKeyPath: caKey.privatePath,
    publicKeyPath: userKey.publicPath,
    user: "carol@example.com",
    groups: ["admins"],
    ttlMs: HOUR,
    now: new Date(),
  });
  assert.equal(written, join(dir, "key-cert.pub"));
  assert.equal(statSync(written).mode & 0o777, 0o644);
  const cert = parseCertificateLine(readFileSync(written, "utf8"));
  const listing = keygenList(written);
  assert.match(listing, /Key ID: "carol@example.com"/);
  assert.match(listing, new RegExp(`Serial: ${cert.serial}\\n`));
  assert.match(listing, /Principals: \n\s+carol@example.com\n/);
  assert.match(listing, /permit-pty/);
  assert.match(listing, /groups@portcullis/);
});

test("certificatePathFor mirrors ssh-keygen naming", () => {
  assert.equal(certificatePathFor("/k/id_ed25519.pub"), "/k/id_ed25519-cert.pub");
  assert.equal(certificatePathFor("/k/key"), "/k/key-cert.pub");
});
