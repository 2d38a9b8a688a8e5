// Certificate refusals end to end: the real OpenSSH client logs in to a real
// bastion (`portcullis serve`) in front of a real sshd with certificates made
// by the real ssh-keygen, and every bad certificate is refused with the
// matching auth.failure code in the audit log; revocation takes effect
// without a restart; an ssh2 client presenting a stolen certificate (no
// private key) is refused because of its session signature.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuthFailureCode } from "../../src/auth/failure-codes.js";
import { run, startTestBastion, type TestBastion, type UserKey } from "../harness/bastion.js";
import {
  certificateIdentity,
  certificateSerial,
  connectWithAgent,
  ed25519Signer,
  execStdout,
  junkEd25519Signer,
  type KeygenCertificateSpec,
  keygenCertificate,
  type Signer,
  SigningAgent,
} from "../harness/certs.js";
import { generateTestKey } from "../harness/keys.js";

const SSH = "/usr/bin/ssh";
const ALICE = "alice@example.com";
const OPS = "extension:groups@portcullis=ops";

type AuditEvent = Record<string, unknown>;

describe("user certificates at the bastion", () => {
  let bastion: TestBastion;
  let userCa: string;

  before(async () => {
    bastion = await startTestBastion();
    userCa = join(bastion.dir, "keys", "user_ca");
  });
  after(async () => {
    await bastion?.stop();
  });

  const certificate = (spec: KeygenCertificateSpec = {}, caKeyPath = userCa) =>
    keygenCertificate(bastion.dir, caKeyPath, spec);

  const sessionsSoFar = () => new Set(bastion.auditEvents().map((event) => event.session));

  const eventsOf = (session: unknown) =>
    bastion.auditEvents().filter((event) => event.session === session);

  const failureCodes = (events: AuditEvent[]) =>
    [...new Set(events.filter((e) => e.event === "auth.failure").map((e) => e.code))].sort();

  /**
   * Waits for the auth.failure `code` of a connection made since `seen` and
   * checks that connection's whole audit trail: exactly `expectedCodes`, no
   * auth.success.
   */
  async function assertRefusalAudited(
    seen: Set<unknown>,
    code: AuthFailureCode,
    expectedCodes: AuthFailureCode[],
    serial?: string,
  ): Promise<AuditEvent> {
    const failure = await bastion.waitForAudit(
      (e) => e.event === "auth.failure" && e.code === code && !seen.has(e.session),
    );
    if (serial !== undefined) assert.equal(failure.serial, serial);
    const events = eventsOf(failure.session);
    assert.deepEqual(failureCodes(events), [...expectedCodes].sort());
    assert.equal(events.filter((e) => e.event === "auth.success").length, 0);
    return failure;
  }

  /** `ssh web1 echo in` with OpenSSH must fail at authentication, audited as `code`. */
  async function expectRefused(key: UserKey, code: AuthFailureCode, serial?: string) {
    const seen = sessionsSoFar();
    const result = await run(SSH, bastion.sshArgs(key, "web1", "echo in"));
    assert.equal(result.code, 255);
    assert.match(result.stderr, /Permission denied/);
    assert.equal(result.stdout, "");
    // OpenSSH offers the plain key before its certificate: that is refused too.
    const expected = new Set<AuthFailureCode>([code, "not_a_certificate"]);
    return assertRefusalAudited(seen, code, [...expected], serial);
  }

  /** `ssh web1 echo in` with OpenSSH must log in and run the command. */
  async function expectAccepted(key: UserKey, serial: string) {
    const seen = sessionsSoFar();
    const result = await run(SSH, bastion.sshArgs(key, "web1", "echo in"));
    assert.equal(result.stdout, "in\n", result.stderr);
    assert.equal(result.code, 0);
    const success = await bastion.waitForAudit(
      (e) => e.event === "auth.success" && !seen.has(e.session),
    );
    assert.equal(success.serial, serial);
    assert.equal(success.user, ALICE);
  }

  /** Number of distinct entries in the revocation file (what ca.revocation_reload reports). */
  const revocationEntries = () =>
    new Set(
      readFileSync(join(bastion.dir, "data", "revoked.txt"), "utf8")
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("#")),
    ).size;

  /** `portcullis ca revoke VALUE`, then waits until the running server has reloaded it. */
  async function revokeAndWait(value: string) {
    const revoked = await bastion.cli(["ca", "revoke", value]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const entries = revocationEntries();
    await bastion.waitForAudit((e) => e.event === "ca.revocation_reload" && e.entries === entries);
  }

  describe("with the OpenSSH client", () => {
    it("accepts a certificate made by ssh-keygen with our CA (control)", async () => {
      const cert = certificate({ options: [OPS] });
      await expectAccepted(cert, cert.serial);
    });

    it("refuses an expired certificate", async () => {
      const cert = certificate({ validity: "-2d:-1d", options: [OPS] });
      await expectRefused(cert, "expired", cert.serial);
    });

    it("refuses a certificate that is not valid yet", async () => {
      const cert = certificate({ validity: "+1d:+2d", options: [OPS] });
      await expectRefused(cert, "not_yet_valid", cert.serial);
    });

    it("refuses a certificate signed by a CA that is not trusted", async () => {
      const foreignCa = generateTestKey(bastion.dir, "ed25519").privatePath;
      const cert = certificate({ options: [OPS] }, foreignCa);
      await expectRefused(cert, "untrusted_ca", cert.serial);
    });

    it("refuses a certificate without principals", async () => {
      const cert = certificate({ principals: [], options: [OPS] });
      await expectRefused(cert, "no_principals", cert.serial);
    });

    it("refuses a plain key without a certificate", async () => {
      const key = generateTestKey(bastion.dir, "ed25519");
      await expectRefused({ ...key, certPath: `${key.privatePath}-cert.pub` }, "not_a_certificate");
    });

    it("refuses a certificate with a critical option it does not enforce (force-command)", async () => {
      const cert = certificate({ options: [OPS, "force-command=/bin/true"] });
      await expectRefused(cert, "unknown_critical_option", cert.serial);
    });

    it("refuses a certificate whose source-address excludes the client", async () => {
      const cert = certificate({ options: [OPS, "source-address=10.0.0.0/8"] });
      await expectRefused(cert, "source_address_mismatch", cert.serial);
    });

    it("refuses a terminal to a certificate without permit-pty, as sshd does", async () => {
      const cert = certificate({ options: ["clear", OPS] });
      const withPty = await run(SSH, ["-tt", ...bastion.sshArgs(cert, "web1", "tty; echo in")]);
      assert.doesNotMatch(withPty.stdout, /\/dev\/pts/);
      assert.match(withPty.stderr, /PTY allocation request failed/);
      await bastion.waitForAudit(
        (e) => e.event === "session.denied" && /lacks permit-pty/.test(String(e.reason)),
      );
      const withoutPty = await run(SSH, bastion.sshArgs(cert, "web1", "echo in"));
      assert.equal(withoutPty.stdout, "in\n");
    });

    it("accepts a certificate whose source-address includes the client", async () => {
      const cert = certificate({ options: [OPS, "source-address=10.0.0.0/8,127.0.0.1/32"] });
      await expectAccepted(cert, cert.serial);
    });
  });

  describe("revocation without a restart", () => {
    it("refuses a certificate once its serial is revoked", async () => {
      const user = await bastion.issueUser(ALICE, ["ops"]);
      const serial = certificateSerial(user.certPath);
      await expectAccepted(user, serial);
      await revokeAndWait(serial);
      await expectRefused(user, "revoked", serial);
    });

    it("refuses every certificate of a revoked key id", async () => {
      const keyId = "revoked-by-key-id@example.com";
      const first = await bastion.issueUser(keyId, ["ops"]);
      const second = await bastion.issueUser(keyId, ["ops"]);
      const seen = sessionsSoFar();
      const before = await run(SSH, bastion.sshArgs(first, "web1", "echo in"));
      assert.equal(before.stdout, "in\n", before.stderr);
      await revokeAndWait(keyId);
      for (const user of [first, second]) {
        const failure = await expectRefused(user, "revoked", certificateSerial(user.certPath));
        assert.equal(failure.key_id, keyId);
      }
      assert.equal(
        bastion.auditEvents().filter((e) => e.event === "auth.success" && !seen.has(e.session))
          .length,
        1,
      );
    });
  });

  // What OpenSSH's client will not send, sent by ssh2 with an agent whose
  // identity is a certificate and whose signer the test chooses.
  //
  // A stolen certificate: the attacker has alice's certificate but not her
  // private key. Every signer answers with a well-formed SSH signature blob
  // ("ssh-ed25519" + 64 bytes); only the 64 bytes differ between the control
  // (alice's real signature, accepted) and the refusals.
  //
  // How that blob reaches the bastion: ssh2's client labels the signature
  // with the advertised algorithm (string "ssh-ed25519-cert-v01@openssh.com",
  // string <what the agent returned>), which OpenSSH's sshd rejects; ssh2's
  // server strips an outer name equal to the key algorithm, so the bastion
  // receives exactly the agent's blob. Were the agent to return bare
  // signature bytes (as ssh2 expects from an agent), the bastion would get
  // 64 bytes that are not a signature blob and refuse even a correct
  // signature; the control case proves that is not what happens here.
  describe("with an ssh2 client presenting a certificate through an agent", () => {
    let alice: UserKey;
    let aliceSerial: string;
    let hostKeyBase64: string;

    before(async () => {
      alice = await bastion.issueUser(ALICE, ["ops"]);
      aliceSerial = certificateSerial(alice.certPath);
      const knownHost = readFileSync(bastion.knownHostsPath, "utf8").trim().split(/\s+/);
      hostKeyBase64 = knownHost[2] ?? "";
    });

    const connectPresenting = (cert: UserKey, signer: Signer) =>
      connectWithAgent({
        port: bastion.port,
        username: "web1",
        hostKeyBase64,
        agent: new SigningAgent(certificateIdentity(cert.certPath, cert.publicPath), signer),
      });

    async function expectAgentRefused(
      cert: UserKey,
      signer: Signer,
      code: AuthFailureCode,
      serial: string,
    ) {
      const seen = sessionsSoFar();
      await assert.rejects(
        connectPresenting(cert, signer),
        /All configured authentication methods failed/,
      );
      await assertRefusalAudited(seen, code, [code], serial);
    }

    it("logs in when the session signature is alice's (control)", async () => {
      const seen = sessionsSoFar();
      const client = await connectPresenting(alice, ed25519Signer(alice.privatePath));
      try {
        assert.equal(await execStdout(client, "echo in"), "in\n");
      } finally {
        client.end();
      }
      const success = await bastion.waitForAudit(
        (e) => e.event === "auth.success" && !seen.has(e.session),
      );
      assert.equal(success.serial, aliceSerial);
    });

    it("refuses a stolen certificate with a junk session signature", async () => {
      await expectAgentRefused(alice, junkEd25519Signer, "bad_signature", aliceSerial);
    });

    it("refuses a stolen certificate with a valid signature from a different key", async () => {
      const otherKey = generateTestKey(bastion.dir, "ed25519").privatePath;
      await expectAgentRefused(alice, ed25519Signer(otherKey), "bad_signature", aliceSerial);
    });

    // OpenSSH's client skips it: "pubkey_prepare: ignoring certificate …: not a user certificate".
    it("refuses a host certificate presented as a user certificate", async () => {
      const cert = certificate({ host: true });
      await expectAgentRefused(
        cert,
        ed25519Signer(cert.privatePath),
        "not_user_certificate",
        cert.serial,
      );
    });
  });
});
