// Shared by the OIDC and HTTP tests: demo users, the people's and the CI
// identity providers (real oidc-provider issuers on loopback), trusted
// issuer settings for them, and tokens forged with jose for the negative
// cases (alg none, unknown keys, wrong typ).

import { generateKeyPairSync, randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import {
  type DemoIdentityProviderOptions,
  type DemoUser,
  startDemoIdentityProvider,
} from "../../src/idp/index.js";
import type { TrustedIssuer } from "../../src/oidc/index.js";
import { obtainIdToken } from "../harness/oidc.js";

export const CLIENT_ID = "portcullis";
export const OTHER_CLIENT_ID = "another-app";
export const CI_AUDIENCE = "https://bastion.example.test";

export const ALICE: DemoUser = {
  username: "alice",
  password: "alice-password",
  email: "alice@example.com",
  groups: ["ops", "dba"],
};
export const UNVERIFIED: DemoUser = {
  username: "mallory",
  password: "mallory-password",
  email: "mallory@example.com",
  email_verified: false,
  groups: ["ops"],
};
/** A CI job as a workload issuer names it (GitHub Actions' `sub` shape). */
export const CI_JOB: DemoUser = {
  username: "repo:acme/deploy:ref:refs/heads/main",
  password: "ci-password",
  groups: [],
  claims: { repository: "acme/deploy", repository_owner: "acme" },
};

export function startPeopleIdp(options: Partial<DemoIdentityProviderOptions> = {}) {
  return startDemoIdentityProvider({
    users: [ALICE, UNVERIFIED],
    clients: [{ clientId: CLIENT_ID }, { clientId: OTHER_CLIENT_ID }],
    deviceIntervalSeconds: 1,
    ...options,
  });
}

/** A second issuer standing in for a CI provider: its client id is the bastion's workload audience. */
export function startCiIdp() {
  return startDemoIdentityProvider({
    users: [CI_JOB],
    clients: [{ clientId: CI_AUDIENCE }],
    deviceIntervalSeconds: 1,
  });
}

export function personToken(issuer: string, user: DemoUser = ALICE, clientId = CLIENT_ID) {
  return obtainIdToken(issuer, { clientId, username: user.username, password: user.password });
}

export function workloadToken(issuer: string) {
  return obtainIdToken(issuer, {
    clientId: CI_AUDIENCE,
    username: CI_JOB.username,
    password: CI_JOB.password,
  });
}

export function personIssuer(
  issuer: string,
  overrides: Partial<TrustedIssuer> = {},
): TrustedIssuer {
  return {
    kind: "person",
    issuer,
    audience: CLIENT_ID,
    usernameClaim: "email",
    usernamePrefix: "",
    groupsClaim: "groups",
    staticGroups: [],
    groupMap: new Map(),
    requiredClaims: new Map(),
    certTtlMs: 8 * 3_600_000,
    capToTokenLifetime: false,
    ...overrides,
  };
}

export function workloadIssuer(
  issuer: string,
  overrides: Partial<TrustedIssuer> = {},
): TrustedIssuer {
  return {
    kind: "workload",
    issuer,
    audience: CI_AUDIENCE,
    usernameClaim: "sub",
    usernamePrefix: "ci:",
    staticGroups: ["ci"],
    groupMap: new Map(),
    requiredClaims: new Map([["repository_owner", ["acme"]]]),
    certTtlMs: 3_600_000,
    capToTokenLifetime: false,
    ...overrides,
  };
}

/** A JWT with these claims, signed by a fresh RSA key the issuer has never published. */
export function forgedToken(
  claims: Record<string, unknown>,
  header: { kid?: string; typ?: string } = {},
): Promise<string> {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const nowSeconds = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: nowSeconds, exp: nowSeconds + 600, sub: "alice", ...claims })
    .setProtectedHeader({ alg: "RS256", kid: header.kid ?? randomUUID(), ...header })
    .sign(privateKey);
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** An unsigned token (`alg: none`), as RFC 7519 §6 writes it. */
export function unsignedToken(claims: Record<string, unknown>): string {
  return `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims)}.`;
}

/** The token with its claims replaced (signature kept): what tampering in transit looks like. */
export function tamperedToken(token: string, change: (claims: Record<string, unknown>) => void) {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString()) as Record<
    string,
    unknown
  >;
  change(claims);
  return `${header}.${base64url(claims)}.${signature}`;
}

export function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
}
