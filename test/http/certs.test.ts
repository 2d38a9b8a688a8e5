// POST /v1/certs and GET /.well-known/portcullis on a real listener, with
// real tokens from an embedded issuer: the certificate passes the bastion's
// own certificate check and carries the groups; forwarding follows the
// policy; refusals (bad tokens, revoked users, bad bodies, rate limit) get
// the right status and reason and are audited.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decideUserCertificate } from "../../src/auth/certificate-check.js";
import { revoke } from "../../src/ca/revocation.js";
import { type CertificateResponse, startHttpServer } from "../../src/http/index.js";
import type { DemoIdentityProvider } from "../../src/idp/index.js";
import { parseCertificateLine } from "../../src/openssh/certificate.js";
import { ConfigError } from "../../src/util/errors.js";
import {
  ALICE,
  claimsOf,
  personIssuer,
  personToken,
  startCiIdp,
  startPeopleIdp,
  tamperedToken,
  workloadIssuer,
  workloadToken,
} from "../oidc/fixtures.js";
import { policyFrom, targetYaml } from "../policy/fixtures.js";
import { type CertServer, EMPTY_POLICY, startCertServer } from "./server-fixture.js";

let people: DemoIdentityProvider;
let ci: DemoIdentityProvider;
let server: CertServer;

before(async () => {
  [people, ci] = await Promise.all([startPeopleIdp(), startCiIdp()]);
  server = await startCertServer([personIssuer(people.issuer), workloadIssuer(ci.issuer)], {
    sshHost: "bastion.example.test",
    hostCaLine: "@cert-authority bastion.example.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHost",
  });
});

after(async () => {
  await server.close();
  await Promise.all([people.close(), ci.close()]);
});

function checkCertificate(line: string) {
  const blob = Buffer.from(line.split(" ")[1] ?? "", "base64");
  const trust = {
    caKeys: [server.authority.publicKey],
    revocation: server.revocation,
    clockSkewMs: 0,
  };
  const attempt = { keyAlgo: line.split(" ")[0] ?? "", keyBlob: blob, sourceIp: "127.0.0.1" };
  return decideUserCertificate(attempt, trust, new Date());
}

async function issue(token: string): Promise<{ status: number; body: CertificateResponse }> {
  const response = await server.post({ token, public_key: server.newPublicKey() });
  return { status: response.status, body: (await response.json()) as CertificateResponse };
}

function lastAudit(event: string) {
  return server.audit.filter((entry) => entry.event === event).at(-1);
}

async function refused(response: Response, status: number, error: string): Promise<string> {
  const body = (await response.json()) as { error: string; message: string };
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.error, error);
  assert.doesNotMatch(body.message, /\n/);
  return body.message;
}

describe("POST /v1/certs", () => {
  test("a person's token and public key give a certificate the bastion accepts, with the groups", async () => {
    const before = Date.now();
    const { status, body } = await issue(await personToken(people.issuer));
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.key_id, ALICE.email);
    assert.deepEqual(body.principals, [ALICE.email]);
    assert.deepEqual(body.groups, ["ops", "dba"]);
    const decision = checkCertificate(body.certificate);
    assert.ok(decision.ok, decision.ok ? "" : decision.reason);
    assert.equal(decision.identity.user, ALICE.email);
    assert.deepEqual(decision.identity.groups, ["ops", "dba"]);
    assert.equal(decision.identity.permitPty, true);
    assert.equal(decision.identity.permitPortForwarding, false);
    assert.equal(decision.identity.serial.toString(), body.serial);
    const validAfter = Number(parseCertificateLine(body.certificate).validAfter) * 1000;
    assert.ok(validAfter >= before - 61_000 && validAfter <= Date.now() - 59_000);
    const ttl = Date.parse(body.valid_before) - Date.parse(body.valid_after);
    assert.ok(Math.abs(ttl - (8 * 3_600_000 + 60_000)) < 5_000, String(ttl));

    const [recorded] = server.index.issuedCertificates(ALICE.email);
    assert.equal(recorded?.serial.toString(), body.serial);
    assert.equal(recorded?.issuer, people.issuer);
    assert.equal(recorded?.subject, ALICE.username);
    const audited = lastAudit("cert.issued");
    assert.equal(audited?.serial, body.serial);
    assert.equal(audited?.user, ALICE.email);
    assert.equal(audited?.issuer_kind, "person");
  });

  test("serials are unique across certificates", async () => {
    const token = await personToken(people.issuer);
    const serials = new Set<string>();
    for (let i = 0; i < 5; i++) serials.add((await issue(token)).body.serial);
    assert.equal(serials.size, 5);
  });

  test("permit-port-forwarding only when an access entry for the user's groups allows forwarding", async () => {
    const forwarding = (group: string) =>
      policyFrom(`targets:
${targetYaml("web1")}
access:
  - name: tunnels
    subjects: { groups: [${group}] }
    targets: { names: [web1] }
    forwarding: allow
`);
    try {
      server.policy = forwarding("ops");
      const allowed = await issue(await personToken(people.issuer));
      const granted = checkCertificate(allowed.body.certificate);
      assert.ok(granted.ok && granted.identity.permitPortForwarding);
      server.policy = forwarding("network-admins");
      const other = await issue(await personToken(people.issuer));
      const refusedForwarding = checkCertificate(other.body.certificate);
      assert.ok(refusedForwarding.ok && !refusedForwarding.identity.permitPortForwarding);
    } finally {
      server.policy = EMPTY_POLICY;
    }
  });

  test("a CI workload token gives a workload certificate", async () => {
    const { status, body } = await issue(await workloadToken(ci.issuer));
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.key_id, "ci:repo:acme/deploy:ref:refs/heads/main");
    assert.deepEqual(body.groups, ["ci"]);
    const ttl = Date.parse(body.valid_before) - Date.parse(body.valid_after);
    assert.ok(Math.abs(ttl - (3_600_000 + 60_000)) < 5_000, String(ttl));
    assert.equal(lastAudit("cert.issued")?.issuer_kind, "workload");
  });

  test("a tampered token is refused with 401 and audited with its reason", async () => {
    const token = tamperedToken(await personToken(people.issuer), (claims) => {
      claims.email = "root@example.com";
    });
    const response = await server.post({ token, public_key: server.newPublicKey() });
    await refused(response, 401, "bad_signature");
    const audited = lastAudit("cert.rejected");
    assert.equal(audited?.code, "bad_signature");
    assert.equal(audited?.source_ip, "127.0.0.1");
    assert.ok(!JSON.stringify(audited).includes(token.split(".")[2] ?? "-"));
  });

  test("an expired token is refused (the listener's clock is past expiry and skew)", async () => {
    const token = await personToken(people.issuer);
    const expiry = (claimsOf(token).exp as number) * 1000;
    const local = await startCertServer([personIssuer(people.issuer)], {
      now: () => new Date(expiry + 180_000),
    });
    try {
      await refused(await local.post({ token, public_key: local.newPublicKey() }), 401, "expired");
      assert.equal(local.audit.at(-1)?.code, "expired");
    } finally {
      await local.close();
    }
  });

  test("cap_to_token_lifetime ends the certificate when the token expires", async () => {
    const idp = await startPeopleIdp({ idTokenTtlSeconds: 300 });
    const local = await startCertServer([personIssuer(idp.issuer, { capToTokenLifetime: true })]);
    try {
      const token = await personToken(idp.issuer);
      const response = await local.post({ token, public_key: local.newPublicKey() });
      const body = (await response.json()) as CertificateResponse;
      assert.equal(response.status, 200, JSON.stringify(body));
      const expiry = (claimsOf(token).exp as number) * 1000;
      assert.ok(Date.parse(body.valid_before) <= expiry, `${body.valid_before} after the token`);
      assert.ok(Date.parse(body.valid_before) > expiry - 10_000);
    } finally {
      await local.close();
      await idp.close();
    }
  });

  test("a revoked key id cannot get a new certificate until the entry is lifted", async () => {
    const token = await personToken(people.issuer);
    revoke(server.revocationFile, ALICE.email ?? "");
    server.revocation.reload();
    try {
      const response = await server.post({ token, public_key: server.newPublicKey() });
      await refused(response, 403, "revoked");
      const audited = lastAudit("cert.rejected");
      assert.equal(audited?.code, "revoked");
      assert.equal(audited?.user, ALICE.email);
    } finally {
      writeFileSync(server.revocationFile, "");
      server.revocation.reload();
    }
    assert.equal((await issue(token)).status, 200);
  });

  test("a bad public key is refused with 400", async () => {
    const response = await server.post({ token: "x.y.z", public_key: "ssh-ed25519 AAAA" });
    const message = await refused(response, 400, "bad_public_key");
    assert.match(message, /^public_key: /);
  });

  describe("bodies", () => {
    const cases: [string, unknown, RegExp][] = [
      ["no public_key", { token: "x.y.z" }, /public_key/],
      ["an unknown field", { token: "x.y.z", public_key: "k", extra: 1 }, /additional properties/],
      ["a token that is not a string", { token: 42, public_key: "k" }, /token must be string/],
      ["not JSON", "{token:", /not valid JSON/],
    ];
    for (const [name, body, message] of cases) {
      test(`${name}: 400 with a clear message, audited`, async () => {
        const text = await refused(await server.post(body), 400, "bad_request");
        assert.match(text, message);
        assert.equal(lastAudit("cert.rejected")?.code, "bad_request");
      });
    }

    test("a body over 32 KiB: 413", async () => {
      const body = { token: "a".repeat(40_000), public_key: "k" };
      await refused(await server.post(body), 413, "body_too_large");
      assert.equal(lastAudit("cert.rejected")?.code, "body_too_large");
    });

    test("another content type: 415", async () => {
      const response = await server.post("token=x", { "content-type": "text/plain" });
      await refused(response, 415, "unsupported_media_type");
    });
  });
});

test("rate limit per source address: 429 once over the limit, audited once per window", async () => {
  const local = await startCertServer([personIssuer(people.issuer)], { rateLimitMax: 2 });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await local.post({ token: "x.y.z", public_key: "k" });
      statuses.push(response.status);
      if (response.status === 429) {
        assert.ok(Number(response.headers.get("retry-after")) > 0);
        await refused(response, 429, "rate_limited");
      }
    }
    assert.deepEqual(statuses, [400, 400, 429, 429, 429]);
    const limited = local.audit.filter((entry) => entry.code === "rate_limited");
    assert.equal(limited.length, 1);
  } finally {
    await local.close();
  }
});

test("GET /.well-known/portcullis describes the issuer, the CAs and the SSH address", async () => {
  const response = await fetch(`${server.url}/.well-known/portcullis`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    issuer: people.issuer,
    client_id: "portcullis",
    user_ca_public_keys: [server.authority.publicKey.toLine()],
    ssh: { host: "bastion.example.test", port: 2222 },
    host_key: server.hostKey,
    host_ca: "@cert-authority bastion.example.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHost",
  });
});

test("plain http on a non-loopback address is refused before listening", async () => {
  const error = await startHttpServer({
    listen: { host: "0.0.0.0", port: 0 },
    rateLimit: { max: 1, windowMs: 1000 },
    discovery: { issuer: "", clientId: "", userCaPublicKeys: [], sshPort: 22, hostKey: "" },
    issuance: undefined as never,
    audit: undefined as never,
    now: () => new Date(),
  }).catch((caught: unknown) => caught);
  assert.ok(error instanceof ConfigError);
  assert.match(error.message, /^http\.listen: plain http is only allowed on a loopback address/);
});

test("with http.tls, the listener serves HTTPS with the configured certificate (any address)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-tls-"));
  try {
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
        ...["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1"],
        ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
      ],
      { stdio: "ignore" },
    );
    const cert = readFileSync(join(dir, "cert.pem"));
    const tls = await startHttpServer({
      listen: { host: "0.0.0.0", port: 0 },
      tls: { cert, key: readFileSync(join(dir, "key.pem")) },
      rateLimit: { max: 10, windowMs: 1000 },
      discovery: {
        issuer: "https://idp.example",
        clientId: "c",
        userCaPublicKeys: [],
        sshPort: 22,
        hostKey: "k",
      },
      issuance: undefined as never,
      audit: undefined as never,
      now: () => new Date(),
    });
    try {
      assert.match(tls.url, /^https:\/\//);
      const body = await new Promise<string>((resolve, reject) => {
        const request = httpsGet(
          `https://127.0.0.1:${tls.port}/.well-known/portcullis`,
          { ca: cert },
          (response) => {
            let text = "";
            response.on("data", (chunk: Buffer) => {
              text += chunk;
            });
            response.on("end", () => resolve(text));
          },
        );
        request.on("error", reject);
      });
      assert.equal((JSON.parse(body) as { issuer: string }).issuer, "https://idp.example");
      const untrusted = await fetch(`https://127.0.0.1:${tls.port}/.well-known/portcullis`).catch(
        (error: unknown) => error,
      );
      assert.ok(
        untrusted instanceof Error,
        "a client that does not trust the certificate is refused",
      );
    } finally {
      await tls.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
