// The SQLite audit index (better-sqlite3, WAL): queues audit events and
// writes them in batched transactions, never in the caller's turn of the
// event loop and one batch per turn (better-sqlite3 is synchronous), off the
// caller's error path (a failure goes to onFailure listeners, never into
// record()). Reads flush the queue first, so a caller always sees what it
// recorded.

import Database from "better-sqlite3";
import { errorMessage, PortcullisError } from "../util/errors.js";
import { canonicalJson, verifyChain } from "./chain.js";
import { BackgroundCheckpointer } from "./checkpointer.js";
import { ChainWriter, type QueuedEvent } from "./derive.js";
import { IndexReader } from "./queries.js";
import { migrate } from "./schema.js";
import type {
  AuditIndex,
  AuditIndexOptions,
  AuditRecord,
  ChainProblem,
  HistorySession,
  IssuedCertificateRow,
  PrunableRecording,
  RecordingClosed,
  RecordingRow,
  SessionDetail,
  SessionFilter,
  SessionSummary,
  SignalFilter,
  SignalRow,
} from "./types.js";

const DEFAULTS = { flushIntervalMs: 250, maxBatch: 100, busyTimeoutMs: 1000 };
/** Beyond this many unwritten events (the database failing for long), the oldest are dropped. */
const MAX_QUEUED = 100_000;
/** SQLite errors worth retrying: the batch stays queued. Any other error drops it. */
const TRANSIENT = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOMEM|PROTOCOL)/;

export function openAuditIndex(options: AuditIndexOptions): AuditIndex {
  const background = options.checkpointIntervalMs !== undefined && options.path !== ":memory:";
  const db = openDatabase(
    options.path,
    options.busyTimeoutMs ?? DEFAULTS.busyTimeoutMs,
    background,
  );
  const index = new SqliteAuditIndex(db, options);
  if (background) index.checkpointInBackground(options.path, options.checkpointIntervalMs ?? 0);
  return index;
}

function openDatabase(
  path: string,
  busyTimeoutMs: number,
  backgroundCheckpoints: boolean,
): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    if (backgroundCheckpoints) db.pragma("wal_autocheckpoint = 0");
    migrate(db);
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof PortcullisError) throw error;
    throw new PortcullisError(
      "ERR_AUDIT_INDEX",
      `cannot open the audit index ${path}: ${errorMessage(error)}`,
    );
  }
}

function isTransient(error: unknown): boolean {
  return error instanceof Database.SqliteError && TRANSIENT.test(error.code);
}

function toQueued(record: AuditRecord): QueuedEvent {
  const time = record.time.getTime();
  if (typeof record.event !== "string" || record.event === "" || !Number.isFinite(time)) {
    throw new PortcullisError(
      "ERR_AUDIT_RECORD",
      `audit index: refused an event without a name or a valid time (${String(record.event)})`,
    );
  }
  return {
    event: record.event,
    time,
    fields: record.fields,
    canonical: canonicalJson(record.fields),
  };
}

class SqliteAuditIndex implements AuditIndex {
  private readonly writer: ChainWriter;
  private readonly reader: IndexReader;
  private readonly listeners: ((error: Error) => void)[] = [];
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly now: () => Date;
  private queue: QueuedEvent[] = [];
  private oldestQueuedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stepScheduled = false;
  private checkpointer: BackgroundCheckpointer | undefined;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    options: AuditIndexOptions,
  ) {
    this.writer = new ChainWriter(db);
    this.reader = new IndexReader(db);
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULTS.flushIntervalMs;
    this.maxBatch = Math.max(1, options.maxBatch ?? DEFAULTS.maxBatch);
    this.now = options.now ?? (() => new Date());
  }

  record(record: AuditRecord): void {
    try {
      this.requireOpen();
      this.queue.push(toQueued(record));
      this.oldestQueuedAt ??= this.now().getTime();
      if (this.batchDue()) this.flushSoon();
      else this.scheduleFlush();
    } catch (error) {
      this.fail(error);
    }
  }

  recordingOpened(row: Omit<RecordingRow, "status">): void {
    this.writeNow(() => {
      this.writer.ensureSession(row.session, row.startedAt.getTime());
      this.db
        .prepare(
          `INSERT INTO recordings (id, session, relative_path, started_at, status, width, height, title)
           VALUES (?, ?, ?, ?, 'open', ?, ?, ?)`,
        )
        .run(
          row.id,
          row.session,
          row.relativePath,
          row.startedAt.getTime(),
          row.width ?? null,
          row.height ?? null,
          row.title ?? null,
        );
    });
  }

  recordingClosed(id: string, closed: RecordingClosed): void {
    this.writeNow(() => {
      const result = this.db
        .prepare(
          "UPDATE recordings SET status = ?, ended_at = ?, sha256 = ?, bytes = ?, signature = ? WHERE id = ?",
        )
        .run(
          closed.status,
          closed.endedAt.getTime(),
          closed.sha256,
          closed.bytes,
          closed.signature,
          id,
        );
      if (result.changes === 0) {
        throw new PortcullisError(
          "ERR_AUDIT_INDEX_RECORDING",
          `recording ${id} is not in the audit index`,
        );
      }
    });
  }

  openRecordings(): RecordingRow[] {
    return this.run("listing open recordings", () => this.reader.openRecordings());
  }

  prunableRecordings(cutoff: Date): PrunableRecording[] {
    return this.run("listing recordings to prune", () => this.reader.prunableRecordings(cutoff));
  }

  markPruned(id: string, at: Date): void {
    const changes = this.run(
      "marking a recording pruned",
      () =>
        this.db
          .prepare(
            "UPDATE recordings SET pruned_at = ? WHERE id = ? AND pruned_at IS NULL AND status <> 'open'",
          )
          .run(at.getTime(), id).changes,
    );
    if (changes === 0)
      throw new PortcullisError(
        "ERR_AUDIT_INDEX_RECORDING",
        `recording ${id} is not a closed, unpruned recording in the audit index`,
      );
  }

  markInterrupted(at: Date): string[] {
    return this.run(
      "marking interrupted sessions",
      () =>
        this.db
          .prepare(
            "UPDATE sessions SET ended_at = ?, end_reason = 'interrupted' WHERE ended_at IS NULL RETURNING id",
          )
          .pluck()
          .all(at.getTime()) as string[],
    );
  }

  listSessions(filter: SessionFilter): SessionSummary[] {
    return this.run("listing sessions", () => this.reader.listSessions(filter));
  }

  getSession(id: string): SessionDetail | undefined {
    return this.run("reading a session", () => this.reader.getSession(id));
  }

  listSignals(filter: SignalFilter): SignalRow[] {
    return this.run("listing signals", () => this.reader.listSignals(filter));
  }

  userHistory(user: string, since: Date, until: Date): HistorySession[] {
    return this.run("reading a user's history", () => this.reader.userHistory(user, since, until));
  }

  recordings(id?: string): RecordingRow[] {
    return this.run("listing recordings", () => this.reader.recordings(id));
  }

  recordIssuedCertificate(row: IssuedCertificateRow): boolean {
    const changes = this.run(
      "recording an issued certificate",
      () =>
        this.db
          .prepare(
            `INSERT INTO issued_certificates (serial, key_id, principals, groups, issuer, subject,
               key_fingerprint, source_ip, issued_at, valid_after, valid_before)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (serial) DO NOTHING`,
          )
          .run(
            row.serial.toString(),
            row.keyId,
            JSON.stringify(row.principals),
            JSON.stringify(row.groups),
            row.issuer,
            row.subject,
            row.keyFingerprint,
            row.sourceIp ?? null,
            row.issuedAt.getTime(),
            row.validAfter.getTime(),
            row.validBefore.getTime(),
          ).changes,
    );
    return changes === 1;
  }

  issuedCertificates(keyId?: string): IssuedCertificateRow[] {
    return this.run("listing issued certificates", () => this.reader.issuedCertificates(keyId));
  }

  verifyChain(): ChainProblem[] {
    return this.run("verifying the audit chain", () => verifyChain(this.db));
  }

  flush(): void {
    this.cancelTimer();
    while (this.queue.length > 0 && !this.closed) if (!this.writeBatch()) return;
    this.oldestQueuedAt = undefined;
  }

  /** Writes the oldest batch; false (and the failure reported) if it could not. */
  private writeBatch(): boolean {
    const batch = this.queue.slice(0, this.maxBatch);
    try {
      const head = this.db.transaction(() => this.writer.append(batch))();
      this.writer.commit(head);
      this.queue.splice(0, batch.length);
      return true;
    } catch (error) {
      this.onBatchError(error, batch.length);
      return false;
    }
  }

  /** In the next turn of the event loop, not in the caller's. */
  private flushSoon(): void {
    if (this.stepScheduled) return;
    this.stepScheduled = true;
    setImmediate(() => {
      this.stepScheduled = false;
      this.flushStep();
    });
  }

  /** One batch now and the rest in later turns, so that no turn waits for more than one batch. */
  private flushStep(): void {
    this.cancelTimer();
    if (this.closed || this.queue.length === 0 || !this.writeBatch()) return;
    if (this.queue.length > 0) this.flushSoon();
    else this.oldestQueuedAt = undefined;
  }

  /** Hands WAL checkpoints to a thread of their own (see checkpointer.ts). */
  checkpointInBackground(path: string, intervalMs: number): void {
    this.checkpointer = new BackgroundCheckpointer(path, intervalMs, (error) => this.fail(error));
  }

  close(): void {
    if (this.closed) return;
    void this.checkpointer?.stop();
    this.flush();
    this.cancelTimer();
    this.closed = true;
    this.db.close();
  }

  onFailure(listener: (error: Error) => void): void {
    this.listeners.push(listener);
  }

  private batchDue(): boolean {
    const age = this.now().getTime() - (this.oldestQueuedAt ?? Number.POSITIVE_INFINITY);
    return this.queue.length >= this.maxBatch || age >= this.flushIntervalMs;
  }

  private scheduleFlush(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flushStep();
    }, this.flushIntervalMs);
  }

  private cancelTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A transient failure keeps the batch for the next attempt; any other drops it. */
  private onBatchError(error: unknown, batchSize: number): void {
    this.fail(error);
    if (!isTransient(error)) this.drop(batchSize, "could not be written");
    else if (this.queue.length > MAX_QUEUED)
      this.drop(this.queue.length - MAX_QUEUED, "overflowed the queue");
    if (this.queue.length > 0) this.scheduleFlush();
  }

  private drop(count: number, why: string): void {
    this.queue.splice(0, count);
    this.fail(
      new PortcullisError(
        "ERR_AUDIT_INDEX_DROPPED",
        `audit index: ${count} events ${why} and were dropped (they remain in the audit log)`,
      ),
    );
  }

  /** Flushes the queue, then runs `write` in its own transaction; failures go to onFailure. */
  private writeNow(write: () => void): void {
    try {
      this.requireOpen();
      this.flush();
      this.db.transaction(write)();
    } catch (error) {
      this.fail(error);
    }
  }

  private run<T>(what: string, query: () => T): T {
    this.requireOpen();
    this.flush();
    try {
      return query();
    } catch (error) {
      throw new PortcullisError(
        "ERR_AUDIT_INDEX",
        `audit index: ${what} failed: ${errorMessage(error)}`,
      );
    }
  }

  private requireOpen(): void {
    if (this.closed)
      throw new PortcullisError("ERR_AUDIT_INDEX_CLOSED", "the audit index is closed");
  }

  private fail(error: unknown): void {
    const reported = error instanceof Error ? error : new Error(String(error));
    for (const listener of this.listeners) {
      try {
        listener(reported);
      } catch {
        // A listener's own failure must not reach the data path.
      }
    }
  }
}
