// Sign-in with authorization code + PKCE (S256) in a browser on this
// machine, redirected back to a loopback port; state and nonce are random
// per attempt and checked (openid-client). Resolves with the ID token.

import * as client from "openid-client";
import { PortcullisError } from "../util/errors.js";
import { formatDuration } from "./clock.js";
import { type IdentityProvider, identityProviderError, idTokenOf } from "./identity-provider.js";
import { type Callback, startLoopbackRedirect } from "./loopback-redirect.js";
import type { SignInUi } from "./sign-in-ui.js";

/** How long login waits for the browser to come back. */
export const BROWSER_TIMEOUT_MS = 5 * 60_000;

export async function browserSignIn(
  idp: IdentityProvider,
  ui: SignInUi,
  now: () => Date,
  timeoutMs = BROWSER_TIMEOUT_MS,
): Promise<string> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const redirect = await startLoopbackRedirect();
  try {
    const url = client.buildAuthorizationUrl(idp.config, {
      redirect_uri: redirect.redirectUri,
      scope: idp.scope,
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    ui.showBrowserUrl(url.href);
    const stopWaiting = ui.waiting(
      "Waiting for the browser to finish sign-in",
      new Date(now().getTime() + timeoutMs),
    );
    let callback: Callback;
    try {
      callback = await withTimeout(redirect.callback, timeoutMs);
    } finally {
      stopWaiting();
    }
    return await exchange(
      idp,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce },
      now,
    );
  } finally {
    await redirect.close();
  }
}

async function exchange(
  idp: IdentityProvider,
  callback: Callback,
  checks: client.AuthorizationCodeGrantChecks,
  now: () => Date,
): Promise<string> {
  try {
    const response = await client.authorizationCodeGrant(idp.config, callback.url, checks);
    const token = idTokenOf(response, now());
    callback.finish(true, "You are signed in to Portcullis. You can close this tab.");
    return token;
  } catch (error) {
    const failure = identityProviderError(idp.issuer, error);
    callback.finish(false, `${failure.message}. You can close this tab.`);
    throw failure;
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PortcullisError(
            "ERR_LOGIN_EXPIRED",
            `the browser did not come back within ${formatDuration(timeoutMs)}: run portcullis login --browser again`,
          ),
        ),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
