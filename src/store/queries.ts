// Reading side of the audit index: session listing with filters and paging,
// one session with its commands, transfers and tunnels, and recordings. Rows are mapped to the
// public types here and nowhere else.

import type Database from "better-sqlite3";
import type {
  CommandRow,
  IssuedCertificateRow,
  PrunableRecording,
  RecordingRow,
  RecordingStatus,
  SessionDetail,
  SessionFilter,
  SessionSummary,
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

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function ftsPhrase(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

/** The WHERE clauses and parameters of a filter. */
function filterClauses(filter: SessionFilter): {
  where: string[];
  params: Record<string, unknown>;
} {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.user !== undefined) {
    where.push("s.user = @user");
    params.user = filter.user;
  }
  if (filter.target !== undefined) {
    where.push("s.target = @target");
    params.target = filter.target;
  }
  if (filter.since !== undefined) {
    where.push("s.started_at >= @since");
    params.since = filter.since.getTime();
  }
  if (filter.until !== undefined) {
    where.push("s.started_at < @until");
    params.until = filter.until.getTime();
  }
  if (filter.decision !== undefined) {
    // Walks sessions newest first and probes each: measured faster than
    // collecting every matching command when the decision is common.
    where.push(
      "EXISTS (SELECT 1 FROM commands c WHERE c.session = s.id AND c.decision = @decision)",
    );
    params.decision = filter.decision;
  }
  if (filter.text !== undefined && filter.text !== "") {
    if ([...filter.text].length >= TRIGRAM) {
      where.push(
        "s.id IN (SELECT c.session FROM commands_text t JOIN commands c ON c.id = t.rowid WHERE commands_text MATCH @phrase)",
      );
      params.phrase = ftsPhrase(filter.text);
    } else {
      where.push(
        "EXISTS (SELECT 1 FROM commands c WHERE c.session = s.id AND c.line LIKE @like ESCAPE '\\')",
      );
      params.like = likePattern(filter.text);
    }
  }
  return { where, params };
}

export class IndexReader {
  constructor(private readonly db: Database.Database) {}

  listSessions(filter: SessionFilter): SessionSummary[] {
    const { where, params } = filterClauses(filter);
    const sql = `SELECT s.* FROM sessions s ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY s.started_at DESC, s.id DESC LIMIT @limit OFFSET @offset`;
    const rows = this.db.prepare(sql).all({
      ...params,
      limit: filter.limit ?? DEFAULT_PAGE_SIZE,
      offset: filter.offset ?? 0,
    }) as SessionDbRow[];
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
    };
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
