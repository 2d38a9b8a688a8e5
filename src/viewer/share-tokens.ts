// Share link tokens and lifetimes (pure except for the random bytes): a
// link carries 256 random bits (base64url); the database keeps only their
// SHA-256 and a short public id for lists and audit events. The lifetimes
// offered are 1 hour, 24 hours and 7 days up to `viewer.share_max_ttl`, and
// that maximum itself when it is none of them.

import { createHash, randomBytes } from "node:crypto";
import type { ShareLinkRow } from "../store/share-links.js";
import { duration } from "./format.js";

export const SHARE_PREFIX = "/share/";
/** 32 random bytes in base64url: 43 characters. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const HOUR_MS = 3_600_000;
const STANDARD_TTLS: readonly [number, string][] = [
  [HOUR_MS, "1 hour"],
  [24 * HOUR_MS, "24 hours"],
  [7 * 24 * HOUR_MS, "7 days"],
];

export interface NewToken {
  readonly token: string;
  readonly tokenHash: string;
  /** The public name: 8 random bytes in hex, unrelated to the token. */
  readonly id: string;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function newShareToken(): NewToken {
  const token = randomBytes(32).toString("base64url");
  return { token, tokenHash: hashToken(token), id: randomBytes(8).toString("hex") };
}

export function looksLikeToken(text: string): boolean {
  return TOKEN.test(text);
}

export interface TtlChoice {
  readonly ms: number;
  readonly label: string;
}

export function ttlChoices(maxMs: number): TtlChoice[] {
  const choices = STANDARD_TTLS.filter(([ms]) => ms <= maxMs).map(([ms, label]) => ({ ms, label }));
  if (!choices.some((choice) => choice.ms === maxMs))
    choices.push({ ms: maxMs, label: duration(maxMs) });
  return choices;
}

export function isLive(row: ShareLinkRow, now: Date): boolean {
  return row.revokedAt === undefined && now.getTime() < row.expiresAt.getTime();
}

/** A URL path with any share token cut to its first characters (for logs). */
export function redactSharePath(path: string): string {
  return path.replace(/\/share\/([A-Za-z0-9_-]{6})[A-Za-z0-9_-]*/g, "/share/$1…");
}
