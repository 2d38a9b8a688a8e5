// The hash chain over the `events` table: canonical JSON of an event's
// fields, the hash that links each row to the one before it, and the check
// that walks the chain and names the first row that was edited, removed or
// moved. The newest link is also kept in `chain_head`, so that deleting the
// newest rows is detected too.

import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import type { ChainProblem } from "./types.js";

/** prev_hash of the first row. */
export const GENESIS_HASH = "0".repeat(64);

export interface ChainLink {
  seq: number;
  hash: string;
}

export interface EventRow {
  seq: number;
  time: number;
  event: string;
  fields: string;
  prev_hash: string;
  hash: string;
}

/** JSON with object keys sorted at every level and no whitespace; `undefined` members are dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== "object") {
    return typeof value === "bigint" ? value.toString() : value;
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(sortKeys);
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  }
  return sorted;
}

/** sha256 over `prev_hash \n seq \n time \n JSON(event) \n fields`, hex. */
export function chainHash(
  prevHash: string,
  seq: number,
  time: number,
  event: string,
  fields: string,
): string {
  return createHash("sha256")
    .update(`${prevHash}\n${seq}\n${time}\n${JSON.stringify(event)}\n${fields}`)
    .digest("hex");
}

export function readChainHead(db: Database.Database): ChainLink | undefined {
  return db.prepare("SELECT seq, hash FROM chain_head WHERE id = 1").get() as ChainLink | undefined;
}

/** Walks every row in order; returns the problems found, first problem first. */
export function verifyChain(db: Database.Database): ChainProblem[] {
  const problems: ChainProblem[] = [];
  const findByHash = db.prepare("SELECT seq FROM events WHERE hash = ?").pluck();
  let previous: ChainLink = { seq: 0, hash: GENESIS_HASH };
  const rows = db
    .prepare("SELECT seq, time, event, fields, prev_hash, hash FROM events ORDER BY seq")
    .iterate() as IterableIterator<EventRow>;
  for (const row of rows) {
    const problem = checkRow(row, previous, (hash) => findByHash.get(hash) as number | undefined);
    if (problem) problems.push(problem);
    previous = { seq: row.seq, hash: row.hash };
  }
  const headProblem = checkHead(previous, readChainHead(db));
  if (headProblem) problems.push(headProblem);
  return problems;
}

function checkRow(
  row: EventRow,
  previous: ChainLink,
  seqOfHash: (hash: string) => number | undefined,
): ChainProblem | undefined {
  const expectedSeq = previous.seq + 1;
  if (row.seq > expectedSeq) {
    const missing =
      row.seq - 1 === expectedSeq
        ? `row ${expectedSeq} is`
        : `rows ${expectedSeq}..${row.seq - 1} are`;
    return { row: expectedSeq, problem: "removed", detail: `${missing} missing from the chain` };
  }
  const selfConsistent =
    chainHash(row.prev_hash, row.seq, row.time, row.event, row.fields) === row.hash;
  if (row.prev_hash === previous.hash) {
    return selfConsistent
      ? undefined
      : { row: row.seq, problem: "edited", detail: `row ${row.seq} does not match its hash` };
  }
  const linkedTo = seqOfHash(row.prev_hash);
  if (linkedTo !== undefined && linkedTo !== previous.seq) {
    return {
      row: row.seq,
      problem: "reordered",
      detail: `the row stored at ${row.seq} follows the row now stored at ${linkedTo}, not row ${previous.seq}`,
    };
  }
  if (!selfConsistent) {
    return { row: row.seq, problem: "edited", detail: `row ${row.seq} does not match its hash` };
  }
  return {
    row: row.seq,
    problem: "bad-link",
    detail: `row ${row.seq} does not link to row ${previous.seq} (row ${previous.seq} was changed and re-hashed, or this link was edited)`,
  };
}

function checkHead(last: ChainLink, head: ChainLink | undefined): ChainProblem | undefined {
  if (head === undefined) {
    return last.seq === 0
      ? undefined
      : { row: last.seq, problem: "bad-link", detail: "the chain head record is missing" };
  }
  if (last.seq < head.seq) {
    return {
      row: last.seq + 1,
      problem: "removed",
      detail: `the newest rows ${last.seq + 1}..${head.seq} are missing (the chain head records row ${head.seq})`,
    };
  }
  if (last.seq > head.seq) {
    return {
      row: head.seq + 1,
      problem: "bad-link",
      detail: `rows after ${head.seq} were added outside the index (the chain head records row ${head.seq})`,
    };
  }
  return last.hash === head.hash
    ? undefined
    : { row: last.seq, problem: "edited", detail: `row ${last.seq} does not match the chain head` };
}
