// Sign-in at the configured OIDC issuer with openid-client: authorization
// code + PKCE (S256), with state and nonce, for a public client. Each
// attempt's secrets wait here, server-side, under a random id the browser
// holds in a short-lived cookie; an attempt is used once. The ID token it
// returns is judged by the bastion's TokenVerifier, not here.

import { randomBytes } from "node:crypto";
import * as client from "openid-client";
import { isLoopbackHost } from "../oidc/index.js";

/** How long the issuer's sign-in page may take. */
export const SIGN_IN_TTL_MS = 10 * 60_000;
/** Beyond this many unfinished attempts, the oldest are forgotten (a flood cannot grow memory). */
const MAX_PENDING = 10_000;

export interface PendingSignIn {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** Where to go once signed in (a path on this server). */
  readonly next: string;
  readonly redirectUri: string;
  readonly expiresAt: number;
}

export interface IssuerClient {
  readonly issuer: string;
  readonly clientId: string;
}

/** Attempts in progress, by the id in the browser's sign-in cookie. */
class PendingSignIns {
  readonly #byId = new Map<string, PendingSignIn>();

  add(pending: PendingSignIn, nowMs: number): string {
    for (const [id, entry] of this.#byId) {
      if (entry.expiresAt > nowMs && this.#byId.size < MAX_PENDING) break;
      this.#byId.delete(id); // insertion order: the oldest first
    }
    const id = randomBytes(24).toString("base64url");
    this.#byId.set(id, pending);
    return id;
  }

  /** The attempt, removed (single use); undefined when unknown or expired. */
  take(id: string, nowMs: number): PendingSignIn | undefined {
    const pending = this.#byId.get(id);
    this.#byId.delete(id);
    return pending !== undefined && pending.expiresAt > nowMs ? pending : undefined;
  }
}

export class OidcSignIn {
  readonly #pending = new PendingSignIns();
  #configuration: Promise<client.Configuration> | undefined;

  constructor(private readonly issuer: IssuerClient) {}

  /** The issuer's authorization URL for a new attempt, and the attempt's id for the cookie. */
  async begin(
    redirectUri: string,
    next: string,
    now: Date,
  ): Promise<{ url: URL; attempt: string }> {
    const config = await this.#config();
    const pending: PendingSignIn = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      next,
      redirectUri,
      expiresAt: now.getTime() + SIGN_IN_TTL_MS,
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: "openid email profile groups",
      response_type: "code",
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: "S256",
    });
    return { url, attempt: this.#pending.add(pending, now.getTime()) };
  }

  /** The attempt a callback belongs to, once (undefined: unknown, used or expired). */
  attempt(id: string, now: Date): PendingSignIn | undefined {
    return this.#pending.take(id, now.getTime());
  }

  /** Redeems the callback's code (state, nonce and PKCE checked); the raw ID token. */
  async finish(callbackUrl: URL, pending: PendingSignIn): Promise<string> {
    const config = await this.#config();
    const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    if (tokens.id_token === undefined) throw new Error("the issuer returned no ID token");
    return tokens.id_token;
  }

  /** Discovery once; retried on the next attempt when it failed. */
  #config(): Promise<client.Configuration> {
    this.#configuration ??= this.#discover().catch((error: unknown) => {
      this.#configuration = undefined;
      throw error;
    });
    return this.#configuration;
  }

  #discover(): Promise<client.Configuration> {
    const url = new URL(this.issuer.issuer);
    const insecure = url.protocol === "http:" && isLoopbackHost(url.hostname);
    return client.discovery(url, this.issuer.clientId, undefined, client.None(), {
      ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
    });
  }
}
