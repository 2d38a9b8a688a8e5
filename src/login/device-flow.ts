// Sign-in with the OAuth device authorization grant (RFC 8628): show the
// verification URL and user code, then poll the token endpoint (openid-client
// honours `interval` and `slow_down`) until the person approves, refuses,
// or the code expires. Resolves with the ID token.

import * as client from "openid-client";
import {
  codeExpired,
  type IdentityProvider,
  identityProviderError,
  idTokenOf,
} from "./identity-provider.js";
import type { SignInUi } from "./sign-in-ui.js";

export async function deviceFlowSignIn(
  idp: IdentityProvider,
  ui: SignInUi,
  now: () => Date,
): Promise<string> {
  let device: client.DeviceAuthorizationResponse;
  try {
    device = await client.initiateDeviceAuthorization(idp.config, { scope: idp.scope });
  } catch (error) {
    throw identityProviderError(idp.issuer, error);
  }
  ui.showDeviceCode({
    verificationUri: device.verification_uri,
    userCode: device.user_code,
    ...(device.verification_uri_complete === undefined
      ? {}
      : { verificationUriComplete: device.verification_uri_complete }),
  });
  const expiresInMs = device.expires_in * 1000;
  const expiry = new AbortController();
  const timer = setTimeout(() => expiry.abort(), expiresInMs);
  const stopWaiting = ui.waiting(
    "Waiting for you to sign in",
    new Date(now().getTime() + expiresInMs),
  );
  try {
    const response = await client.pollDeviceAuthorizationGrant(idp.config, device, undefined, {
      signal: expiry.signal,
    });
    return idTokenOf(response, now());
  } catch (error) {
    throw expiry.signal.aborted ? codeExpired() : identityProviderError(idp.issuer, error);
  } finally {
    clearTimeout(timer);
    stopWaiting();
  }
}
