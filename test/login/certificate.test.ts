// Checking the certificate the server sends before installing it
// (src/login/certificate.ts): ours, a user certificate, from a published
// CA, with a good signature; and its summary.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CertificateAuthority } from "../../src/ca/authority.js";
import { acceptCertificate, summarise } from "../../src/login/certificate.js";
import { parsePrivateKey } from "../../src/openssh/keys.js";
import { generateKeyPair } from "../../src/ssh/keygen.js";

function authority() {
  const pair = generateKeyPair("ed25519");
  return { ca: new CertificateAuthority(parsePrivateKey(pair.privateKey)), line: pair.publicKey };
}

const NOW = new Date("2026-11-22T08:00:00Z");

describe("login certificate checks", () => {
  const { ca, line: caLine } = authority();
  const user = generateKeyPair("ed25519").publicKey;
  const issued = ca.signUserCertificate({
    publicKeyLine: user,
    user: "alice@example.com",
    groups: ["ops", "dba"],
    ttlMs: 8 * 3_600_000,
    now: NOW,
  });

  it("accepts a certificate for our key from a published CA and summarises it", () => {
    const summary = summarise(acceptCertificate(issued.certificateLine, user, [caLine]));
    assert.equal(summary.keyId, "alice@example.com");
    assert.deepEqual(summary.principals, ["alice@example.com"]);
    assert.deepEqual(summary.groups, ["ops", "dba"]);
    assert.equal(summary.serial, issued.serial);
    assert.equal(summary.validBefore.toISOString(), "2026-11-22T16:00:00.000Z");
  });

  it("refuses a certificate for another key, from an unpublished CA, or not a certificate", () => {
    const other = generateKeyPair("ed25519").publicKey;
    assert.throws(() => acceptCertificate(issued.certificateLine, other, [caLine]), {
      code: "ERR_LOGIN_CERTIFICATE",
      message: "the server sent an unusable certificate: it certifies another key",
    });
    assert.throws(() => acceptCertificate(issued.certificateLine, user, [authority().line]), {
      message: /it is not signed by a user CA the server publishes/,
    });
    assert.throws(() => acceptCertificate(user, user, [caLine]), { code: "ERR_LOGIN_CERTIFICATE" });
  });

  it("refuses a certificate whose CA signature does not verify", () => {
    const [type, data = "", comment] = issued.certificateLine.split(" ");
    const blob = Buffer.from(data, "base64");
    const at = blob.length - 10;
    blob[at] = (blob[at] ?? 0) ^ 1;
    const tampered = `${type} ${blob.toString("base64")} ${comment}`;
    assert.throws(() => acceptCertificate(tampered, user, [caLine]), {
      message: /its CA signature does not verify/,
    });
  });
});
