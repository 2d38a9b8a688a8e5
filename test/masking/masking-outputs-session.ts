// What a test bastion kept of a user's session, for the end-to-end masking
// tests: the index's row (`portcullis recordings list|show`), the text its
// recordings show (the `o` events of the .cast files, joined) and their
// markers, and the `mask` audit counts per detector.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestBastion } from "../harness/bastion.js";

export interface KeptSession {
  readonly id: string;
  /** The session's `recordings list` line. */
  readonly listed: string;
  /** `recordings show ID`. */
  readonly details: string;
}

export interface Recorded {
  /** The output events' data, joined: what a replay shows. */
  readonly output: string;
  /** The markers' labels (`mask: credit-card ×2`, command lines…). */
  readonly markers: readonly string[];
}

/** Reads `read()` until `done` holds or `timeoutMs` passed; returns the last value read (the caller asserts). */
export async function settle<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((wake) => setTimeout(wake, 100));
  }
}

/** The newest session of `user` as the index has it now. */
async function newestSession(bastion: TestBastion, user: string): Promise<KeptSession> {
  const list = await bastion.cli(["recordings", "list", "--user", user]);
  const listed = list.stdout.split("\n")[0] ?? "";
  const id = listed.split(/\s+/)[0] ?? "";
  if (id === "") return { id, listed, details: "" };
  const show = await bastion.cli(["recordings", "show", id]);
  return { id, listed, details: show.stdout };
}

/** The newest session of `user` once it has ended with its recordings closed (or the last seen). */
export function endedSession(bastion: TestBastion, user: string): Promise<KeptSession> {
  return settle(
    () => newestSession(bastion, user),
    (session) =>
      /^ended:/m.test(session.details) && /^recording:.*\(closed\)$/m.test(session.details),
  );
}

/** The masked count `recordings list` shows (`masked=N`), or undefined. */
export function listedMasked(session: KeptSession): number | undefined {
  const count = /\bmasked=(\d+)\b/.exec(session.listed)?.[1];
  return count === undefined ? undefined : Number(count);
}

/** The masked count `recordings show` prints (`masked: N secrets in the output`), 0 when absent. */
export function shownMasked(session: KeptSession): number {
  return Number(/^masked:\s+(\d+) secrets in the output$/m.exec(session.details)?.[1] ?? 0);
}

/** The session's recordings as replayed: output and markers. */
export function recorded(bastion: TestBastion, session: KeptSession): Recorded {
  let output = "";
  const markers: string[] = [];
  for (const [, relativePath] of session.details.matchAll(/^recording:\s+(\S+) \(/gm)) {
    const cast = readFileSync(join(bastion.dir, "recordings", relativePath ?? ""), "utf8");
    for (const line of cast.split("\n").slice(1)) {
      if (line === "") continue;
      const [, code, data] = JSON.parse(line) as [number, string, string];
      if (code === "o") output += data;
      else if (code === "m") markers.push(data);
    }
  }
  return { output, markers };
}

/** The `mask` audit events of `user`'s sessions so far, summed per detector. */
function auditedMaskCounts(bastion: TestBastion, user: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const event of bastion.auditEvents()) {
    if (event.event !== "mask" || event.user !== user) continue;
    const detector = String(event.detector);
    counts[detector] = (counts[detector] ?? 0) + Number(event.count);
  }
  return counts;
}

/** `user`'s audited mask counts once they are `expected` (the audit log is written behind), or the last seen. */
export function settledMaskCounts(
  bastion: TestBastion,
  user: string,
  expected: Record<string, number>,
  timeoutMs = 5_000,
): Promise<Record<string, number>> {
  return settle(
    () => auditedMaskCounts(bastion, user),
    (counts) => sameCounts(counts, expected),
    timeoutMs,
  );
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => a[key] === b[key]);
}
