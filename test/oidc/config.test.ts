// The `oidc` and `http` config sections as the login feature reads them:
// trusted issuers built from config, and the checks that keep plain http on
// loopback and certificate lifetimes within ca.max_ttl.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../src/config/index.js";
import { trustedIssuers } from "../../src/oidc/index.js";
import { ConfigError } from "../../src/util/errors.js";

function problems(text: string): readonly string[] {
  try {
    parseConfig(text, "portcullis.yaml", "/srv/pc");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

test("the people's issuer and workload issuers, each with its own audience and mapping", () => {
  const config = parseConfig(
    `oidc:
  issuer: https://idp.example.com
  client_id: portcullis
  allowed_groups: [ops]
  group_map: { g-123: ops }
  max_token_age: 10m
  workloads:
    - issuer: https://token.actions.githubusercontent.com
      audience: https://bastion.example.com
      username_prefix: "gha:"
      groups: [ci]
      required_claims: { repository_owner: acme, ref: [refs/heads/main, refs/heads/release] }
      cap_to_token_lifetime: true
`,
    "portcullis.yaml",
    "/srv/pc",
  );
  const [person, workload, ...rest] = trustedIssuers(config.oidc ?? assert.fail("no oidc"));
  assert.equal(rest.length, 0);
  assert.equal(person?.kind, "person");
  assert.equal(person?.audience, "portcullis");
  assert.equal(person?.usernameClaim, "email");
  assert.deepEqual([...(person?.allowedGroups ?? [])], ["ops"]);
  assert.equal(person?.groupMap.get("g-123"), "ops");
  assert.equal(person?.maxTokenAgeMs, 600_000);
  assert.equal(person?.certTtlMs, 8 * 3_600_000);
  assert.equal(workload?.kind, "workload");
  assert.equal(workload?.usernameClaim, "sub");
  assert.equal(workload?.groupsClaim, undefined);
  assert.deepEqual(workload?.staticGroups, ["ci"]);
  assert.deepEqual(workload?.requiredClaims.get("repository_owner"), ["acme"]);
  assert.deepEqual(workload?.requiredClaims.get("ref"), ["refs/heads/main", "refs/heads/release"]);
  assert.equal(workload?.certTtlMs, 3_600_000);
  assert.equal(workload?.capToTokenLifetime, true);
});

test("plain http off loopback is refused at http.listen; loopback and TLS are fine", () => {
  assert.deepEqual(problems('http: { listen: "0.0.0.0:8080" }\n'), [
    "portcullis.yaml:1:17: http.listen: plain http is only allowed on a loopback address: set http.tls.cert and http.tls.key",
  ]);
  assert.deepEqual(problems('http: { listen: "[::1]:8080" }\n'), []);
  assert.deepEqual(
    problems('http: { listen: "0.0.0.0:8443", tls: { cert: c.pem, key: k.pem } }\n'),
    [],
  );
});

test("issuers must be https (http only on loopback), without query or fragment", () => {
  const issuer = (url: string) => problems(`oidc: { issuer: "${url}", client_id: portcullis }\n`);
  assert.match(
    issuer("http://idp.example.com")[0] ?? "",
    /oidc\.issuer: expected an https:\/\/ URL/,
  );
  assert.match(
    issuer("https://idp.example.com/?x=1")[0] ?? "",
    /must not have a query or fragment/,
  );
  assert.deepEqual(issuer("http://127.0.0.1:5556"), []);
});

test("a workload's cert_ttl must not exceed ca.max_ttl", () => {
  const found = problems(`ca: { max_ttl: 2h, default_ttl: 1h }
oidc:
  issuer: https://idp.example.com
  client_id: portcullis
  cert_ttl: 1h
  workloads: [{ issuer: https://ci.example.com, audience: bastion, cert_ttl: 3h }]
`);
  assert.equal(found.length, 1);
  assert.match(
    found[0] ?? "",
    /^portcullis\.yaml:6:78: oidc\.workloads\[0\]\.cert_ttl: must not exceed ca\.max_ttl$/,
  );
});
