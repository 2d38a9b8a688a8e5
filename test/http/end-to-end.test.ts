// End to end: a person signs in at a real OIDC issuer (device flow), sends
// the ID token and a fresh public key to `portcullis serve`'s POST
// /v1/certs, and the certificate takes the real OpenSSH client through the
// bastion to a real sshd, where the groups from the token decide access.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { certificatePathFor } from "../../src/ca/authority.js";
import type { DemoIdentityProvider } from "../../src/idp/index.js";
import { run, startTestBastion, type TestBastion, type UserKey } from "../harness/bastion.js";
import { generateTestKey } from "../harness/keys.js";
import { ALICE, personToken, startPeopleIdp } from "../oidc/fixtures.js";

const SSH = "/usr/bin/ssh";

function withLogin(issuer: string) {
  return (yaml: string) =>
    `${yaml}http:\n  listen: "127.0.0.1:0"\noidc:\n  issuer: "${issuer}"\n  client_id: portcullis\n`;
}

describe("login to ssh", () => {
  let idp: DemoIdentityProvider;
  let bastion: TestBastion;
  let certsUrl: string;

  before(async () => {
    idp = await startPeopleIdp();
    bastion = await startTestBastion({ configEdit: withLogin(idp.issuer) });
    const started = await bastion.waitForAudit((e) => e.event === "server.start");
    certsUrl = `http://${String(started.http_listen)}/v1/certs`;
  });
  after(async () => {
    await bastion?.stop();
    await idp?.close();
  });

  async function loggedInKey(): Promise<UserKey> {
    const key = generateTestKey(bastion.dir, "ed25519");
    const response = await fetch(certsUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: await personToken(idp.issuer), public_key: key.publicLine }),
    });
    const body = (await response.json()) as { certificate: string; serial: string };
    assert.equal(response.status, 200, JSON.stringify(body));
    const certPath = certificatePathFor(key.publicPath);
    writeFileSync(certPath, `${body.certificate}\n`);
    return { privatePath: key.privatePath, publicPath: key.publicPath, certPath };
  }

  it("a certificate from /v1/certs opens a session with the OpenSSH client", async () => {
    const key = await loggedInKey();
    const result = await run(SSH, bastion.sshArgs(key, "web1", "echo hello from $(whoami)"));
    assert.equal(result.stdout, `hello from ${bastion.sshd.login}\n`, result.stderr);
    assert.equal(result.code, 0);
    const success = await bastion.waitForAudit(
      (e) => e.event === "auth.success" && e.user === ALICE.email,
    );
    assert.deepEqual(success.groups, ["ops", "dba"]);
    const issued = await bastion.waitForAudit((e) => e.event === "cert.issued");
    assert.equal(issued.serial, success.serial);
  });

  it("the token's groups decide access: dba reaches the prod target too", async () => {
    const key = await loggedInKey();
    const result = await run(SSH, bastion.sshArgs(key, "db1", "echo on db1"));
    assert.equal(result.stdout, "on db1\n", result.stderr);
  });

  it("a revoked user cannot get a new certificate", async () => {
    const revoked = await bastion.cli(["ca", "revoke", ALICE.email ?? ""]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const key = generateTestKey(bastion.dir, "ed25519");
    const deadline = Date.now() + 5000;
    let status = 0;
    while (Date.now() < deadline && status !== 403) {
      const response = await fetch(certsUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: await personToken(idp.issuer), public_key: key.publicLine }),
      });
      status = response.status;
    }
    assert.equal(status, 403);
    await bastion.waitForAudit((e) => e.event === "cert.rejected" && e.code === "revoked");
  });
});
