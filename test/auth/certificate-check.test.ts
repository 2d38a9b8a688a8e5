// decideUserCertificate as a decision table: every refusal code has a case
// that must produce it (and the last test fails if one is never produced);
// certificates come from our encoder and from the real `ssh-keygen -s`,
// with ed25519, ECDSA and RSA CA keys.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { join } from "node:path";
import { test } from "node:test";
import {
  type CertificateAttempt,
  type CertificateDecision,
  type CertificateTrust,
  decideUserCertificate,
} from "../../src/auth/certificate-check.js";
import { AUTH_FAILURE_CODES, type AuthFailureCode } from "../../src/auth/failure-codes.js";
import { RevocationList, revoke } from "../../src/ca/revocation.js";
import {
  type CertificateFields,
  encodeCertificate,
  parseCertificateLine,
} from "../../src/openssh/certificate.js";
import { signSsh } from "../../src/openssh/signature.js";
import { SshWriter } from "../../src/openssh/wire.js";
import type { TestKeyType } from "../harness/keys.js";
import {
  flipByte,
  keygenSign,
  type LoadedTestKey,
  loadedTestKey,
  tempDir,
  unixSeconds,
} from "../openssh/fixtures.js";

const dir = tempDir();
const now = new Date("2031-05-06T07:08:09Z");
const MINUTE = 60_000;
const produced = new Set<AuthFailureCode>();

const cas = {
  ed25519: loadedTestKey(dir, "ed25519"),
  ecdsa: loadedTestKey(dir, "ecdsa"),
  rsa: loadedTestKey(dir, "rsa"),
};
const user = loadedTestKey(dir, "ed25519");
const nobody = { isRevoked: () => false };
const trustAll: CertificateTrust = {
  caKeys: Object.values(cas).map((ca) => ca.publicKey),
  revocation: nobody,
  clockSkewMs: MINUTE,
};
const sessionData = randomBytes(64);

function fields(overrides: Partial<CertificateFields> = {}, key = user): CertificateFields {
  return {
    key: key.publicKey,
    serial: 1001n,
    type: "user",
    keyId: "alice@example.com",
    principals: ["alice@example.com"],
    validAfter: unixSeconds(new Date(now.getTime() - MINUTE)),
    validBefore: unixSeconds(new Date(now.getTime() + 60 * MINUTE)),
    extensions: { "permit-pty": true, "groups@portcullis": "ops,dev" },
    ...overrides,
  };
}

function attemptFor(
  blob: Buffer,
  holder: LoadedTestKey = user,
  extra: Partial<CertificateAttempt> = {},
) {
  const keyAlgo = `${holder.publicKey.type}-cert-v01@openssh.com`;
  return {
    keyAlgo,
    keyBlob: blob,
    signature: signSsh(holder.privateKey, sessionData),
    signedData: sessionData,
    sourceIp: "192.0.2.10",
    ...extra,
  };
}

function decide(
  attempt: CertificateAttempt,
  trust: CertificateTrust = trustAll,
): CertificateDecision {
  const decision = decideUserCertificate(attempt, trust, now);
  if (!decision.ok) produced.add(decision.code);
  return decision;
}

function assertRefused(decision: CertificateDecision, code: AuthFailureCode): void {
  assert.equal(decision.ok, false, `expected ${code}, but it succeeded unexpectedly`);
  if (!decision.ok) assert.equal(decision.code, code, decision.reason);
}

function assertAccepted(decision: CertificateDecision): void {
  assert.ok(decision.ok, decision.ok ? "" : `refused: ${decision.code}: ${decision.reason}`);
  assert.equal(decision.probe, false);
}

function ours(overrides: Partial<CertificateFields> = {}, ca = cas.ed25519): Buffer {
  return encodeCertificate(fields(overrides), ca.privateKey);
}

for (const [caName, ca] of Object.entries(cas)) {
  for (const keyType of ["ed25519", "ecdsa", "rsa"] as TestKeyType[]) {
    test(`accepts our certificate: ${caName} CA, ${keyType} user key`, () => {
      const holder = loadedTestKey(dir, keyType);
      const blob = encodeCertificate(fields({}, holder), ca.privateKey);
      const decision = decide(attemptFor(blob, holder));
      assertAccepted(decision);
      if (!decision.ok) return;
      assert.deepEqual(
        { ...decision.identity, validBefore: decision.identity.validBefore.toISOString() },
        {
          user: "alice@example.com",
          groups: ["ops", "dev"],
          keyId: "alice@example.com",
          serial: 1001n,
          caFingerprint: ca.publicKey.fingerprint,
          keyFingerprint: holder.publicKey.fingerprint,
          validBefore: new Date(now.getTime() + 60 * MINUTE).toISOString(),
          permitPty: true,
          permitPortForwarding: false,
          unknownExtensions: [],
        },
      );
    });
  }

  test(`accepts a certificate made by ssh-keygen -s with a ${caName} CA`, () => {
    const holder = loadedTestKey(dir, "ecdsa");
    const line = keygenSign(ca.privatePath, holder.publicPath, [
      ...["-I", "bob@example.com", "-n", "bob@example.com", "-z", "77", "-V", "-5m:+1h"],
      ...["-O", "extension:groups@portcullis=admins"],
    ]);
    const cert = parseCertificateLine(line);
    const decision = decideUserCertificate(attemptFor(cert.blob, holder), trustAll, new Date());
    assertAccepted(decision);
    if (!decision.ok) return;
    assert.equal(decision.identity.user, "bob@example.com");
    assert.deepEqual(decision.identity.groups, ["admins"]);
    assert.equal(decision.identity.serial, 77n);
    assert.equal(decision.identity.permitPortForwarding, true); // ssh-keygen's default set
    assert.deepEqual(decision.identity.unknownExtensions, [
      "permit-X11-forwarding",
      "permit-agent-forwarding",
      "permit-user-rc",
    ]);
  });
}

test("without a signature the answer is a probe, never a login", () => {
  const { signature: _omitted, ...probe } = attemptFor(ours());
  const decision = decide(probe);
  assert.ok(decision.ok);
  assert.equal(decision.probe, true);
});

test("RSA certificates advertised as rsa-sha2-256/512 are accepted with that session signature", () => {
  const holder = loadedTestKey(dir, "rsa");
  const blob = encodeCertificate(fields({}, holder), cas.ed25519.privateKey);
  const as512 = attemptFor(blob, holder, { keyAlgo: "rsa-sha2-512-cert-v01@openssh.com" });
  assertAccepted(decide(as512));
  assertRefused(
    decide({ ...as512, keyAlgo: "rsa-sha2-256-cert-v01@openssh.com" }),
    "bad_signature",
  );
});

test("not_a_certificate: a plain key, or an unsupported certificate type", () => {
  const plain = { ...attemptFor(user.publicKey.blob), keyAlgo: "ssh-ed25519" };
  assertRefused(decide(plain), "not_a_certificate");
  assertRefused(
    decide({ ...attemptFor(ours()), keyAlgo: "ssh-dss-cert-v01@openssh.com" }),
    "not_a_certificate",
  );
});

test("malformed: junk, truncated, or trailing bytes", () => {
  const blob = ours();
  assertRefused(decide(attemptFor(Buffer.from("junk"))), "malformed");
  assertRefused(decide(attemptFor(blob.subarray(0, blob.length - 3))), "malformed");
  assertRefused(decide(attemptFor(Buffer.concat([blob, Buffer.of(0)]))), "malformed");
});

test("algorithm_mismatch: advertised type differs from the blob", () => {
  assertRefused(
    decide({ ...attemptFor(ours()), keyAlgo: "ecdsa-sha2-nistp256-cert-v01@openssh.com" }),
    "algorithm_mismatch",
  );
});

test("untrusted_ca: signed by a key that is not a trusted CA; refusal names the CA", () => {
  const stranger = loadedTestKey(dir, "ed25519");
  const decision = decide(attemptFor(ours({}, stranger)));
  assertRefused(decision, "untrusted_ca");
  assert.ok(!decision.ok);
  assert.equal(decision.caFingerprint, stranger.publicKey.fingerprint);
  assert.equal(decision.keyId, "alice@example.com");
  assert.equal(decision.serial, 1001n);
});

for (const [caName, ca] of Object.entries(cas)) {
  test(`bad_ca_signature (${caName} CA): a flipped signature byte, a forged key id`, () => {
    const blob = encodeCertificate(fields({ keyId: "bob@example.com" }), ca.privateKey);
    assertRefused(decide(attemptFor(flipByte(blob, -2))), "bad_ca_signature");
    const at = blob.indexOf("bob@example.com");
    const forged = Buffer.concat([blob.subarray(0, at), Buffer.from("eve"), blob.subarray(at + 3)]);
    const decision = decide(attemptFor(forged));
    assertRefused(decision, "bad_ca_signature");
    assert.ok(!decision.ok && decision.keyId === "eve@example.com");
  });
}

test("not_user_certificate: a host certificate", () => {
  assertRefused(decide(attemptFor(ours({ type: "host" }))), "not_user_certificate");
});

test("not_yet_valid / expired, with the clock skew applied at both ends", () => {
  const at = (offsetMs: number) => unixSeconds(new Date(now.getTime() + offsetMs));
  assertRefused(decide(attemptFor(ours({ validAfter: at(2 * MINUTE) }))), "not_yet_valid");
  assertAccepted(decide(attemptFor(ours({ validAfter: at(30_000) }))));
  assertRefused(
    decide(attemptFor(ours({ validAfter: at(-3 * MINUTE), validBefore: at(-2 * MINUTE) }))),
    "expired",
  );
  assertAccepted(
    decide(attemptFor(ours({ validAfter: at(-3 * MINUTE), validBefore: at(-30_000) }))),
  );
  const strict = { ...trustAll, clockSkewMs: 0 };
  assertRefused(
    decide(attemptFor(ours({ validAfter: at(-3 * MINUTE), validBefore: at(0) })), strict),
    "expired",
  );
});

test("no_principals / ambiguous_principals", () => {
  assertRefused(decide(attemptFor(ours({ principals: [] }))), "no_principals");
  assertRefused(decide(attemptFor(ours({ principals: [""] }))), "no_principals");
  assertRefused(
    decide(attemptFor(ours({ principals: ["alice", "root"] }))),
    "ambiguous_principals",
  );
});

test("source-address: CIDR lists, IPv4-mapped IPv6, mismatch and invalid lists", () => {
  const limited = ours({
    criticalOptions: { "source-address": "10.0.0.0/8, 2001:db8::/32,192.0.2.10" },
  });
  assertAccepted(decide(attemptFor(limited)));
  assertAccepted(decide(attemptFor(limited, user, { sourceIp: "10.1.2.3" })));
  assertAccepted(decide(attemptFor(limited, user, { sourceIp: "::ffff:10.1.2.3" })));
  assertAccepted(decide(attemptFor(limited, user, { sourceIp: "2001:db8::5" })));
  assertRefused(
    decide(attemptFor(limited, user, { sourceIp: "192.0.2.11" })),
    "source_address_mismatch",
  );
  assertRefused(
    decide(attemptFor(limited, user, { sourceIp: "::ffff:11.0.0.1" })),
    "source_address_mismatch",
  );
  const invalid = ours({ criticalOptions: { "source-address": "10.0.0.0/33" } });
  assertRefused(decide(attemptFor(invalid)), "malformed");
  const wildcard = ours({ criticalOptions: { "source-address": "10.*" } });
  assertRefused(decide(attemptFor(wildcard)), "malformed");
});

test("unknown_critical_option: force-command and anything else is refused; unknown extensions are listed", () => {
  assertRefused(
    decide(attemptFor(ours({ criticalOptions: { "force-command": "/bin/true" } }))),
    "unknown_critical_option",
  );
  assertRefused(
    decide(attemptFor(ours({ criticalOptions: { "x@example.com": true } }))),
    "unknown_critical_option",
  );
  const decision = decide(
    attemptFor(ours({ extensions: { "custom@example.com": "x", "permit-port-forwarding": true } })),
  );
  assertAccepted(decision);
  assert.ok(decision.ok);
  assert.deepEqual(decision.identity.unknownExtensions, ["custom@example.com"]);
  assert.deepEqual(decision.identity.groups, []);
  assert.equal(decision.identity.permitPty, false);
  assert.equal(decision.identity.permitPortForwarding, true);
});

test("revoked: by serial and by key id, including a revocation made while the list is open", async (t) => {
  const path = join(dir, "revoked.txt");
  revoke(path, "1001");
  const revocation = new RevocationList(path);
  t.after(() => revocation.close());
  const trust = { ...trustAll, revocation };
  assertRefused(decide(attemptFor(ours()), trust), "revoked");
  const other = ours({
    serial: 2002n,
    keyId: "carol@example.com",
    principals: ["carol@example.com"],
  });
  assertAccepted(decide(attemptFor(other), trust));
  const reloaded = once(revocation, "reloaded");
  revoke(path, "carol@example.com");
  await reloaded;
  assertRefused(decide(attemptFor(other), trust), "revoked");
});

test("bad_signature: junk, another key's signature, wrong data, or no signed data", () => {
  const blob = ours();
  const junk = new SshWriter().string("ssh-ed25519").string(randomBytes(64)).toBuffer();
  assertRefused(decide(attemptFor(blob, user, { signature: junk })), "bad_signature");
  const thief = loadedTestKey(dir, "ed25519");
  assertRefused(
    decide(attemptFor(blob, user, { signature: signSsh(thief.privateKey, sessionData) })),
    "bad_signature",
  );
  assertRefused(decide(attemptFor(blob, user, { signedData: randomBytes(64) })), "bad_signature");
  assertRefused(decide(attemptFor(blob, user, { signedData: undefined })), "bad_signature");
});

test("checks run in OpenSSH's order: an untrusted, expired host cert is untrusted_ca first", () => {
  const stranger = loadedTestKey(dir, "ed25519");
  const blob = ours({ type: "host", validBefore: 1n, validAfter: 0n, principals: [] }, stranger);
  assertRefused(decide(attemptFor(blob)), "untrusted_ca");
  const trusted = ours({ type: "host", validBefore: 1n, validAfter: 0n, principals: [] });
  assertRefused(decide(attemptFor(trusted)), "not_user_certificate");
});

test("refusal reasons hold no key material", () => {
  const stranger = loadedTestKey(dir, "ed25519");
  const decision = decide(attemptFor(ours({}, stranger)));
  assert.ok(!decision.ok);
  assert.doesNotMatch(decision.reason, /[A-Za-z0-9+/]{44,}/);
});

test("every AuthFailureCode is produced by some case above", () => {
  assert.deepEqual([...produced].sort(), Object.keys(AUTH_FAILURE_CODES).sort());
});
