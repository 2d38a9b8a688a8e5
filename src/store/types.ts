// The audit index's public types: what callers record and what they read
// back. Kept apart from the SQLite implementation so that another store
// (e.g. PostgreSQL) can implement the same interface.

export interface AuditRecord {
  event: string;
  time: Date;
  /** The event's fields, including session/user/target/login/source_ip when present. */
  fields: Record<string, unknown>;
}

export type RecordingStatus = "open" | "closed" | "interrupted" | "failed";

export interface RecordingRow {
  id: string;
  session: string;
  relativePath: string;
  startedAt: Date;
  status: RecordingStatus;
  endedAt?: Date;
  sha256?: string;
  bytes?: number;
  signature?: string;
  width?: number;
  height?: number;
  title?: string;
  /** When retention removed the file; the row stays (it is part of the audit). */
  prunedAt?: Date;
}

/** A closed recording old enough for retention, with its session's end. */
export interface PrunableRecording extends RecordingRow {
  sessionEndedAt: Date;
}

export interface RecordingClosed {
  endedAt: Date;
  sha256: string;
  bytes: number;
  signature: string;
  status: Exclude<RecordingStatus, "open">;
}

export interface SessionFilter {
  user?: string;
  target?: string;
  /** Sessions that started at or after this instant. */
  since?: Date;
  /** Sessions that started before this instant. */
  until?: Date;
  /** Sessions with at least one command of this decision. */
  decision?: string;
  /** Sessions with a command line containing this text (case-insensitive). */
  text?: string;
  /** Sessions whose risk score (peak of the decayed signal sum) reached at least this. */
  minRisk?: number;
  /** Default 100. */
  limit?: number;
  offset?: number;
}

export interface SessionSummary {
  id: string;
  user?: string;
  groups: string[];
  sourceIp?: string;
  target?: string;
  login?: string;
  access?: string;
  startedAt: Date;
  endedAt?: Date;
  endReason?: string;
  commands: number;
  denials: number;
  maxRisk: number;
  /** The peak of the session's decayed signal score (docs/signals.md). */
  riskScore: number;
  /** Signals raised in the session. */
  signals: number;
  /** Secrets masked in the session's output. */
  masked: number;
  /** Files opened over sftp (refused opens not counted), and the bytes moved. */
  files: number;
  bytesDown: number;
  bytesUp: number;
  recordings: RecordingRow[];
}

export interface CommandRow {
  session: string;
  time: Date;
  /** Milliseconds since the session's start. */
  offsetMs: number;
  line: string;
  decision: string;
  rule?: string;
  reason?: string;
  risk?: number;
  determinedBy?: string;
  cwd?: string;
}

/** The audit events shown beside a session's commands: file transfers and operations, tunnels. */
export type TransferEventName = "file.transfer" | "file.op" | "tunnel.open" | "tunnel.close";

/**
 * One of a session's `file.transfer`, `file.op`, `tunnel.open` or
 * `tunnel.close` events with its fields (docs/file-transfer.md,
 * docs/forwarding.md); a field the event lacks is absent.
 */
export interface TransferRow {
  session: string;
  event: TransferEventName;
  time: Date;
  /** Milliseconds since the session's start (the basis of `CommandRow.offsetMs`). */
  offsetMs: number;
  /** file.transfer: download, upload or both. */
  direction?: string;
  /** file.op: remove, rename, mkdir, rmdir, setstat, symlink, stat, opendir, readlink. */
  op?: string;
  path?: string;
  /** file.op: a rename's new path, a symlink's target. */
  to?: string;
  /** file.transfer: the bytes moved in its direction. */
  bytes?: number;
  /** file.*: ok, denied, error, limited, interrupted. */
  result?: string;
  reason?: string;
  rule?: string;
  /** file.transfer over exec: scp or rsync (absent: sftp). */
  via?: string;
  /** tunnel.*: the tunnel's id, `<session>.tN`. */
  tunnel?: string;
  /** tunnel.*: local, remote or unix. */
  kind?: string;
  destination?: string;
  /** tunnel.open: allow or deny. */
  decision?: string;
  /** tunnel.close: client → target and back. */
  bytesToTarget?: number;
  bytesFromTarget?: number;
  /** tunnel.close: why the target could not open it. */
  error?: string;
}

/** One `signal` audit event as the index keeps it (docs/signals.md). */
export interface SignalRow {
  /** The audit event's sequence number (stable id, newest is highest). */
  seq: number;
  /** Absent for a signal outside any session. */
  session?: string;
  user?: string;
  target?: string;
  time: Date;
  /** Milliseconds since the session's start (0 without a session). */
  offsetMs: number;
  rule: string;
  /** policy, behaviour or integrity. */
  source: string;
  score: number;
  /** The session's decayed score right after this signal. */
  sessionScore: number;
  reason: string;
  action?: string;
  evidence: Record<string, unknown>;
}

export interface SignalFilter {
  user?: string;
  session?: string;
  rule?: string;
  source?: string;
  minScore?: number;
  since?: Date;
  until?: Date;
  /** Default 100. */
  limit?: number;
  offset?: number;
}

/** One session of a user's history, as behavioural baselines need it. */
export interface HistorySession {
  id: string;
  target?: string;
  sourceIp?: string;
  startedAt: Date;
  bytesDown: number;
}

/** One session with its commands, transfers and tunnels, and signals, each in time order. */
export interface SessionDetail {
  session: SessionSummary;
  commands: CommandRow[];
  transfers: TransferRow[];
  signals: SignalRow[];
}

export interface ChainProblem {
  /** The `seq` of the first row concerned. */
  row: number;
  problem: "edited" | "removed" | "reordered" | "bad-link";
  detail: string;
}

/** A user certificate issued from an OIDC token: its serial and who it was issued to. */
export interface IssuedCertificateRow {
  serial: bigint;
  keyId: string;
  principals: string[];
  groups: string[];
  /** The token's issuer and subject. */
  issuer: string;
  subject: string;
  /** The certified public key ("SHA256:…"). */
  keyFingerprint: string;
  sourceIp?: string;
  issuedAt: Date;
  validAfter: Date;
  validBefore: Date;
}

export interface AuditIndex {
  /**
   * Queues one audit event; written in batched transactions (at least every
   * `flushIntervalMs` or `maxBatch` rows). Derives sessions/commands/auth rows
   * from session.start/session.end/session.denied/command/auth.* events.
   * Never throws into the caller: a failure is reported through onFailure.
   */
  record(record: AuditRecord): void;
  /** Written at once (after the queued events), so a crash cannot lose it. */
  recordingOpened(row: Omit<RecordingRow, "status">): void;
  recordingClosed(id: string, closed: RecordingClosed): void;
  /** Recordings still `open` (left by a crash). */
  openRecordings(): RecordingRow[];
  /**
   * Recordings closed, interrupted or failed, not yet pruned, that ended
   * before `cutoff` and whose session also ended before `cutoff`.
   */
  prunableRecordings(cutoff: Date): PrunableRecording[];
  /** Records that the recording's file was removed; throws PortcullisError when no such unpruned, closed row exists. */
  markPruned(id: string, at: Date): void;
  /** Sessions started but never ended (crash): marks them ended with reason "interrupted" at `at`. Returns their ids. */
  markInterrupted(at: Date): string[];
  listSessions(filter: SessionFilter): SessionSummary[];
  getSession(id: string): SessionDetail | undefined;
  /** Signals, newest first. */
  listSignals(filter: SignalFilter): SignalRow[];
  /** The user's sessions that started in [since, until), oldest first, for behavioural baselines. */
  userHistory(user: string, since: Date, until: Date): HistorySession[];
  /** All recordings, or one session's. */
  recordings(id?: string): RecordingRow[];
  /**
   * Records an issued certificate at once (it must be on disk before the
   * certificate is handed out). False when the serial is already recorded;
   * throws PortcullisError when the database fails.
   */
  recordIssuedCertificate(row: IssuedCertificateRow): boolean;
  /** Issued certificates, newest first; only `keyId`'s when given. */
  issuedCertificates(keyId?: string): IssuedCertificateRow[];
  /** Empty when the chain is intact. */
  verifyChain(): ChainProblem[];
  /** Writes the queue now (synchronously). */
  flush(): void;
  close(): void;
  onFailure(listener: (error: Error) => void): void;
}

export interface AuditIndexOptions {
  /** A file path, or ":memory:" for tests. */
  path: string;
  /** Default 250 ms. */
  flushIntervalMs?: number;
  /** Default 100 events: the longest a turn of the event loop waits for the index. */
  maxBatch?: number;
  /** How long a write waits for another connection's lock before failing; default 1000 ms. */
  busyTimeoutMs?: number;
  /**
   * For a long-running writer (the server): WAL checkpoints run in a thread
   * of their own this often, instead of in a commit on the caller's thread.
   * Unset (the CLI, tests): SQLite's automatic checkpoints.
   */
  checkpointIntervalMs?: number;
  now?: () => Date;
}
