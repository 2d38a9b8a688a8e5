// The embedded OIDC issuer (src/idp): device flow and authorization code +
// PKCE (loopback redirect on any port) give RS256 ID tokens with the user's
// email and groups, verifiable against the issuer's own JWKS; a wrong
// password gives nothing; rotated keys are published beside the old ones.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { DemoIdentityProvider } from "../../src/idp/index.js";
import {
  approveDeviceCode,
  authorizationCodeTokens,
  deviceFlowTokens,
  redeemDeviceCode,
  startDeviceAuthorization,
} from "../harness/oidc.js";
import { ALICE, CLIENT_ID, startPeopleIdp } from "../oidc/fixtures.js";

let idp: DemoIdentityProvider;

before(async () => {
  idp = await startPeopleIdp();
});
after(() => idp.close());

async function verified(token: string) {
  const keys = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
  return jwtVerify(token, keys, { issuer: idp.issuer, audience: CLIENT_ID });
}

const signIn = { clientId: CLIENT_ID, username: ALICE.username, password: ALICE.password };

test("the device flow gives an ID token with email, email_verified and groups", async () => {
  const { id_token } = await deviceFlowTokens(idp.issuer, signIn);
  const { payload, protectedHeader } = await verified(id_token);
  assert.equal(protectedHeader.alg, "RS256");
  assert.equal(protectedHeader.kid, idp.signingKeyId);
  assert.equal(payload.sub, ALICE.username);
  assert.equal(payload.email, ALICE.email);
  assert.equal(payload.email_verified, true);
  assert.deepEqual(payload.groups, ALICE.groups);
});

test("device authorization announces the configured polling interval", async () => {
  const device = await startDeviceAuthorization(idp.issuer, CLIENT_ID);
  assert.equal(device.interval, 1);
  assert.match(device.user_code, /^[A-Z]{4}-[A-Z]{4}$/);
});

test("authorization code + PKCE with a loopback redirect on an ephemeral port", async () => {
  const { id_token } = await authorizationCodeTokens(
    idp.issuer,
    signIn,
    "http://127.0.0.1:40123/callback",
  );
  const { payload } = await verified(id_token);
  assert.equal(payload.email, ALICE.email);
  assert.equal(typeof payload.nonce, "string");
});

test("a wrong password signs nobody in and the device code stays pending", async () => {
  const device = await startDeviceAuthorization(idp.issuer, CLIENT_ID);
  await assert.rejects(
    approveDeviceCode(device.verification_uri, device.user_code, ALICE.username, "wrong"),
    /answered 401/,
  );
  const response = await redeemDeviceCode(idp.issuer, CLIENT_ID, device.device_code);
  assert.equal(((await response.json()) as { error: string }).error, "authorization_pending");
});

test("rotating keys signs with a new key and keeps publishing the old one", async () => {
  const own = await startPeopleIdp();
  try {
    const old = own.signingKeyId;
    const fresh = own.rotateKeys();
    const jwks = (await (await fetch(`${own.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    assert.deepEqual(jwks.keys.map((key) => key.kid).sort(), [old, fresh].sort());
    const { id_token } = await deviceFlowTokens(own.issuer, signIn);
    const header = JSON.parse(Buffer.from(id_token.split(".")[0] ?? "", "base64url").toString());
    assert.equal(header.kid, fresh);
  } finally {
    await own.close();
  }
});
