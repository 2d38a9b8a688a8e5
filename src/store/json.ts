// Index rows as JSON objects (snake_case keys, ISO times, null for absent
// values, as in the audit events): `portcullis signals --json`.
import type { SignalRow } from "./types.js";

export function signalJson(row: SignalRow) {
  return {
    seq: row.seq,
    time: row.time.toISOString(),
    session: row.session ?? null,
    user: row.user ?? null,
    target: row.target ?? null,
    offset_ms: row.offsetMs,
    rule: row.rule,
    source: row.source,
    score: row.score,
    session_score: row.sessionScore,
    reason: row.reason,
    action: row.action ?? null,
    evidence: row.evidence,
  };
}
