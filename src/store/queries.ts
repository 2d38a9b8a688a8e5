// Reading side of the audit index: session listing with filters and paging,
// one session with its commands, transfers and tunnels, and signals, signal
// listing, a user's session history, and recordings. Rows are mapped to the
// public types here and nowhere else.

import type Database from "better-sqlite3";
import type {
  CommandRow,
  HistorySession,
  IssuedCertificateRow,
  PrunableRecording,
  RecordingRow,
  RecordingStatus,
  SessionDetail,
  SessionFilter,
  SessionSummary,
  SignalFilter,
  SignalRow,
  TransferEventName,
  TransferRow,
} from "./types.js";

export const DEFAULT_PAGE_SIZE = 100;
/** Shorter text has no trigram, so it is searched by a scan (LIKE) instead of the text index. */
const TRIGRAM = 3;

interface SessionDbRow {
  id: string;
  user: string | null;
  groups: string;
  source_ip: string | null;
  target: string | null;
  login: string | null;
  access: string | null;
  started_at: number;
  ended_at: number | null;
  end_reason: string | null;
  commands: number;
  denials: number;
  max_risk: number;
  risk_score: number;
  signals: number;
  masked: number;
  files: number;
  bytes_down: number;
  bytes_up: number;
}

interface RecordingDbRow {
  id: string;
  session: string;
  relative_path: string;
  started_at: number;
  status: RecordingStatus;
  ended_at: number | null;
  sha256: string | null;
  bytes: number | null;
  signature: string | null;
  width: number | null;
  height: number | null;
  title: string | null;
  pruned_at: number | null;
}

interface CommandDbRow {
  session: string;
  time: number;
  offset_ms: number;
  line: string;
  decision: string;
  rule: string | null;
  reason: string | null;
  risk: number | null;
  determined_by: string | null;
  cwd: string | null;
}

/** One session's rows of `transfer_events`, through its (session, time) index. */
export const SESSION_TRANSFERS =
  "SELECT session, time, offset_ms, event, fields FROM transfer_events WHERE session = ? ORDER BY time, id";

/** The user's connected sessions started in [since, until), through the (user, started_at) index. */
export const USER_HISTORY = `SELECT id, target, source_ip, started_at, bytes_down FROM sessions
  WHERE user = @user AND started_at >= @since AND started_at < @until AND connected_at IS NOT NULL
  ORDER BY started_at, id`;

interface SignalDbRow {
  event_seq: number;
  session: string | null;
  time: number;
  offset_ms: number;
  user: string | null;
  target: string | null;
  rule: string;
  source: string;
  score: number;
  session_score: number;
  action: string | null;
  reason: string;
  evidence: string;
}

interface HistoryDbRow {
  id: string;
  target: string | null;
  source_ip: string | null;
  started_at: number;
  bytes_down: number;
}

interface TransferDbRow {
  session: string;
  time: number;
  offset_ms: number;
  event: TransferEventName;
  fields: string;
}

/** Copies the non-null entries of `optional` onto `base`. */
function withPresent<T extends object>(base: T, optional: Record<string, unknown>): T {
  for (const [key, value] of Object.entries(optional)) {
    if (value !== null && value !== undefined) (base as Record<string, unknown>)[key] = value;
  }
  return base;
}

const optionalDate = (ms: number | null) => (ms === null ? null : new Date(ms));

function toRecording(row: RecordingDbRow): RecordingRow {
  return withPresent(
    {
      id: row.id,
      session: row.session,
      relativePath: row.relative_path,
      startedAt: new Date(row.started_at),
      status: row.status,
    },
    {
      endedAt: optionalDate(row.ended_at),
      sha256: row.sha256,
      bytes: row.bytes,
      signature: row.signature,
      width: row.width,
      height: row.height,
      title: row.title,
      prunedAt: optionalDate(row.pruned_at),
    },
  );
}

interface IssuedCertificateDbRow {
  serial: string;
  key_id: string;
  principals: string;
  groups: string;
  issuer: string;
  subject: string;
  key_fingerprint: string;
  source_ip: string | null;
  issued_at: number;
  valid_after: number;
  valid_before: number;
}

function toIssuedCertificate(row: IssuedCertificateDbRow): IssuedCertificateRow {
  return withPresent(
    {
      serial: BigInt(row.serial),
      keyId: row.key_id,
      principals: JSON.parse(row.principals) as string[],
      groups: JSON.parse(row.groups) as string[],
      issuer: row.issuer,
      subject: row.subject,
      keyFingerprint: row.key_fingerprint,
      issuedAt: new Date(row.issued_at),
      validAfter: new Date(row.valid_after),
      validBefore: new Date(row.valid_before),
    },
    { sourceIp: row.source_ip },
  );
}

function toSession(row: SessionDbRow, recordings: RecordingRow[]): SessionSummary {
  return withPresent(
    {
      id: row.id,
      groups: JSON.parse(row.groups) as string[],
      startedAt: new Date(row.started_at),
      commands: row.commands,
      denials: row.denials,
      maxRisk: row.max_risk,
      riskScore: row.risk_score,
      signals: row.signals,
      masked: row.masked,
      files: row.files,
      bytesDown: row.bytes_down,
      bytesUp: row.bytes_up,
      recordings,
    },
    {
      user: row.user,
      sourceIp: row.source_ip,
      target: row.target,
      login: row.login,
      access: row.access,
      endedAt: optionalDate(row.ended_at),
      endReason: row.end_reason,
    },
  );
}

function toCommand(row: CommandDbRow): CommandRow {
  return withPresent(
    {
      session: row.session,
      time: new Date(row.time),
      offsetMs: row.offset_ms,
      line: row.line,
      decision: row.decision,
    },
    {
      rule: row.rule,
      reason: row.reason,
      risk: row.risk,
      determinedBy: row.determined_by,
      cwd: row.cwd,
    },
  );
}

function toTransfer(row: TransferDbRow): TransferRow {
  const fields = JSON.parse(row.fields) as Record<string, unknown>;
  const text = (key: string) => (typeof fields[key] === "string" ? fields[key] : null);
  const count = (key: string) => (Number.isFinite(fields[key]) ? fields[key] : null);
  return withPresent(
    {
      session: row.session,
      event: row.event,
      time: new Date(row.time),
      offsetMs: row.offset_ms,
    },
    {
      direction: text("direction"),
      op: text("op"),
      path: text("path"),
      to: text("to"),
      bytes: count("bytes"),
      result: text("result"),
      reason: text("reason"),
      rule: text("rule"),
      via: text("via"),
      tunnel: text("tunnel"),
      kind: text("kind"),
      destination: text("destination"),
      decision: text("decision"),
      bytesToTarget: count("bytes_to_target"),
      bytesFromTarget: count("bytes_from_target"),
      error: text("error"),
    },
  );
}

function toSignal(row: SignalDbRow): SignalRow {
  return withPresent(
    {
      seq: row.event_seq,
      time: new Date(row.time),
      offsetMs: row.offset_ms,
      rule: row.rule,
      source: row.source,
      score: row.score,
      sessionScore: row.session_score,
      reason: row.reason,
      evidence: JSON.parse(row.evidence) as Record<string, unknown>,
    },
    { session: row.session, user: row.user, target: row.target, action: row.action },
  );
}

function toHistory(row: HistoryDbRow): HistorySession {
  return withPresent(
    { id: row.id, startedAt: new Date(row.started_at), bytesDown: row.bytes_down },
    { target: row.target, sourceIp: row.source_ip },
  );
}

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function ftsPhrase(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

interface Clauses {
  where: string[];
  params: Record<string, unknown>;
}

/** The conditions whose value is given, each with its value under its parameter's name. */
function clausesOf(
  conditions: ReadonlyArray<[sql: string, name: string, value: unknown]>,
): Clauses {
  const clauses: Clauses = { where: [], params: {} };
  for (const [sql, name, value] of conditions) {
    if (value === undefined) continue;
    clauses.where.push(sql);
    clauses.params[name] = value instanceof Date ? value.getTime() : value;
  }
  return clauses;
}

function whereSql(where: readonly string[]): string {
  return where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
}

/** The WHERE clauses and parameters of a session filter. */
function sessionClauses(filter: SessionFilter): Clauses {
  const clauses = clausesOf([
    ["s.user = @user", "user", filter.user],
    ["s.target = @target", "target", filter.target],
    ["s.started_at >= @since", "since", filter.since],
    ["s.started_at < @until", "until", filter.until],
    // Walks sessions newest first and probes each: measured faster than
    // collecting every matching command when the decision is common.
    [
      "EXISTS (SELECT 1 FROM commands c WHERE c.session = s.id AND c.decision = @decision)",
      "decision",
      filter.decision,
    ],
    // Every score is ≥ 0; `risk_score > 0` lets the plan use the scored sessions' index.
    [
      "s.risk_score > 0 AND s.risk_score >= @minRisk",
      "minRisk",
      filter.minRisk !== undefined && filter.minRisk > 0 ? filter.minRisk : undefined,
    ],
  ]);
  if (filter.text !== undefined && filter.text !== "") {
    if ([...filter.text].length >= TRIGRAM) {
      clauses.where.push(
        "s.id IN (SELECT c.session FROM commands_text t JOIN commands c ON c.id = t.rowid WHERE commands_text MATCH @phrase)",
      );
      clauses.params.phrase = ftsPhrase(filter.text);
    } else {
      clauses.where.push(
        "EXISTS (SELECT 1 FROM commands c WHERE c.session = s.id AND c.line LIKE @like ESCAPE '\\')",
      );
      clauses.params.like = likePattern(filter.text);
    }
  }
  return clauses;
}

function signalClauses(filter: SignalFilter): Clauses {
  return clausesOf([
    ["user = @user", "user", filter.user],
    ["session = @session", "session", filter.session],
    ["rule = @rule", "rule", filter.rule],
    ["source = @source", "source", filter.source],
    ["score >= @minScore", "minScore", filter.minScore],
    ["time >= @since", "since", filter.since],
    ["time < @until", "until", filter.until],
  ]);
}

/** A query and its parameters (exported for the query-plan tests and the bench). */
export interface Query {
  sql: string;
  params: Record<string, unknown>;
}

/** Paging parameters with the default page size. */
function page(filter: { limit?: number; offset?: number }) {
  return { limit: filter.limit ?? DEFAULT_PAGE_SIZE, offset: filter.offset ?? 0 };
}

/** Sessions, newest first. */
export function sessionQuery(filter: SessionFilter): Query {
  const { where, params } = sessionClauses(filter);
  return {
    sql: `SELECT s.* FROM sessions s ${whereSql(where)}
      ORDER BY s.started_at DESC, s.id DESC LIMIT @limit OFFSET @offset`,
    params: { ...params, ...page(filter) },
  };
}

/** Signals, newest first. */
export function signalQuery(filter: SignalFilter): Query {
  const { where, params } = signalClauses(filter);
  return {
    sql: `SELECT * FROM signals ${whereSql(where)}
      ORDER BY time DESC, event_seq DESC LIMIT @limit OFFSET @offset`,
    params: { ...params, ...page(filter) },
  };
}

export class IndexReader {
  constructor(private readonly db: Database.Database) {}

  listSessions(filter: SessionFilter): SessionSummary[] {
    const { sql, params } = sessionQuery(filter);
    const rows = this.db.prepare(sql).all(params) as SessionDbRow[];
    const recordings = this.recordingsOf(rows.map((row) => row.id));
    return rows.map((row) => toSession(row, recordings.get(row.id) ?? []));
  }

  getSession(id: string): SessionDetail | undefined {
    const row = this.db.prepare("SELECT * FROM sessions WHERE id = ?").get(id) as
      | SessionDbRow
      | undefined;
    if (row === undefined) return undefined;
    const commands = this.db
      .prepare("SELECT * FROM commands WHERE session = ? ORDER BY time, id")
      .all(id) as CommandDbRow[];
    return {
      session: toSession(row, this.recordings(id)),
      commands: commands.map(toCommand),
      transfers: this.transfers(id),
      signals: this.sessionSignals(id),
    };
  }

  listSignals(filter: SignalFilter): SignalRow[] {
    const { sql, params } = signalQuery(filter);
    const rows = this.db.prepare(sql).all(params) as SignalDbRow[];
    return rows.map(toSignal);
  }

  userHistory(user: string, since: Date, until: Date): HistorySession[] {
    const rows = this.db
      .prepare(USER_HISTORY)
      .all({ user, since: since.getTime(), until: until.getTime() }) as HistoryDbRow[];
    return rows.map(toHistory);
  }

  private sessionSignals(session: string): SignalRow[] {
    const rows = this.db
      .prepare("SELECT * FROM signals WHERE session = ? ORDER BY time, event_seq")
      .all(session) as SignalDbRow[];
    return rows.map(toSignal);
  }

  /** The session's file transfers, file operations and tunnels, in time order. */
  transfers(session: string): TransferRow[] {
    const rows = this.db.prepare(SESSION_TRANSFERS).all(session) as TransferDbRow[];
    return rows.map(toTransfer);
  }

  recordings(session?: string): RecordingRow[] {
    const rows = (
      session === undefined
        ? this.db.prepare("SELECT * FROM recordings ORDER BY started_at, id").all()
        : this.db
            .prepare("SELECT * FROM recordings WHERE session = ? ORDER BY started_at, id")
            .all(session)
    ) as RecordingDbRow[];
    return rows.map(toRecording);
  }

  issuedCertificates(keyId?: string): IssuedCertificateRow[] {
    const rows = (
      keyId === undefined
        ? this.db.prepare("SELECT * FROM issued_certificates ORDER BY issued_at DESC").all()
        : this.db
            .prepare("SELECT * FROM issued_certificates WHERE key_id = ? ORDER BY issued_at DESC")
            .all(keyId)
    ) as IssuedCertificateDbRow[];
    return rows.map(toIssuedCertificate);
  }

  openRecordings(): RecordingRow[] {
    const rows = this.db
      .prepare("SELECT * FROM recordings WHERE status = 'open' ORDER BY started_at, id")
      .all() as RecordingDbRow[];
    return rows.map(toRecording);
  }

  prunableRecordings(cutoff: Date): PrunableRecording[] {
    const rows = this.db
      .prepare(
        `SELECT r.*, s.ended_at AS session_ended_at FROM recordings r JOIN sessions s ON s.id = r.session
         WHERE r.pruned_at IS NULL AND r.status <> 'open' AND r.ended_at < @cutoff AND s.ended_at < @cutoff
         ORDER BY r.started_at, r.id`,
      )
      .all({ cutoff: cutoff.getTime() }) as (RecordingDbRow & { session_ended_at: number })[];
    return rows.map((row) => ({
      ...toRecording(row),
      sessionEndedAt: new Date(row.session_ended_at),
    }));
  }

  private recordingsOf(sessions: readonly string[]): Map<string, RecordingRow[]> {
    const bySession = new Map<string, RecordingRow[]>();
    if (sessions.length === 0) return bySession;
    const rows = this.db
      .prepare(
        "SELECT * FROM recordings WHERE session IN (SELECT value FROM json_each(?)) ORDER BY started_at, id",
      )
      .all(JSON.stringify(sessions)) as RecordingDbRow[];
    for (const row of rows) {
      const list = bySession.get(row.session) ?? [];
      list.push(toRecording(row));
      bySession.set(row.session, list);
    }
    return bySession;
  }
}
