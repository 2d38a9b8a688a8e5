// The web viewer's signed-in sessions: the WebSessionStore interface and its
// SQLite implementation, in the audit index's database file on a connection
// of its own. Rows are keyed by a hash of the session id (the id itself is
// only ever in the browser's cookie); times are integer milliseconds (UTC).
import type Database from "better-sqlite3";
import { openSqliteStore, type SqliteConnectionOptions } from "./connection.js";

export interface WebSessionRow {
  /** SHA-256 (hex) of the session id. */
  readonly idHash: string;
  readonly user: string;
  /** The ID token's issuer and subject. */
  readonly issuer: string;
  readonly subject: string;
  readonly groups: readonly string[];
  /** The CSRF secret tokens of this session are derived from. */
  readonly csrfSecret: string;
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
  /** The absolute end of the session, whatever its activity. */
  readonly expiresAt: Date;
}

export interface WebSessionStore {
  create(row: WebSessionRow): void;
  find(idHash: string): WebSessionRow | undefined;
  /** Records activity (the idle expiry starts again from `at`). */
  touch(idHash: string, at: Date): void;
  remove(idHash: string): void;
  /** Removes sessions past their absolute end or idle since before `idleSince`; returns how many. */
  removeExpired(now: Date, idleSince: Date): number;
  close(): void;
}

interface WebSessionDbRow {
  id_hash: string;
  user: string;
  issuer: string;
  subject: string;
  groups: string;
  csrf_secret: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

function toRow(row: WebSessionDbRow): WebSessionRow {
  return {
    idHash: row.id_hash,
    user: row.user,
    issuer: row.issuer,
    subject: row.subject,
    groups: JSON.parse(row.groups) as string[],
    csrfSecret: row.csrf_secret,
    createdAt: new Date(row.created_at),
    lastSeenAt: new Date(row.last_seen_at),
    expiresAt: new Date(row.expires_at),
  };
}

class SqliteWebSessionStore implements WebSessionStore {
  constructor(private readonly db: Database.Database) {}

  create(row: WebSessionRow): void {
    this.db
      .prepare(
        `INSERT INTO web_sessions (id_hash, user, issuer, subject, groups, csrf_secret, created_at, last_seen_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.idHash,
        row.user,
        row.issuer,
        row.subject,
        JSON.stringify(row.groups),
        row.csrfSecret,
        row.createdAt.getTime(),
        row.lastSeenAt.getTime(),
        row.expiresAt.getTime(),
      );
  }

  find(idHash: string): WebSessionRow | undefined {
    const row = this.db.prepare("SELECT * FROM web_sessions WHERE id_hash = ?").get(idHash) as
      | WebSessionDbRow
      | undefined;
    return row === undefined ? undefined : toRow(row);
  }

  touch(idHash: string, at: Date): void {
    this.db
      .prepare("UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?")
      .run(at.getTime(), idHash);
  }

  remove(idHash: string): void {
    this.db.prepare("DELETE FROM web_sessions WHERE id_hash = ?").run(idHash);
  }

  removeExpired(now: Date, idleSince: Date): number {
    return this.db
      .prepare("DELETE FROM web_sessions WHERE expires_at <= ? OR last_seen_at < ?")
      .run(now.getTime(), idleSince.getTime()).changes;
  }

  close(): void {
    this.db.close();
  }
}

export type SqliteWebSessionStoreOptions = SqliteConnectionOptions;

/** Opens (and migrates) the database; throws PortcullisError when it cannot. */
export function openSqliteWebSessionStore(options: SqliteWebSessionStoreOptions): WebSessionStore {
  return openSqliteStore(
    options,
    { name: "the web session store", code: "ERR_WEB_SESSION_STORE" },
    (db) => new SqliteWebSessionStore(db),
  );
}
