// Shared fixtures for the audit index tests: private temp directories and
// the event sequence one real connection produces (field names as emitted by
// src/ssh/connection.ts and src/ssh/command-gate.ts).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { type AuditIndex, type AuditRecord, openAuditIndex } from "../../src/store/index.js";

const root = mkdtempSync(join(tmpdir(), "portcullis-store-"));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** A fresh database path in this test file's private temp directory. */
export function freshPath(): string {
  return join(root, `index-${counter++}.db`);
}

export function openFresh(options: { flushIntervalMs?: number; maxBatch?: number } = {}): {
  index: AuditIndex;
  path: string;
} {
  const path = freshPath();
  return { index: openAuditIndex({ path, ...options }), path };
}

export const T0 = Date.parse("2026-11-22T03:16:00.000Z");
export const at = (offsetMs: number) => new Date(T0 + offsetMs);

export interface Connection {
  session: string;
  user: string;
  target: string;
  login: string;
  groups: string[];
  source_ip: string;
  startMs: number;
}

export function connection(overrides: Partial<Connection> = {}): Connection {
  return {
    session: "20261122T031600Z-9f3a2c1b7e",
    user: "alice",
    target: "db1",
    login: "postgres",
    groups: ["dba", "oncall"],
    source_ip: "192.0.2.10",
    startMs: 0,
    ...overrides,
  };
}

export function event(
  c: Connection,
  name: string,
  offsetMs: number,
  fields: Record<string, unknown>,
) {
  const base = { session: c.session, source_ip: c.source_ip, user: c.user };
  const targeted = name.startsWith("auth.") ? base : { ...base, target: c.target, login: c.login };
  return { event: name, time: at(c.startMs + offsetMs), fields: { ...targeted, ...fields } };
}

export function authSuccess(c: Connection): AuditRecord {
  return event(c, "auth.success", 0, {
    ssh_user: c.target,
    key_id: `${c.user}@example`,
    serial: "42",
    groups: c.groups,
    ca: "SHA256:ca",
  });
}

export function sessionStart(c: Connection, offsetMs = 50): AuditRecord {
  return event(c, "session.start", offsetMs, { access: "dba-db", address: "10.1.1.1:22" });
}

export function command(
  c: Connection,
  offsetMs: number,
  line: string,
  decision: string,
  extra: Record<string, unknown> = {},
): AuditRecord {
  return event(c, "command", offsetMs, {
    line,
    access: "dba-db",
    decision,
    rule: decision === "allow" ? undefined : "baseline#1",
    reason: decision === "allow" ? undefined : "destructive command",
    risk: decision === "deny" ? 90 : 5,
    determined_by: "markers",
    cwd: "/var/lib/postgresql",
    shell: "bash",
    ...extra,
  });
}

export function sessionEnd(c: Connection, offsetMs: number, reason?: string): AuditRecord {
  return event(c, "session.end", offsetMs, {
    ...(reason ? { reason } : {}),
    duration_ms: offsetMs - 50,
  });
}

/** auth.success, session.start, three commands (one denied), a signal, session.end. */
export function typicalConnection(c: Connection): AuditRecord[] {
  return [
    authSuccess(c),
    sessionStart(c),
    command(c, 1_000, "ls -la", "allow"),
    command(c, 2_000, "rm -rf /", "deny"),
    event(c, "signal", 2_500, {
      kind: "unverified",
      reason: "no markers",
      access: "dba-db",
      action: "warn",
    }),
    command(c, 3_000, "psql -c 'select 1'", "warn"),
    sessionEnd(c, 60_000, "connection to db1 closed"),
  ];
}

export function recordAll(index: AuditIndex, records: readonly AuditRecord[]): void {
  for (const record of records) index.record(record);
}
