// An embedded, real OpenID Connect issuer on loopback (oidc-provider 9), for
// `portcullis demo` and the tests: device authorization grant and
// authorization code + PKCE for public native clients (loopback redirects on
// any port: `portcullis login`'s and the web viewer's), `groups` and the
// users' claims in the ID token, RS256 keys that can be rotated. Never for
// production: users and passwords live in memory.

import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";
import { createMemoryAdapter } from "oidc-provider/lib/adapters/memory_adapter.js";
import { accountFor, type DemoUser, extraClaimNames } from "./accounts.js";
import { handleInteraction, INTERACTION_PATH } from "./interactions.js";

export type { DemoUser } from "./accounts.js";

export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
/**
 * Registered redirects; a native client may use them on any loopback port (RFC 8252 §7.3):
 * `portcullis login`'s loopback listener and the web viewer's callback on a loopback listener.
 */
export const DEFAULT_REDIRECT_URIS = [
  "http://127.0.0.1/callback",
  "http://localhost/callback",
  "http://127.0.0.1/auth/callback",
  "http://localhost/auth/callback",
];
const SCOPES = ["openid", "email", "profile", "groups"];

export interface DemoClient {
  /** Also the `aud` of its ID tokens. */
  readonly clientId: string;
  readonly redirectUris?: readonly string[];
}

export interface DemoIdentityProviderOptions {
  /** 0 (the default) picks an ephemeral port. */
  readonly port?: number;
  readonly users: readonly DemoUser[];
  readonly clients: readonly DemoClient[];
  /** Polling interval announced in device authorization responses (default 5 s). */
  readonly deviceIntervalSeconds?: number;
  /** ID token lifetime (default 3600 s). */
  readonly idTokenTtlSeconds?: number;
}

export interface DemoIdentityProvider {
  /** `http://127.0.0.1:PORT`, the `iss` of its tokens. */
  readonly issuer: string;
  /** The key id tokens are signed with now. */
  readonly signingKeyId: string;
  /** Signs new tokens with a new key; the old keys stay published. Returns the new key id. */
  rotateKeys(): string;
  close(): Promise<void>;
}

type SigningJwk = Record<string, unknown> & { kid: string };

function newSigningKey(): SigningJwk {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "RS256", use: "sig" };
}

function clientMetadata(client: DemoClient): Record<string, unknown> {
  return {
    client_id: client.clientId,
    application_type: "native",
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", DEVICE_CODE_GRANT],
    response_types: ["code"],
    redirect_uris: [...(client.redirectUris ?? DEFAULT_REDIRECT_URIS)],
  };
}

function providerConfiguration(
  options: DemoIdentityProviderOptions,
  keys: readonly SigningJwk[],
  cookieKey: string,
): Record<string, unknown> {
  const { users } = options;
  return {
    clients: options.clients.map(clientMetadata),
    jwks: { keys },
    findAccount: (_ctx: unknown, id: string) => {
      const user = users.find((candidate) => candidate.username === id);
      return user === undefined ? undefined : accountFor(user);
    },
    scopes: SCOPES,
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name", "preferred_username", ...extraClaimNames(users)],
      groups: ["groups"],
    },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false }, deviceFlow: { enabled: true } },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    cookies: { keys: [cookieKey] },
    // oidc-provider's own in-memory store, one per provider, chosen on purpose
    // (passing it explicitly also stops the "you MUST change it" warning that
    // would confuse demo users: nothing here is meant to survive a restart).
    adapter: createMemoryAdapter(),
    ttl: {
      IdToken: options.idTokenTtlSeconds ?? 3600,
      DeviceCode: 600,
      Interaction: 600,
      Session: 28_800,
      Grant: 28_800,
    },
  };
}

function buildProvider(
  issuer: string,
  options: DemoIdentityProviderOptions,
  keys: readonly SigningJwk[],
  cookieKey: string,
): Provider {
  const provider = new Provider(issuer, providerConfiguration(options, keys, cookieKey));
  const interval = options.deviceIntervalSeconds ?? 5;
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body;
    if (ctx.oidc?.route === "device_authorization" && ctx.status === 200 && isRecord(body)) {
      body.interval = interval;
    }
  });
  return provider;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Starts the issuer on 127.0.0.1 and resolves once it accepts requests. */
export async function startDemoIdentityProvider(
  options: DemoIdentityProviderOptions,
): Promise<DemoIdentityProvider> {
  let route: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503).end();
  };
  const server = createServer((req, res) => route(req, res));
  const port = await listen(server, options.port ?? 0);
  const issuer = `http://127.0.0.1:${port}`;
  const cookieKey = randomBytes(32).toString("base64url");
  let keys: SigningJwk[] = [newSigningKey()];

  const install = () => {
    const provider = buildProvider(issuer, options, keys, cookieKey);
    const oidc = provider.callback();
    route = (req, res) => {
      const path = new URL(req.url ?? "/", issuer).pathname;
      if (INTERACTION_PATH.test(path)) void handleInteraction(provider, options.users, req, res);
      else oidc(req, res);
    };
  };
  install();

  return {
    issuer,
    get signingKeyId() {
      return (keys[0] as SigningJwk).kid;
    },
    rotateKeys: () => {
      const key = newSigningKey();
      keys = [key, ...keys];
      install();
      return key.kid;
    },
    close: () => closeServer(server),
  };
}
