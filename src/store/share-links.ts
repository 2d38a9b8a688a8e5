// The web viewer's share links: the ShareLinkStore interface and its SQLite
// implementation, in the audit index's database file on a connection of its
// own (migration 9). Rows are found by a hash of the link's token (the token
// itself is only ever in the link); times are integer milliseconds (UTC).
import type Database from "better-sqlite3";
import { openSqliteStore, type SqliteConnectionOptions } from "./connection.js";

export interface ShareLinkRow {
  /** Short public name (lists, audit events). */
  readonly id: string;
  /** SHA-256 (hex) of the token in the link. */
  readonly tokenHash: string;
  readonly session: string;
  readonly recording: string;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt?: Date;
  readonly revokedBy?: string;
  /** When its use was last audited (`share.used`). */
  readonly lastAuditedAt?: Date;
}

export type NewShareLink = Omit<ShareLinkRow, "revokedAt" | "revokedBy" | "lastAuditedAt">;

export interface ShareLinkStore {
  create(row: NewShareLink): void;
  findByTokenHash(tokenHash: string): ShareLinkRow | undefined;
  find(id: string): ShareLinkRow | undefined;
  /** The session's links neither revoked nor expired at `now`, newest first. */
  active(session: string, now: Date): ShareLinkRow[];
  /** Marks the link revoked; false when it does not exist or was already revoked. */
  revoke(id: string, by: string, at: Date): boolean;
  /**
   * Records that a use was audited at `at`, unless one was within `windowMs`
   * before; true when the caller should audit this use.
   */
  claimUseAudit(id: string, at: Date, windowMs: number): boolean;
  close(): void;
}

interface ShareLinkDbRow {
  id: string;
  token_hash: string;
  session: string;
  recording: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_by: string | null;
  last_audited_at: number | null;
}

function toRow(row: ShareLinkDbRow): ShareLinkRow {
  return {
    id: row.id,
    tokenHash: row.token_hash,
    session: row.session,
    recording: row.recording,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    ...(row.revoked_at === null ? {} : { revokedAt: new Date(row.revoked_at) }),
    ...(row.revoked_by === null ? {} : { revokedBy: row.revoked_by }),
    ...(row.last_audited_at === null ? {} : { lastAuditedAt: new Date(row.last_audited_at) }),
  };
}

class SqliteShareLinkStore implements ShareLinkStore {
  constructor(private readonly db: Database.Database) {}

  create(row: NewShareLink): void {
    this.db
      .prepare(
        `INSERT INTO share_links (id, token_hash, session, recording, created_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.id,
        row.tokenHash,
        row.session,
        row.recording,
        row.createdBy,
        row.createdAt.getTime(),
        row.expiresAt.getTime(),
      );
  }

  findByTokenHash(tokenHash: string): ShareLinkRow | undefined {
    return this.one("SELECT * FROM share_links WHERE token_hash = ?", tokenHash);
  }

  find(id: string): ShareLinkRow | undefined {
    return this.one("SELECT * FROM share_links WHERE id = ?", id);
  }

  active(session: string, now: Date): ShareLinkRow[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM share_links WHERE session = ? AND expires_at > ? AND revoked_at IS NULL
         ORDER BY created_at DESC, id`,
      )
      .all(session, now.getTime()) as ShareLinkDbRow[];
    return rows.map(toRow);
  }

  revoke(id: string, by: string, at: Date): boolean {
    const result = this.db
      .prepare(
        "UPDATE share_links SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
      )
      .run(at.getTime(), by, id);
    return result.changes === 1;
  }

  claimUseAudit(id: string, at: Date, windowMs: number): boolean {
    const result = this.db
      .prepare(
        `UPDATE share_links SET last_audited_at = ?
         WHERE id = ? AND (last_audited_at IS NULL OR last_audited_at <= ?)`,
      )
      .run(at.getTime(), id, at.getTime() - windowMs);
    return result.changes === 1;
  }

  close(): void {
    this.db.close();
  }

  private one(sql: string, key: string): ShareLinkRow | undefined {
    const row = this.db.prepare(sql).get(key) as ShareLinkDbRow | undefined;
    return row === undefined ? undefined : toRow(row);
  }
}

export type SqliteShareLinkStoreOptions = SqliteConnectionOptions;

/** Opens (and migrates) the database; throws PortcullisError when it cannot. */
export function openSqliteShareLinkStore(options: SqliteShareLinkStoreOptions): ShareLinkStore {
  return openSqliteStore(
    options,
    { name: "the share link store", code: "ERR_SHARE_LINK_STORE" },
    (db) => new SqliteShareLinkStore(db),
  );
}
