// Real ID tokens from the embedded identity provider (src/idp) for tests: a
// person (or a CI job) signing in through the device authorization grant or
// the authorization code + PKCE flow, driven over plain HTTP form posts with a
// cookie jar, exactly as a browser would submit the provider's pages.

import { createHash, randomBytes } from "node:crypto";

export const TEST_SCOPE = "openid email profile groups";

interface Discovery {
  authorization_endpoint: string;
  device_authorization_endpoint: string;
  token_endpoint: string;
}

export interface SignIn {
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
  readonly scope?: string;
}

/** The token endpoint's answer. */
export interface TokenResponse {
  id_token: string;
  access_token: string;
  expires_in: number;
}

/** A cookie-keeping client that submits the provider's pages as a browser would. */
export class Browser {
  readonly #cookies = new Map<string, string>();

  async request(url: string, form?: Record<string, string>): Promise<Response> {
    const headers: Record<string, string> = { cookie: this.#cookieHeader() };
    const init: RequestInit = { redirect: "manual", headers };
    if (form !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      init.method = "POST";
      init.body = new URLSearchParams(form).toString();
    }
    const response = await fetch(url, init);
    this.#store(response);
    return response;
  }

  /** Requests `url` (a form post when `form` is given), then follows redirects with GET; the last answer. */
  async visit(
    url: string,
    form?: Record<string, string>,
  ): Promise<{ url: string; status: number; body: string }> {
    let current = url;
    let response = await this.request(current, form);
    while (response.status >= 300 && response.status < 400) {
      current = new URL(response.headers.get("location") ?? "", current).href;
      response = await this.request(current);
    }
    return { url: current, status: response.status, body: await response.text() };
  }

  /** As visit(), but the last answer must be a success. */
  async follow(url: string, form?: Record<string, string>): Promise<{ url: string; body: string }> {
    const page = await this.visit(url, form);
    if (page.status < 200 || page.status >= 300)
      throw new Error(`${page.url} answered ${page.status}: ${page.body.slice(0, 300)}`);
    return page;
  }

  /** Requests `url` and follows redirects until one points at `prefix`; returns that location. */
  async redirectTo(prefix: string, url: string, form?: Record<string, string>): Promise<URL> {
    let current = url;
    let response = await this.request(current, form);
    for (;;) {
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || location === null) {
        throw new Error(`${current} answered ${response.status} instead of redirecting`);
      }
      const next = new URL(location, current);
      if (next.href.startsWith(prefix)) return next;
      current = next.href;
      response = await this.request(current);
    }
  }

  #cookieHeader(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  #store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const equals = pair.indexOf("=");
      const name = pair.slice(0, equals).trim();
      const value = pair.slice(equals + 1).trim();
      const expired = /expires=Thu, 01 Jan 1970/i.test(line) || value === "";
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
}

async function discover(issuer: string): Promise<Discovery> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  return (await response.json()) as Discovery;
}

async function postForm(url: string, form: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
}

function hiddenXsrf(page: string): string {
  const match = /name="xsrf" value="([^"]+)"/.exec(page);
  if (match?.[1] === undefined) throw new Error("no xsrf field on the device page");
  return match[1];
}

function interactionAction(page: string): string {
  const match = /action="(\/interaction\/[^"]+)"/.exec(page);
  if (match?.[1] === undefined) throw new Error(`no sign-in form: ${page.slice(0, 300)}`);
  return match[1];
}

async function tokens(response: Response): Promise<TokenResponse> {
  const body = (await response.json()) as TokenResponse & { error?: string };
  if (!response.ok) throw new Error(`token endpoint: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Starts a device authorization for `clientId`; the device code and the user code. */
export async function startDeviceAuthorization(
  issuer: string,
  clientId: string,
  scope = TEST_SCOPE,
): Promise<{
  device_code: string;
  user_code: string;
  verification_uri: string;
  interval?: number;
}> {
  const { device_authorization_endpoint } = await discover(issuer);
  const response = await postForm(device_authorization_endpoint, { client_id: clientId, scope });
  if (!response.ok) throw new Error(`device authorization: ${response.status}`);
  return (await response.json()) as Awaited<ReturnType<typeof startDeviceAuthorization>>;
}

/** The person at the browser: enters the user code, confirms, signs in. */
export async function approveDeviceCode(
  verificationUri: string,
  userCode: string,
  username: string,
  password: string,
): Promise<void> {
  const browser = new Browser();
  const input = await browser.follow(verificationUri);
  const form = { xsrf: hiddenXsrf(input.body), user_code: userCode };
  const confirm = await browser.follow(verificationUri, form);
  const signIn = await browser.follow(verificationUri, {
    ...form,
    xsrf: hiddenXsrf(confirm.body),
    confirm: "yes",
  });
  const action = new URL(interactionAction(signIn.body), verificationUri).href;
  await browser.follow(action, { prompt: "login", login: username, password });
}

/** Signs in through the device authorization grant; returns the token endpoint's answer. */
export async function deviceFlowTokens(issuer: string, signIn: SignIn): Promise<TokenResponse> {
  const device = await startDeviceAuthorization(issuer, signIn.clientId, signIn.scope);
  await approveDeviceCode(
    device.verification_uri,
    device.user_code,
    signIn.username,
    signIn.password,
  );
  return tokens(await redeemDeviceCode(issuer, signIn.clientId, device.device_code));
}

/** The token endpoint's raw answer for a device code (as the polling client asks). */
export async function redeemDeviceCode(
  issuer: string,
  clientId: string,
  deviceCode: string,
): Promise<Response> {
  const { token_endpoint } = await discover(issuer);
  return postForm(token_endpoint, {
    grant_type: "urn:ietf:params:oauth:grant-type:device_code",
    device_code: deviceCode,
    client_id: clientId,
  });
}

/** Signs in through authorization code + PKCE with a loopback redirect (never listened on). */
export async function authorizationCodeTokens(
  issuer: string,
  signIn: SignIn,
  redirectUri = "http://127.0.0.1:53682/callback",
): Promise<TokenResponse> {
  const { authorization_endpoint, token_endpoint } = await discover(issuer);
  const verifier = randomBytes(32).toString("base64url");
  const authorize = new URL(authorization_endpoint);
  authorize.search = new URLSearchParams({
    client_id: signIn.clientId,
    redirect_uri: redirectUri,
    response_type: "code",
    scope: signIn.scope ?? TEST_SCOPE,
    state: randomBytes(8).toString("hex"),
    nonce: randomBytes(8).toString("hex"),
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  }).toString();
  const browser = new Browser();
  const page = await browser.follow(authorize.href);
  const action = new URL(interactionAction(page.body), issuer).href;
  const callback = await browser.redirectTo(redirectUri, action, {
    prompt: "login",
    login: signIn.username,
    password: signIn.password,
  });
  return tokens(
    await postForm(token_endpoint, {
      grant_type: "authorization_code",
      code: callback.searchParams.get("code") ?? "",
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: signIn.clientId,
    }),
  );
}

/** A real ID token for `signIn`'s user, through the device flow. */
export async function obtainIdToken(issuer: string, signIn: SignIn): Promise<string> {
  return (await deviceFlowTokens(issuer, signIn)).id_token;
}
