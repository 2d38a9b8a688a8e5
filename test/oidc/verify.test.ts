// Token verification against real issuers on loopback (src/idp): a good
// person token and a CI workload token are accepted with their mapped
// identity; every kind of bad token is refused with its reason code and a
// message that does not repeat the token.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { DemoIdentityProvider } from "../../src/idp/index.js";
import {
  TokenRejectedError,
  type TokenRejectionCode,
  TokenVerifier,
  type TrustedIssuer,
  type TokenVerifier as Verifier,
} from "../../src/oidc/index.js";
import {
  ALICE,
  claimsOf,
  forgedToken,
  OTHER_CLIENT_ID,
  personIssuer,
  personToken,
  startCiIdp,
  startPeopleIdp,
  tamperedToken,
  UNVERIFIED,
  unsignedToken,
  workloadIssuer,
  workloadToken,
} from "./fixtures.js";

const SKEW_MS = 120_000;
let people: DemoIdentityProvider;
let ci: DemoIdentityProvider;
let stranger: DemoIdentityProvider;
let aliceToken: string;

function verifier(issuers: TrustedIssuer[]): Verifier {
  return new TokenVerifier(issuers, { clockSkewMs: SKEW_MS, cooldownMs: 0 });
}

async function refusal(
  promise: Promise<unknown>,
  reason: TokenRejectionCode,
  token?: string,
): Promise<TokenRejectedError> {
  const error = await promise.then(
    () => assert.fail(`expected a ${reason} rejection`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof TokenRejectedError, String(error));
  assert.equal(error.reason, reason, error.message);
  assert.equal(error.code, "ERR_OIDC_TOKEN");
  assert.doesNotMatch(error.message, /\n/);
  if (token !== undefined) {
    const signature = token.split(".")[2] ?? "";
    assert.ok(!error.message.includes(token) && !error.message.includes(signature.slice(0, 20)));
  }
  return error;
}

before(async () => {
  [people, ci, stranger] = await Promise.all([startPeopleIdp(), startCiIdp(), startPeopleIdp()]);
  aliceToken = await personToken(people.issuer);
});

after(async () => {
  await Promise.all([people.close(), ci.close(), stranger.close()]);
});

describe("accepted tokens", () => {
  test("a person's ID token gives the email as user and the groups", async () => {
    const verified = await verifier([personIssuer(people.issuer)]).verify(aliceToken, new Date());
    assert.equal(verified.username, ALICE.email);
    assert.deepEqual(verified.groups, ["ops", "dba"]);
    assert.equal(verified.subject, ALICE.username);
    assert.equal(verified.issuer.kind, "person");
    assert.equal(verified.expiresAt.getTime(), (claimsOf(aliceToken).exp as number) * 1000);
  });

  test("group renaming, the allow-list and static groups shape the groups", async () => {
    const issuer = personIssuer(people.issuer, {
      groupMap: new Map([["dba", "database-admins"]]),
      allowedGroups: new Set(["database-admins"]),
      staticGroups: ["staff"],
    });
    const verified = await verifier([issuer]).verify(aliceToken, new Date());
    assert.deepEqual(verified.groups, ["database-admins", "staff"]);
  });

  test("another username claim (sub) with a prefix", async () => {
    const issuer = personIssuer(people.issuer, { usernameClaim: "sub", usernamePrefix: "idp:" });
    const verified = await verifier([issuer]).verify(aliceToken, new Date());
    assert.equal(verified.username, "idp:alice");
  });

  test("a CI workload token from a second issuer, with its own audience and mapping", async () => {
    const token = await workloadToken(ci.issuer);
    const trusted = [personIssuer(people.issuer), workloadIssuer(ci.issuer)];
    const verified = await verifier(trusted).verify(token, new Date());
    assert.equal(verified.username, "ci:repo:acme/deploy:ref:refs/heads/main");
    assert.deepEqual(verified.groups, ["ci"]);
    assert.equal(verified.issuer.kind, "workload");
  });

  test("within the clock skew after expiry the token is still good", async () => {
    const expiry = new Date((claimsOf(aliceToken).exp as number) * 1000 + SKEW_MS - 5000);
    const verified = await verifier([personIssuer(people.issuer)]).verify(aliceToken, expiry);
    assert.equal(verified.username, ALICE.email);
  });
});

describe("refused tokens", () => {
  test("expired (beyond the clock skew)", async () => {
    const later = new Date((claimsOf(aliceToken).exp as number) * 1000 + SKEW_MS + 5000);
    await refusal(
      verifier([personIssuer(people.issuer)]).verify(aliceToken, later),
      "expired",
      aliceToken,
    );
  });

  test("issued before the max token age", async () => {
    const issuer = personIssuer(people.issuer, { maxTokenAgeMs: 600_000 });
    const later = new Date((claimsOf(aliceToken).iat as number) * 1000 + 1_800_000);
    await refusal(verifier([issuer]).verify(aliceToken, later), "too_old");
  });

  test("not yet valid: issued in the future beyond the skew (with a max age)", async () => {
    const issuer = personIssuer(people.issuer, { maxTokenAgeMs: 600_000 });
    const earlier = new Date((claimsOf(aliceToken).iat as number) * 1000 - SKEW_MS - 60_000);
    await refusal(verifier([issuer]).verify(aliceToken, earlier), "not_yet_valid");
  });

  test("issued to another client (wrong audience)", async () => {
    const token = await personToken(people.issuer, ALICE, OTHER_CLIENT_ID);
    await refusal(
      verifier([personIssuer(people.issuer)]).verify(token, new Date()),
      "wrong_audience",
      token,
    );
  });

  test("from an issuer that is not trusted", async () => {
    const token = await personToken(stranger.issuer);
    await refusal(
      verifier([personIssuer(people.issuer)]).verify(token, new Date()),
      "unknown_issuer",
      token,
    );
  });

  test("a trusted issuer's name on a token from another issuer: signature from unknown keys", async () => {
    const token = await personToken(stranger.issuer);
    const relabelled = tamperedToken(token, (claims) => {
      claims.iss = people.issuer;
    });
    const error = await refusal(
      verifier([personIssuer(people.issuer)]).verify(relabelled, new Date()),
      "unknown_key",
    );
    assert.match(error.message, /key id/);
  });

  test("alg none", async () => {
    const token = unsignedToken({ ...claimsOf(aliceToken) });
    await refusal(
      verifier([personIssuer(people.issuer)]).verify(token, new Date()),
      "unsupported_algorithm",
    );
  });

  test("HMAC (HS256) is not on the allow-list", async () => {
    const [, payload] = aliceToken.split(".");
    const header = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
    const token = `${header}.${payload}.c2lnbmF0dXJl`;
    await refusal(
      verifier([personIssuer(people.issuer)]).verify(token, new Date()),
      "unsupported_algorithm",
    );
  });

  test("tampered claims (groups added after signing)", async () => {
    const token = tamperedToken(aliceToken, (claims) => {
      claims.groups = ["ops", "dba", "admins"];
    });
    await refusal(
      verifier([personIssuer(people.issuer)]).verify(token, new Date()),
      "bad_signature",
      token,
    );
  });

  test("signed by a key the issuer never published (unknown kid)", async () => {
    const token = await forgedToken({ ...claimsOf(aliceToken) });
    await refusal(
      verifier([personIssuer(people.issuer)]).verify(token, new Date()),
      "unknown_key",
      token,
    );
  });

  test("signed by another key under the issuer's own kid", async () => {
    const token = await forgedToken({ ...claimsOf(aliceToken) }, { kid: people.signingKeyId });
    await refusal(
      verifier([personIssuer(people.issuer)]).verify(token, new Date()),
      "bad_signature",
    );
  });

  test("an access token (typ at+jwt) is not an ID token", async () => {
    const token = await forgedToken({ ...claimsOf(aliceToken) }, { typ: "at+jwt" });
    await refusal(
      verifier([personIssuer(people.issuer)]).verify(token, new Date()),
      "wrong_token_type",
    );
  });

  test("email_verified false when the username claim is email", async () => {
    const token = await personToken(people.issuer, UNVERIFIED);
    await refusal(
      verifier([personIssuer(people.issuer)]).verify(token, new Date()),
      "email_not_verified",
    );
  });

  test("a workload token whose claims do not match required_claims", async () => {
    const token = await workloadToken(ci.issuer);
    const issuer = workloadIssuer(ci.issuer, {
      requiredClaims: new Map([["repository_owner", ["other-org"]]]),
    });
    await refusal(verifier([issuer]).verify(token, new Date()), "claim_mismatch");
  });

  test("a missing username claim", async () => {
    const issuer = personIssuer(people.issuer, { usernameClaim: "upn" });
    const error = await refusal(verifier([issuer]).verify(aliceToken, new Date()), "missing_claim");
    assert.match(error.message, /"upn"/);
  });

  test("not a JWT at all", async () => {
    await refusal(
      verifier([personIssuer(people.issuer)]).verify("not-a-token", new Date()),
      "malformed",
    );
  });

  test("an issuer that cannot be reached: jwks_unavailable (fail closed)", async () => {
    const gone = await startPeopleIdp();
    const token = await personToken(gone.issuer);
    await gone.close();
    await refusal(
      verifier([personIssuer(gone.issuer)]).verify(token, new Date()),
      "jwks_unavailable",
    );
  });
});

test("JWKS rotation: a token signed with the new key verifies after the key set is refreshed", async () => {
  const idp = await startPeopleIdp();
  try {
    const check = verifier([personIssuer(idp.issuer)]);
    const before = await personToken(idp.issuer);
    await check.verify(before, new Date());
    const oldKid = idp.signingKeyId;
    const newKid = idp.rotateKeys();
    assert.notEqual(newKid, oldKid);
    const rotated = await personToken(idp.issuer);
    assert.equal(
      JSON.parse(Buffer.from(rotated.split(".")[0] ?? "", "base64url").toString()).kid,
      newKid,
    );
    const verified = await check.verify(rotated, new Date());
    assert.equal(verified.username, ALICE.email);
    await check.verify(before, new Date());
  } finally {
    await idp.close();
  }
});

test("an unknown kid does not refetch the key set again within the cooldown", async () => {
  const idp = await startPeopleIdp();
  try {
    const check = new TokenVerifier([personIssuer(idp.issuer)], {
      clockSkewMs: SKEW_MS,
      cooldownMs: 60_000,
    });
    await check.verify(await personToken(idp.issuer), new Date());
    idp.rotateKeys();
    const rotated = await personToken(idp.issuer);
    await refusal(check.verify(rotated, new Date()), "unknown_key");
  } finally {
    await idp.close();
  }
});
