// Signed-in sessions: a random id in a cookie, a row keyed by the id's
// SHA-256 in the WebSessionStore, an idle expiry (activity moves it) and an
// absolute one (sign-in + session_max). The cookie is HttpOnly and
// SameSite=Lax; under TLS it is also Secure and `__Host-`-prefixed.

import { createHash, randomBytes } from "node:crypto";
import type { CookieSerializeOptions } from "@fastify/cookie";
import type { WebSessionRow, WebSessionStore } from "../store/web-sessions.js";

/** Activity is written at most this often per session (not on every request). */
const TOUCH_INTERVAL_MS = 60_000;

export interface SessionLifetimes {
  readonly idleMs: number;
  readonly maxMs: number;
}

export interface SignedInIdentity {
  readonly user: string;
  readonly groups: readonly string[];
  readonly issuer: string;
  readonly subject: string;
}

export function cookieName(secure: boolean, name: string): string {
  return secure ? `__Host-${name}` : name;
}

/** `__Host-` requires Secure, Path=/ and no Domain. */
export function cookieOptions(secure: boolean, maxAgeSeconds?: number): CookieSerializeOptions {
  return {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure,
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
  };
}

function hashId(id: string): string {
  return createHash("sha256").update(id, "utf8").digest("hex");
}

export class WebSessions {
  constructor(
    private readonly store: WebSessionStore,
    private readonly lifetimes: SessionLifetimes,
  ) {}

  /** A new session for `identity`; the returned id goes into the cookie and nowhere else. */
  start(identity: SignedInIdentity, now: Date): { id: string; row: WebSessionRow } {
    this.store.removeExpired(now, new Date(now.getTime() - this.lifetimes.idleMs));
    const id = randomBytes(32).toString("base64url");
    const row: WebSessionRow = {
      idHash: hashId(id),
      ...identity,
      csrfSecret: randomBytes(18).toString("base64url"),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.lifetimes.maxMs),
    };
    this.store.create(row);
    return { id, row };
  }

  /** The live session for a cookie value, its activity recorded; undefined (and removed) once expired. */
  resume(id: string, now: Date): WebSessionRow | undefined {
    const row = this.store.find(hashId(id));
    if (row === undefined) return undefined;
    const idleUntil = row.lastSeenAt.getTime() + this.lifetimes.idleMs;
    if (now.getTime() >= row.expiresAt.getTime() || now.getTime() >= idleUntil) {
      this.store.remove(row.idHash);
      return undefined;
    }
    if (now.getTime() - row.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) {
      this.store.touch(row.idHash, now);
    }
    return row;
  }

  end(id: string): void {
    this.store.remove(hashId(id));
  }

  /** Seconds the cookie may live: until the absolute expiry. */
  cookieMaxAge(row: WebSessionRow, now: Date): number {
    return Math.max(0, Math.floor((row.expiresAt.getTime() - now.getTime()) / 1000));
  }
}
