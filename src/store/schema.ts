// The audit index's schema as an ordered list of migrations. The database's
// `PRAGMA user_version` is the number of migrations applied; opening a
// database applies the missing ones, each in its own transaction (after a
// consistent copy of an older database), and refuses a database written by a
// newer Portcullis. Times are integer milliseconds since the epoch (UTC)
// throughout.

import { rmSync, writeFileSync } from "node:fs";
import type Database from "better-sqlite3";
import { errorMessage, PortcullisError } from "../util/errors.js";

export interface Migration {
  readonly description: string;
  readonly sql: string;
}

const CORE_TABLES = `
CREATE TABLE events (
  seq       INTEGER PRIMARY KEY,
  time      INTEGER NOT NULL,
  event     TEXT NOT NULL,
  fields    TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
);
CREATE TABLE chain_head (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  seq  INTEGER NOT NULL,
  hash TEXT NOT NULL
);
CREATE TABLE sessions (
  id           TEXT PRIMARY KEY,
  user         TEXT,
  groups       TEXT NOT NULL DEFAULT '[]',
  source_ip    TEXT,
  target       TEXT,
  login        TEXT,
  access       TEXT,
  started_at   INTEGER NOT NULL,
  connected_at INTEGER,
  ended_at     INTEGER,
  end_reason   TEXT,
  commands     INTEGER NOT NULL DEFAULT 0,
  denials      INTEGER NOT NULL DEFAULT 0,
  max_risk     REAL NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_start ON sessions (started_at, id);
CREATE INDEX sessions_by_user ON sessions (user, started_at);
CREATE INDEX sessions_by_target ON sessions (target, started_at);
CREATE INDEX sessions_open ON sessions (id) WHERE ended_at IS NULL;
CREATE TABLE commands (
  id           INTEGER PRIMARY KEY,
  event_seq    INTEGER NOT NULL,
  session      TEXT NOT NULL REFERENCES sessions (id),
  time         INTEGER NOT NULL,
  offset_ms    INTEGER NOT NULL,
  line         TEXT NOT NULL,
  decision     TEXT NOT NULL,
  rule         TEXT,
  reason       TEXT,
  risk         REAL,
  determined_by TEXT,
  cwd          TEXT
);
CREATE INDEX commands_by_session ON commands (session, time);
CREATE INDEX commands_by_decision ON commands (decision, session);
CREATE TABLE auth_events (
  id        INTEGER PRIMARY KEY,
  event_seq INTEGER NOT NULL,
  time      INTEGER NOT NULL,
  event     TEXT NOT NULL,
  session   TEXT,
  user      TEXT,
  source_ip TEXT,
  ssh_user  TEXT,
  key_id    TEXT,
  serial    TEXT,
  ca        TEXT,
  code      TEXT,
  reason    TEXT,
  groups    TEXT
);
CREATE INDEX auth_events_by_session ON auth_events (session);
CREATE INDEX auth_events_by_time ON auth_events (time);
CREATE TABLE recordings (
  id            TEXT PRIMARY KEY,
  session       TEXT NOT NULL REFERENCES sessions (id),
  relative_path TEXT NOT NULL,
  started_at    INTEGER NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('open', 'closed', 'interrupted', 'failed')),
  ended_at      INTEGER,
  sha256        TEXT,
  bytes         INTEGER,
  signature     TEXT,
  width         INTEGER,
  height        INTEGER,
  title         TEXT
);
CREATE INDEX recordings_by_session ON recordings (session);
CREATE INDEX recordings_open ON recordings (id) WHERE status = 'open';
`;

/** Substring search on command lines: an FTS5 trigram index kept by a trigger. */
const COMMAND_TEXT_INDEX = `
CREATE VIRTUAL TABLE commands_text USING fts5 (
  line, content = 'commands', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER commands_text_insert AFTER INSERT ON commands BEGIN
  INSERT INTO commands_text (rowid, line) VALUES (new.id, new.line);
END;
INSERT INTO commands_text (commands_text) VALUES ('rebuild');
`;

/** Retention: when a recording's file was removed (NULL while it is kept). */
const RECORDING_PRUNED_AT = `
ALTER TABLE recordings ADD COLUMN pruned_at INTEGER;
CREATE INDEX recordings_unpruned ON recordings (ended_at) WHERE pruned_at IS NULL;
`;

/** Every user certificate issued from an OIDC token (`POST /v1/certs`), by serial. */
const ISSUED_CERTIFICATES = `
CREATE TABLE issued_certificates (
  serial          TEXT PRIMARY KEY,
  key_id          TEXT NOT NULL,
  principals      TEXT NOT NULL,
  groups          TEXT NOT NULL,
  issuer          TEXT NOT NULL,
  subject         TEXT NOT NULL,
  key_fingerprint TEXT NOT NULL,
  source_ip       TEXT,
  issued_at       INTEGER NOT NULL,
  valid_after     INTEGER NOT NULL,
  valid_before    INTEGER NOT NULL
);
CREATE INDEX issued_certificates_by_key_id ON issued_certificates (key_id, issued_at);
`;

/** The approval requests table under `name`, its `kind` limited to `kinds`. */
function approvalRequestsTable(name: string, kinds: readonly string[]): string {
  return `
CREATE TABLE ${name} (
  id              TEXT PRIMARY KEY,
  kind            TEXT NOT NULL CHECK (kind IN (${kinds.map((kind) => `'${kind}'`).join(", ")})),
  requester       TEXT NOT NULL,
  requester_groups TEXT NOT NULL,
  session         TEXT NOT NULL,
  target          TEXT NOT NULL,
  login           TEXT,
  line            TEXT NOT NULL,
  rule            TEXT NOT NULL,
  reason          TEXT NOT NULL,
  approver_users  TEXT NOT NULL,
  approver_groups TEXT NOT NULL,
  quorum          INTEGER NOT NULL CHECK (quorum >= 1),
  reuse_ms        INTEGER,
  grant_ms        INTEGER,
  justification   TEXT,
  timeout_ms      INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  status          TEXT NOT NULL
    CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'withdrawn')),
  decided_at      INTEGER,
  decided_by      TEXT NOT NULL DEFAULT '[]',
  comment         TEXT,
  reuse_until     INTEGER
);
`;
}

const APPROVAL_REQUESTS_INDEXES = `
CREATE INDEX approval_requests_pending ON approval_requests (expires_at) WHERE status = 'pending';
CREATE INDEX approval_requests_by_created ON approval_requests (created_at);
CREATE INDEX approval_requests_reuse ON approval_requests (requester, target, reuse_until)
  WHERE reuse_until IS NOT NULL;
`;

/**
 * Approval requests (SPEC §8), their votes (one per approver), the session
 * grants approved session requests give, and the audit events written by a
 * process without the audit log (the local CLI) until a server emits them.
 */
const APPROVALS = `${approvalRequestsTable("approval_requests", ["command", "session"])}${APPROVAL_REQUESTS_INDEXES}
CREATE TABLE approval_votes (
  request  TEXT NOT NULL REFERENCES approval_requests (id),
  approver TEXT NOT NULL,
  verdict  TEXT NOT NULL CHECK (verdict IN ('approve', 'deny')),
  comment  TEXT,
  at       INTEGER NOT NULL,
  via      TEXT NOT NULL,
  PRIMARY KEY (request, approver)
);
CREATE TABLE session_grants (
  id         TEXT PRIMARY KEY,
  request    TEXT NOT NULL UNIQUE REFERENCES approval_requests (id),
  user       TEXT NOT NULL,
  target     TEXT NOT NULL,
  granted_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  revoked_by TEXT
);
CREATE INDEX session_grants_active ON session_grants (user, target, expires_at)
  WHERE revoked_at IS NULL;
CREATE INDEX session_grants_by_granted ON session_grants (granted_at);
CREATE TABLE approval_outbox (
  seq    INTEGER PRIMARY KEY,
  time   INTEGER NOT NULL,
  event  TEXT NOT NULL,
  fields TEXT NOT NULL
);
`;

/** Secrets masked in a session's output (the sum of its `mask` events' counts). */
const SESSION_MASKED = `
ALTER TABLE sessions ADD COLUMN masked INTEGER NOT NULL DEFAULT 0;
`;

/**
 * The web viewer's signed-in sessions (src/viewer): only a SHA-256 of the
 * session id is stored, so a copy of the database does not sign anyone in.
 */
const WEB_SESSIONS = `
CREATE TABLE web_sessions (
  id_hash      TEXT PRIMARY KEY,
  user         TEXT NOT NULL,
  subject      TEXT NOT NULL,
  issuer       TEXT NOT NULL,
  groups       TEXT NOT NULL DEFAULT '[]',
  csrf_secret  TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
`;

/** Files moved over sftp per session: files opened, bytes down and up (`file.transfer` events). */
const SESSION_FILE_TRANSFERS = `
ALTER TABLE sessions ADD COLUMN files INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN bytes_down INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN bytes_up INTEGER NOT NULL DEFAULT 0;
`;

/**
 * The web viewer's share links (src/viewer/share-*.ts): one recording of one
 * session for someone without an account. Only a SHA-256 of the link's token
 * is stored; `id` is a short public name for lists and audit events.
 */
const SHARE_LINKS = `
CREATE TABLE share_links (
  id              TEXT PRIMARY KEY,
  token_hash      TEXT NOT NULL UNIQUE,
  session         TEXT NOT NULL,
  recording       TEXT NOT NULL,
  created_by      TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  revoked_at      INTEGER,
  revoked_by      TEXT,
  last_audited_at INTEGER
);
CREATE INDEX share_links_by_session ON share_links (session, expires_at);
`;

/**
 * A session's file transfers, file operations and tunnels for the viewer's
 * command list: one row per such event (its fields as in the chain), with
 * its offset from the session's start, read by session through an index
 * instead of a scan of `events`. Filled from the events already recorded.
 */
const TRANSFER_EVENTS = `
CREATE TABLE transfer_events (
  id        INTEGER PRIMARY KEY,
  event_seq INTEGER NOT NULL,
  session   TEXT NOT NULL,
  time      INTEGER NOT NULL,
  offset_ms INTEGER NOT NULL,
  event     TEXT NOT NULL,
  fields    TEXT NOT NULL
);
CREATE INDEX transfer_events_by_session ON transfer_events (session, time);
INSERT INTO transfer_events (event_seq, session, time, offset_ms, event, fields)
SELECT e.seq, json_extract(e.fields, '$.session'), e.time,
  max(0, e.time - coalesce(s.started_at, e.time)), e.event, e.fields
FROM events e LEFT JOIN sessions s ON s.id = json_extract(e.fields, '$.session')
WHERE e.event IN ('file.transfer', 'file.op', 'tunnel.open', 'tunnel.close')
  AND json_type(e.fields, '$.session') = 'text'
ORDER BY e.seq;
`;

/** A top-level text field of an event's JSON, NULL when absent or not text. */
function textField(name: string): string {
  return `CASE json_type(fields, '$.${name}') WHEN 'text' THEN json_extract(fields, '$.${name}') END AS ${name}`;
}

/** A top-level numeric field of an event's JSON, NULL when absent or not a number. */
function numberField(name: string): string {
  return `CASE WHEN json_type(fields, '$.${name}') IN ('integer', 'real') THEN json_extract(fields, '$.${name}') END AS ${name}`;
}

/**
 * Insider-threat signals (docs/signals.md): one row per `signal` event, read
 * newest first overall, by session and by user; each session's peak decayed
 * score and its number of signals, and an index of the sessions that have a
 * score (for `minRisk`). Filled from the events already recorded: older
 * signal events (`kind`, no score) become rule `kind`, source `integrity`,
 * score 0.
 */
const SIGNALS = `
CREATE TABLE signals (
  event_seq     INTEGER PRIMARY KEY,
  session       TEXT,
  time          INTEGER NOT NULL,
  offset_ms     INTEGER NOT NULL,
  user          TEXT,
  target        TEXT,
  rule          TEXT NOT NULL,
  source        TEXT NOT NULL,
  score         REAL NOT NULL,
  session_score REAL NOT NULL,
  action        TEXT,
  reason        TEXT NOT NULL,
  evidence      TEXT NOT NULL
);
CREATE INDEX signals_by_time ON signals (time);
CREATE INDEX signals_by_session ON signals (session, time);
CREATE INDEX signals_by_user ON signals (user, time);
ALTER TABLE sessions ADD COLUMN risk_score REAL NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN signals INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessions_scored ON sessions (started_at, id) WHERE risk_score > 0;
INSERT INTO signals (event_seq, session, time, offset_ms, user, target, rule, source, score,
  session_score, action, reason, evidence)
WITH f AS (
  SELECT seq, time,
    ${textField("session")}, ${textField("user")}, ${textField("target")}, ${textField("rule")},
    ${textField("kind")}, ${textField("source")}, ${textField("action")}, ${textField("reason")},
    ${numberField("score")}, ${numberField("session_score")},
    CASE json_type(fields, '$.evidence') WHEN 'object' THEN json_extract(fields, '$.evidence') END
      AS evidence
  FROM events WHERE event = 'signal'
)
SELECT f.seq, f.session, f.time, coalesce(max(0, f.time - s.started_at), 0),
  coalesce(f.user, s.user), coalesce(f.target, s.target),
  coalesce(f.rule, f.kind, 'unknown'), coalesce(f.source, 'integrity'),
  coalesce(f.score, 0), coalesce(f.session_score, 0), f.action, coalesce(f.reason, ''),
  coalesce(f.evidence, '{}')
FROM f LEFT JOIN sessions s ON s.id = f.session
ORDER BY f.seq;
UPDATE sessions SET risk_score = max(sessions.risk_score, peak), signals = raised
FROM (SELECT session, max(session_score) AS peak, count(*) AS raised FROM signals
  WHERE session IS NOT NULL GROUP BY session) AS scored
WHERE sessions.id = scored.session;
`;

/**
 * `file_transfer` approval requests: SQLite cannot change a CHECK, so the
 * requests table is rebuilt. Votes and grants reference it (foreign keys are
 * on and cannot be turned off inside the migration's transaction): they are
 * set aside while it is replaced and put back.
 */
const FILE_TRANSFER_APPROVALS = `
CREATE TEMP TABLE kept_votes AS SELECT * FROM approval_votes;
CREATE TEMP TABLE kept_grants AS SELECT * FROM session_grants;
DELETE FROM approval_votes;
DELETE FROM session_grants;
${approvalRequestsTable("approval_requests_next", ["command", "session", "file_transfer"])}
INSERT INTO approval_requests_next SELECT * FROM approval_requests;
DROP TABLE approval_requests;
ALTER TABLE approval_requests_next RENAME TO approval_requests;
${APPROVAL_REQUESTS_INDEXES}
INSERT INTO approval_votes SELECT * FROM kept_votes;
INSERT INTO session_grants SELECT * FROM kept_grants;
DROP TABLE kept_votes;
DROP TABLE kept_grants;
`;

/** Never edit or reorder an entry once released: append a new one. */
export const MIGRATIONS: readonly Migration[] = [
  { description: "events chain, sessions, commands, auth events, recordings", sql: CORE_TABLES },
  { description: "trigram text index on command lines", sql: COMMAND_TEXT_INDEX },
  { description: "pruned_at on recordings (retention)", sql: RECORDING_PRUNED_AT },
  { description: "issued user certificates (serial, identity)", sql: ISSUED_CERTIFICATES },
  { description: "approval requests, votes, session grants, CLI audit outbox", sql: APPROVALS },
  { description: "masked secrets per session", sql: SESSION_MASKED },
  { description: "web viewer sessions (hashed ids)", sql: WEB_SESSIONS },
  { description: "file transfer totals per session", sql: SESSION_FILE_TRANSFERS },
  { description: "web viewer share links (hashed tokens)", sql: SHARE_LINKS },
  { description: "file transfers and tunnels per session", sql: TRANSFER_EVENTS },
  { description: "insider-threat signals, session risk scores", sql: SIGNALS },
  { description: "file transfer approval requests", sql: FILE_TRANSFER_APPROVALS },
];

export function schemaVersion(db: Database.Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}

/** What opening a database changed: its schema version before and after, and where the copy went. */
export interface SchemaUpgrade {
  readonly from: number;
  readonly to: number;
  /** The copy of the database as it was (`<file>.v<from>-<time>.bak`); none for a new or in-memory one. */
  readonly backup?: string;
}

/**
 * Applies the migrations the database lacks (all of them by default, or up
 * to `target`). Upgrading a file database that already has a schema first
 * copies it next to itself; when the copy fails, nothing is migrated.
 * Returns what changed, or undefined when nothing had to.
 */
export function migrate(
  db: Database.Database,
  target = MIGRATIONS.length,
): SchemaUpgrade | undefined {
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new PortcullisError(
      "ERR_AUDIT_INDEX_VERSION",
      `audit index schema version ${current} is newer than this Portcullis understands (${MIGRATIONS.length})`,
    );
  }
  if (current >= target) return undefined;
  const backup = current > 0 && !db.memory ? backupBeforeUpgrade(db, current, target) : undefined;
  for (let version = current + 1; version <= target; version++) {
    const migration = MIGRATIONS[version - 1] as Migration;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${version}`);
    })();
  }
  return { from: current, to: target, ...(backup === undefined ? {} : { backup }) };
}

function backupBeforeUpgrade(db: Database.Database, from: number, to: number): string {
  const stamp = new Date().toISOString().replace(/[-:]|\.\d+/g, "");
  const file = `${db.name}.v${from}-${stamp}.bak`;
  try {
    copyDatabase(db, file);
  } catch (error) {
    throw new PortcullisError(
      "ERR_DATABASE_BACKUP",
      `cannot upgrade the database from schema version ${from} to ${to}: its backup ${file} failed: ${errorMessage(error)}`,
    );
  }
  return file;
}

/**
 * Writes a consistent copy of the database to a new file `file` (created
 * empty with mode 0600, which `VACUUM INTO` accepts): one read transaction,
 * so writers on other connections (WAL) go on meanwhile. A failed copy
 * leaves no file behind.
 */
export function copyDatabase(db: Database.Database, file: string): void {
  writeFileSync(file, "", { flag: "wx", mode: 0o600 });
  try {
    db.prepare("VACUUM INTO ?").run(file);
  } catch (error) {
    rmSync(file, { force: true });
    throw error;
  }
}
