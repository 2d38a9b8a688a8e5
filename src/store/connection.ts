// Opening one more connection to the bastion's SQLite database for a store
// that lives beside the audit index (approvals, web sessions, share links):
// WAL, the schema migrated, and one clear error when it cannot be opened.
// `upgradeDatabase` migrates the file up front (serve), to say what changed.

import Database from "better-sqlite3";
import { errorMessage, PortcullisError } from "../util/errors.js";
import { migrate, type SchemaUpgrade } from "./schema.js";

export interface SqliteConnectionOptions {
  /** A file path, or ":memory:" for tests. */
  readonly path: string;
  /** How long a write waits for another connection's lock; default 2000 ms. */
  readonly busyTimeoutMs?: number;
  /**
   * The server: the audit index checkpoints the WAL in a thread of its own,
   * so this connection does not (no checkpoint in a commit on the event loop).
   */
  readonly backgroundCheckpoints?: boolean;
}

/** What the store is, for its error message and code: `{ name: "the share link store", code: "ERR_SHARE_LINK_STORE" }`. */
export interface StoreIdentity {
  readonly name: string;
  readonly code: string;
}

const DEFAULT_BUSY_TIMEOUT_MS = 2000;

/** Opens and migrates the database, then builds the store on it; the connection is closed if either fails. */
export function openSqliteStore<Store>(
  options: SqliteConnectionOptions,
  identity: StoreIdentity,
  build: (db: Database.Database, upgrade: SchemaUpgrade | undefined) => Store,
): Store {
  let db: Database.Database | undefined;
  try {
    db = new Database(options.path, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    if (options.backgroundCheckpoints === true) db.pragma("wal_autocheckpoint = 0");
    return build(db, migrate(db));
  } catch (error) {
    db?.close();
    if (error instanceof PortcullisError) throw error;
    throw new PortcullisError(
      identity.code,
      `cannot open ${identity.name} ${options.path}: ${errorMessage(error)}`,
    );
  }
}

/** Migrates the database file (after a backup, see migrate) and closes it; what changed, if anything. */
export function upgradeDatabase(path: string): SchemaUpgrade | undefined {
  return openSqliteStore(
    { path },
    { name: "the database", code: "ERR_DATABASE" },
    (db, upgrade) => {
      db.close();
      return upgrade;
    },
  );
}
