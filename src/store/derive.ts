// Writing side of the audit index: appends each event to the hash chain and
// derives the session, command, transfer, signal and auth rows from it, all
// inside the caller's transaction. The chain head advances in memory only
// once the caller's transaction has committed (see `commit`).

import type Database from "better-sqlite3";
import { type ChainLink, canonicalJson, chainHash, GENESIS_HASH, readChainHead } from "./chain.js";

/** An event accepted by `record`, already canonicalised. */
export interface QueuedEvent {
  event: string;
  time: number;
  fields: Record<string, unknown>;
  canonical: string;
}

type Fields = Record<string, unknown>;

/** The events kept in `transfer_events` for the viewer's command list. */
const TRANSFER_EVENTS: ReadonlySet<string> = new Set([
  "file.transfer",
  "file.op",
  "tunnel.open",
  "tunnel.close",
]);

interface SessionState {
  started_at: number;
  connected_at: number | null;
}

function text(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return null;
}

function finite(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function groupsJson(value: unknown): string | null {
  return Array.isArray(value) ? JSON.stringify(value.filter((g) => typeof g === "string")) : null;
}

const SESSION_IDENTITY = `
INSERT INTO sessions (id, user, groups, source_ip, target, login, access, started_at, ended_at, end_reason)
VALUES (@id, @user, @groups, @source_ip, @target, @login, @access, @time, @time, 'not connected')
ON CONFLICT (id) DO UPDATE SET
  user = coalesce(excluded.user, user),
  source_ip = coalesce(excluded.source_ip, source_ip),
  target = coalesce(excluded.target, target),
  login = coalesce(excluded.login, login),
  access = coalesce(excluded.access, access),
  started_at = min(started_at, excluded.started_at),
  ended_at = CASE WHEN connected_at IS NULL THEN max(ended_at, excluded.ended_at) ELSE ended_at END
`;

/** A signal's user and target default to its session's (the event normally carries both). */
const SIGNAL = `
INSERT INTO signals (event_seq, session, time, offset_ms, user, target, rule, source, score,
  session_score, action, reason, evidence)
VALUES (@seq, @session, @time, @offset_ms,
  coalesce(@user, (SELECT user FROM sessions WHERE id = @session)),
  coalesce(@target, (SELECT target FROM sessions WHERE id = @session)),
  @rule, @source, @score, @session_score, @action, @reason, @evidence)
`;

export class ChainWriter {
  private head: ChainLink;
  private readonly statements;

  constructor(db: Database.Database) {
    this.head = readChainHead(db) ?? { seq: 0, hash: GENESIS_HASH };
    this.statements = {
      event: db.prepare(
        "INSERT INTO events (seq, time, event, fields, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      head: db.prepare(
        "INSERT INTO chain_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
      ),
      sessionIdentity: db.prepare(SESSION_IDENTITY),
      sessionState: db.prepare("SELECT started_at, connected_at FROM sessions WHERE id = ?"),
      sessionSeen: db.prepare(
        "UPDATE sessions SET started_at = min(started_at, ?), ended_at = max(ended_at, ?) WHERE id = ?",
      ),
      sessionGroups: db.prepare("UPDATE sessions SET groups = ? WHERE id = ?"),
      authGroups: db
        .prepare(
          "SELECT groups FROM auth_events WHERE session = ? AND event = 'auth.success' AND groups IS NOT NULL ORDER BY id DESC LIMIT 1",
        )
        .pluck(),
      sessionConnected: db.prepare(
        "UPDATE sessions SET connected_at = ?, ended_at = NULL, end_reason = NULL WHERE id = ?",
      ),
      sessionEnded: db.prepare("UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ?"),
      sessionDenied: db.prepare(
        "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND connected_at IS NULL",
      ),
      sessionCommand: db.prepare(
        "UPDATE sessions SET commands = commands + 1, denials = denials + ?, max_risk = max(max_risk, ?) WHERE id = ?",
      ),
      sessionSignal: db.prepare(
        "UPDATE sessions SET signals = signals + 1, risk_score = max(risk_score, ?), max_risk = max(max_risk, ?) WHERE id = ?",
      ),
      sessionMasked: db.prepare("UPDATE sessions SET masked = masked + ? WHERE id = ?"),
      sessionFileTransfer: db.prepare(
        "UPDATE sessions SET files = files + 1, bytes_down = bytes_down + ?, bytes_up = bytes_up + ? WHERE id = ?",
      ),
      command: db.prepare(
        "INSERT INTO commands (event_seq, session, time, offset_ms, line, decision, rule, reason, risk, determined_by, cwd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      signal: db.prepare(SIGNAL),
      transferEvent: db.prepare(
        "INSERT INTO transfer_events (event_seq, session, time, offset_ms, event, fields) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      auth: db.prepare(
        "INSERT INTO auth_events (event_seq, time, event, session, user, source_ip, ssh_user, key_id, serial, ca, code, reason, groups) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
    };
  }

  /**
   * Appends the events and their derived rows; call inside a transaction.
   * Returns the new head, to pass to `commit` once the transaction is done.
   */
  append(events: readonly QueuedEvent[]): ChainLink {
    let link = this.head;
    for (const queued of events) {
      const seq = link.seq + 1;
      const hash = chainHash(link.hash, seq, queued.time, queued.event, queued.canonical);
      this.statements.event.run(seq, queued.time, queued.event, queued.canonical, link.hash, hash);
      this.derive(seq, queued);
      link = { seq, hash };
    }
    this.statements.head.run(link.seq, link.hash);
    return link;
  }

  commit(head: ChainLink): void {
    this.head = head;
  }

  /**
   * The session's start time, inserting its row when this is its first event
   * (a recording may be opened, or an exec line decided, before session.start).
   */
  ensureSession(id: string, time: number, fields: Fields = {}): number {
    const existing = this.statements.sessionState.get(id) as SessionState | undefined;
    if (existing === undefined) {
      this.describeSession(id, time, fields, this.groupsOf(id, fields));
      return time;
    }
    if (existing.connected_at === null) this.statements.sessionSeen.run(time, time, id);
    return Math.min(existing.started_at, time);
  }

  /** Inserts or updates the session's identity columns from a session.* event. */
  private describeSession(id: string, time: number, fields: Fields, groups?: string): void {
    this.statements.sessionIdentity.run({
      id,
      time,
      user: text(fields.user),
      source_ip: text(fields.source_ip),
      target: text(fields.target),
      login: text(fields.login),
      access: text(fields.access),
      // Taken on insert only; session.start refreshes them.
      groups: groups ?? this.groupsOf(id, fields),
    });
  }

  /** The event's own `groups`, else those of the connection's auth.success. */
  private groupsOf(session: string, fields: Fields): string {
    return (
      groupsJson(fields.groups) ??
      (this.statements.authGroups.get(session) as string | undefined) ??
      "[]"
    );
  }

  private derive(seq: number, queued: QueuedEvent): void {
    const { event, time, fields } = queued;
    if (event === "auth.success" || event === "auth.failure") {
      this.recordAuth(seq, event, time, fields);
      return;
    }
    const session = text(fields.session);
    if (event === "signal") {
      this.recordSignal(seq, session, time, fields);
      return;
    }
    if (session === null) return;
    if (TRANSFER_EVENTS.has(event)) this.recordTransferEvent(seq, session, queued);
    switch (event) {
      case "session.start":
        this.describeSession(session, time, fields);
        this.statements.sessionConnected.run(time, session);
        this.refreshGroups(session, fields);
        break;
      case "session.end":
        this.describeSession(session, time, fields);
        this.statements.sessionEnded.run(time, text(fields.reason), session);
        break;
      case "session.denied":
        this.describeSession(session, time, fields);
        this.statements.sessionDenied.run(
          time,
          `denied: ${text(fields.reason) ?? "refused"}`,
          session,
        );
        break;
      case "command":
        this.recordCommand(seq, session, time, fields);
        break;
      case "mask":
        this.statements.sessionMasked.run(Math.max(0, finite(fields.count) ?? 0), session);
        break;
      case "file.transfer":
        this.recordFileTransfer(session, time, fields);
        break;
    }
  }

  private refreshGroups(session: string, fields: Fields): void {
    this.statements.sessionGroups.run(this.groupsOf(session, fields), session);
  }

  /** A transfer, file operation or tunnel, its offset on the basis of the commands'. */
  private recordTransferEvent(seq: number, session: string, queued: QueuedEvent): void {
    const startedAt = this.ensureSession(session, queued.time, queued.fields);
    this.statements.transferEvent.run(
      seq,
      session,
      queued.time,
      Math.max(0, queued.time - startedAt),
      queued.event,
      queued.canonical,
    );
  }

  /**
   * A `signal` event, in or outside a session. Older events (`kind`, maybe
   * `risk`, no score) are kept as rule `kind`, source `integrity`, score 0.
   */
  private recordSignal(seq: number, session: string | null, time: number, fields: Fields): void {
    const startedAt = session === null ? time : this.ensureSession(session, time, fields);
    const sessionScore = finite(fields.session_score) ?? 0;
    this.statements.signal.run({
      seq,
      session,
      time,
      offset_ms: Math.max(0, time - startedAt),
      user: text(fields.user),
      target: text(fields.target),
      rule: text(fields.rule) ?? text(fields.kind) ?? "unknown",
      source: text(fields.source) ?? "integrity",
      score: finite(fields.score) ?? 0,
      session_score: sessionScore,
      action: text(fields.action),
      reason: text(fields.reason) ?? "",
      evidence: canonicalJson(isObject(fields.evidence) ? fields.evidence : {}),
    });
    if (session !== null) {
      this.statements.sessionSignal.run(sessionScore, finite(fields.risk) ?? 0, session);
    }
  }

  /** A file opened over sftp (a refused open moved nothing and is not counted). */
  private recordFileTransfer(session: string, time: number, fields: Fields): void {
    if (fields.result === "denied") return;
    this.ensureSession(session, time, fields);
    const bytes = (value: unknown) => Math.max(0, finite(value) ?? 0);
    this.statements.sessionFileTransfer.run(
      bytes(fields.bytes_read),
      bytes(fields.bytes_written),
      session,
    );
  }

  private recordCommand(seq: number, session: string, time: number, fields: Fields): void {
    const startedAt = this.ensureSession(session, time, fields);
    const decision = text(fields.decision) ?? "unknown";
    const risk = finite(fields.risk);
    this.statements.command.run(
      seq,
      session,
      time,
      Math.max(0, time - startedAt),
      text(fields.line) ?? "",
      decision,
      text(fields.rule),
      text(fields.reason),
      risk,
      text(fields.determined_by),
      text(fields.cwd),
    );
    this.statements.sessionCommand.run(decision === "deny" ? 1 : 0, risk ?? 0, session);
  }

  private recordAuth(seq: number, event: string, time: number, fields: Fields): void {
    this.statements.auth.run(
      seq,
      time,
      event,
      text(fields.session),
      text(fields.user),
      text(fields.source_ip),
      text(fields.ssh_user),
      text(fields.key_id),
      text(fields.serial),
      text(fields.ca),
      text(fields.code),
      text(fields.reason),
      groupsJson(fields.groups),
    );
  }
}
