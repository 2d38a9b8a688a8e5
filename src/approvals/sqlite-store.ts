// The approvals store on SQLite (better-sqlite3, WAL), in the same database
// file as the audit index, on a connection of its own. Changes run in
// `BEGIN IMMEDIATE` transactions: the write lock is taken before the request
// is read, so concurrent deciders (the server and a CLI, or two servers) are
// serialised and each sees the other's vote. Rows are mapped to the public
// types here and nowhere else; times are integer milliseconds (UTC).
import type Database from "better-sqlite3";
import { AUDIT_EVENTS, type AuditEventName } from "../audit/events.js";
import { openSqliteStore, type SqliteConnectionOptions } from "../store/connection.js";
import { errorMessage, PortcullisError } from "../util/errors.js";
import { reuseUntil } from "./rules.js";
import type { ApprovalChange, ApprovalStore, ApprovalTransition, OutboxEvent } from "./store.js";
import type {
  ApprovalKind,
  ApprovalRequest,
  ApprovalStatus,
  ApprovalVerdict,
  ApprovalVote,
  SessionGrant,
} from "./types.js";

export type SqliteApprovalStoreOptions = SqliteConnectionOptions;

interface RequestRow {
  id: string;
  kind: ApprovalKind;
  requester: string;
  requester_groups: string;
  session: string;
  target: string;
  login: string | null;
  line: string;
  rule: string;
  reason: string;
  approver_users: string;
  approver_groups: string;
  quorum: number;
  reuse_ms: number | null;
  grant_ms: number | null;
  justification: string | null;
  timeout_ms: number;
  created_at: number;
  expires_at: number;
  status: ApprovalStatus;
  decided_at: number | null;
  decided_by: string;
  comment: string | null;
}

interface VoteRow {
  approver: string;
  verdict: ApprovalVerdict;
  comment: string | null;
  at: number;
  via: string;
}

interface GrantRow {
  id: string;
  request: string;
  user: string;
  target: string;
  granted_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_by: string | null;
}

interface OutboxRow {
  seq: number;
  time: number;
  event: string;
  fields: string;
}

const KNOWN_EVENTS: ReadonlySet<string> = new Set(AUDIT_EVENTS);

const INSERT_REQUEST = `
INSERT INTO approval_requests (id, kind, requester, requester_groups, session, target, login, line,
  rule, reason, approver_users, approver_groups, quorum, reuse_ms, grant_ms, justification,
  timeout_ms, created_at, expires_at, status, decided_at, decided_by, comment, reuse_until)
VALUES (@id, @kind, @requester, @requester_groups, @session, @target, @login, @line, @rule,
  @reason, @approver_users, @approver_groups, @quorum, @reuse_ms, @grant_ms, @justification,
  @timeout_ms, @created_at, @expires_at, @status, @decided_at, @decided_by, @comment, @reuse_until)
ON CONFLICT (id) DO NOTHING`;

const UPDATE_REQUEST = `
UPDATE approval_requests SET status = @status, decided_at = @decided_at, decided_by = @decided_by,
  comment = @comment, reuse_until = @reuse_until
WHERE id = @id`;

export function openSqliteApprovalStore(options: SqliteApprovalStoreOptions): ApprovalStore {
  return openSqliteStore(
    options,
    { name: "the approvals database", code: "ERR_APPROVAL_STORE" },
    (db) => new SqliteApprovalStore(db),
  );
}

const json = (value: unknown) => JSON.stringify(value);
const strings = (text: string) => JSON.parse(text) as string[];
const date = (ms: number) => new Date(ms);

/** Copies the non-null entries of `optional` onto `base`. */
function withPresent<T extends object>(base: T, optional: Record<string, unknown>): T {
  for (const [key, value] of Object.entries(optional)) {
    if (value !== null && value !== undefined) (base as Record<string, unknown>)[key] = value;
  }
  return base;
}

function toVote(row: VoteRow): ApprovalVote {
  return withPresent(
    { approver: row.approver, verdict: row.verdict, at: date(row.at), via: row.via },
    { comment: row.comment },
  );
}

function toRequest(row: RequestRow, votes: readonly ApprovalVote[]): ApprovalRequest {
  return withPresent(
    {
      id: row.id,
      kind: row.kind,
      requester: { user: row.requester, groups: strings(row.requester_groups) },
      session: row.session,
      target: row.target,
      line: row.line,
      rule: row.rule,
      reason: row.reason,
      approvers: { users: strings(row.approver_users), groups: strings(row.approver_groups) },
      quorum: row.quorum,
      timeoutMs: row.timeout_ms,
      created: date(row.created_at),
      expires: date(row.expires_at),
      status: row.status,
      votes,
      decidedBy: strings(row.decided_by),
    },
    {
      login: row.login,
      reuseMs: row.reuse_ms,
      grantMs: row.grant_ms,
      justification: row.justification,
      decidedAt: row.decided_at === null ? null : date(row.decided_at),
      comment: row.comment,
    },
  );
}

function toGrant(row: GrantRow): SessionGrant {
  return withPresent(
    {
      id: row.id,
      request: row.request,
      user: row.user,
      target: row.target,
      granted: date(row.granted_at),
      expires: date(row.expires_at),
    },
    {
      revokedAt: row.revoked_at === null ? null : date(row.revoked_at),
      revokedBy: row.revoked_by,
    },
  );
}

/** The columns `update` may change, as bound parameters. */
function decisionColumns(request: ApprovalRequest) {
  return {
    id: request.id,
    status: request.status,
    decided_at: request.decidedAt?.getTime() ?? null,
    decided_by: json(request.decidedBy),
    comment: request.comment ?? null,
    reuse_until: reuseUntil(request)?.getTime() ?? null,
  };
}

function requestColumns(request: ApprovalRequest) {
  return {
    ...decisionColumns(request),
    kind: request.kind,
    requester: request.requester.user,
    requester_groups: json(request.requester.groups),
    session: request.session,
    target: request.target,
    login: request.login ?? null,
    line: request.line,
    rule: request.rule,
    reason: request.reason,
    approver_users: json(request.approvers.users),
    approver_groups: json(request.approvers.groups),
    quorum: request.quorum,
    reuse_ms: request.reuseMs ?? null,
    grant_ms: request.grantMs ?? null,
    justification: request.justification ?? null,
    timeout_ms: request.timeoutMs,
    created_at: request.created.getTime(),
    expires_at: request.expires.getTime(),
  };
}

class SqliteApprovalStore implements ApprovalStore {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      insert: db.prepare(INSERT_REQUEST),
      update: db.prepare(UPDATE_REQUEST),
      request: db.prepare("SELECT * FROM approval_requests WHERE id = ?"),
      votes: db.prepare(
        "SELECT approver, verdict, comment, at, via FROM approval_votes WHERE request = ? ORDER BY at, rowid",
      ),
      vote: db.prepare(
        "INSERT INTO approval_votes (request, approver, verdict, comment, at, via) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      pending: db.prepare(
        "SELECT * FROM approval_requests WHERE status = 'pending' ORDER BY expires_at, created_at",
      ),
      recent: db.prepare("SELECT * FROM approval_requests ORDER BY created_at DESC, id LIMIT ?"),
      settledPage: db.prepare(
        "SELECT * FROM approval_requests WHERE status <> 'pending' ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
      ),
      settled: db.prepare(
        "SELECT id, status FROM approval_requests WHERE id IN (SELECT value FROM json_each(?)) AND status <> 'pending'",
      ),
      reusable: db.prepare(
        `SELECT * FROM approval_requests
         WHERE requester = ? AND target = ? AND reuse_until > ? AND line = ? AND status = 'approved'
         ORDER BY reuse_until DESC LIMIT 1`,
      ),
      insertGrant: db.prepare(
        "INSERT INTO session_grants (id, request, user, target, granted_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      activeGrant: db.prepare(
        `SELECT * FROM session_grants
         WHERE user = ? AND target = ? AND expires_at > ? AND revoked_at IS NULL AND granted_at <= ?
         ORDER BY expires_at DESC LIMIT 1`,
      ),
      grant: db.prepare("SELECT * FROM session_grants WHERE id = ?"),
      grants: db.prepare("SELECT * FROM session_grants ORDER BY granted_at DESC, id LIMIT ?"),
      revokeGrant: db.prepare(
        "UPDATE session_grants SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL RETURNING *",
      ),
      appendEvent: db.prepare("INSERT INTO approval_outbox (time, event, fields) VALUES (?, ?, ?)"),
      takeEvents: db.prepare("SELECT * FROM approval_outbox ORDER BY seq LIMIT ?"),
      deleteEvents: db.prepare("DELETE FROM approval_outbox WHERE seq <= ?"),
    };
  }

  insert(request: ApprovalRequest): boolean {
    return this.run("storing a request", () =>
      this.db.transaction(() => {
        const inserted = this.statements.insert.run(requestColumns(request)).changes === 1;
        if (inserted) this.insertVotes(request.id, request.votes);
        return inserted;
      })(),
    );
  }

  get(id: string): ApprovalRequest | undefined {
    return this.run("reading a request", () => this.read(id));
  }

  pending(): ApprovalRequest[] {
    return this.run("listing pending requests", () =>
      this.withVotes(this.statements.pending.all() as RequestRow[]),
    );
  }

  recent(limit: number): ApprovalRequest[] {
    return this.run("listing requests", () =>
      this.withVotes(this.statements.recent.all(limit) as RequestRow[]),
    );
  }

  settledPage(limit: number, offset: number): ApprovalRequest[] {
    return this.run("listing decided requests", () =>
      this.withVotes(this.statements.settledPage.all(limit, offset) as RequestRow[]),
    );
  }

  settled(ids: readonly string[]): Map<string, ApprovalStatus> {
    if (ids.length === 0) return new Map();
    const rows = this.run(
      "polling requests",
      () => this.statements.settled.all(json(ids)) as { id: string; status: ApprovalStatus }[],
    );
    return new Map(rows.map((row) => [row.id, row.status]));
  }

  update(
    id: string,
    change: (current: ApprovalRequest) => ApprovalTransition | undefined,
  ): ApprovalChange | undefined {
    return this.run("deciding a request", () =>
      this.db.transaction(() => this.change(id, change)).immediate(),
    );
  }

  reusable(
    requester: string,
    target: string,
    line: string,
    now: Date,
  ): ApprovalRequest | undefined {
    return this.run("looking up a reusable approval", () => {
      const row = this.statements.reusable.get(requester, target, now.getTime(), line) as
        | RequestRow
        | undefined;
      return row === undefined ? undefined : toRequest(row, this.votesOf(row.id));
    });
  }

  activeGrant(user: string, target: string, now: Date): SessionGrant | undefined {
    return this.run("looking up a grant", () => {
      const at = now.getTime();
      const row = this.statements.activeGrant.get(user, target, at, at) as GrantRow | undefined;
      return row === undefined ? undefined : toGrant(row);
    });
  }

  grant(id: string): SessionGrant | undefined {
    return this.run("reading a grant", () => {
      const row = this.statements.grant.get(id) as GrantRow | undefined;
      return row === undefined ? undefined : toGrant(row);
    });
  }

  grants(limit: number): SessionGrant[] {
    return this.run("listing grants", () =>
      (this.statements.grants.all(limit) as GrantRow[]).map(toGrant),
    );
  }

  revokeGrant(id: string, by: string, at: Date): SessionGrant | undefined {
    return this.run("revoking a grant", () => {
      const row = this.statements.revokeGrant.get(at.getTime(), by, id) as GrantRow | undefined;
      return row === undefined ? undefined : toGrant(row);
    });
  }

  appendEvent(event: OutboxEvent): void {
    this.run("queueing an audit event", () =>
      this.statements.appendEvent.run(event.time.getTime(), event.event, json(event.fields)),
    );
  }

  takeEvents(limit: number): OutboxEvent[] {
    const rows = this.run("taking queued audit events", () =>
      this.db
        .transaction(() => {
          const taken = this.statements.takeEvents.all(limit) as OutboxRow[];
          const last = taken.at(-1);
          if (last !== undefined) this.statements.deleteEvents.run(last.seq);
          return taken;
        })
        .immediate(),
    );
    return rows
      .filter((row) => KNOWN_EVENTS.has(row.event))
      .map((row) => ({
        time: date(row.time),
        event: row.event as AuditEventName,
        fields: JSON.parse(row.fields) as Record<string, unknown>,
      }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private change(
    id: string,
    change: (current: ApprovalRequest) => ApprovalTransition | undefined,
  ): ApprovalChange | undefined {
    const before = this.read(id);
    if (before === undefined) return undefined;
    const transition = change(before);
    if (transition === undefined) return { before, after: before };
    const after = transition.request;
    this.statements.update.run(decisionColumns(after));
    this.insertVotes(id, after.votes.slice(before.votes.length));
    const { grant } = transition;
    if (grant === undefined) return { before, after };
    this.statements.insertGrant.run(
      grant.id,
      grant.request,
      grant.user,
      grant.target,
      grant.granted.getTime(),
      grant.expires.getTime(),
    );
    return { before, after, grant };
  }

  private insertVotes(id: string, votes: readonly ApprovalVote[]): void {
    for (const vote of votes) {
      this.statements.vote.run(
        id,
        vote.approver,
        vote.verdict,
        vote.comment ?? null,
        vote.at.getTime(),
        vote.via,
      );
    }
  }

  private read(id: string): ApprovalRequest | undefined {
    const row = this.statements.request.get(id) as RequestRow | undefined;
    return row === undefined ? undefined : toRequest(row, this.votesOf(id));
  }

  private votesOf(id: string): ApprovalVote[] {
    return (this.statements.votes.all(id) as VoteRow[]).map(toVote);
  }

  private withVotes(rows: readonly RequestRow[]): ApprovalRequest[] {
    return rows.map((row) => toRequest(row, this.votesOf(row.id)));
  }

  private run<T>(what: string, query: () => T): T {
    if (!this.db.open) {
      throw new PortcullisError("ERR_APPROVAL_STORE", "the approvals database is closed");
    }
    try {
      return query();
    } catch (error) {
      if (error instanceof PortcullisError) throw error;
      throw new PortcullisError(
        "ERR_APPROVAL_STORE",
        `approvals database: ${what} failed: ${errorMessage(error)}`,
      );
    }
  }
}
