// What the approvals service needs from a database: the interface a SQLite
// store (sqlite-store.ts) implements today and a PostgreSQL one could later.
// Every change to a request goes through `update`, which runs the caller's
// pure change on the current row in one transaction that excludes every
// other writer, so two approvers voting at once never both "win".
import type { AuditEventName } from "../audit/events.js";
import type { ApprovalRequest, ApprovalStatus, SessionGrant } from "./types.js";

/** What a change makes of a request: the new request and, for an approved session, its grant. */
export interface ApprovalTransition {
  readonly request: ApprovalRequest;
  readonly grant?: SessionGrant;
}

export interface ApprovalChange {
  readonly before: ApprovalRequest;
  readonly after: ApprovalRequest;
  readonly grant?: SessionGrant;
}

/** An audit event written by a process without the audit log (the local CLI). */
export interface OutboxEvent {
  readonly time: Date;
  readonly event: AuditEventName;
  readonly fields: Record<string, unknown>;
}

export interface ApprovalStore {
  /** False when the id is taken (the caller picks another). */
  insert(request: ApprovalRequest): boolean;
  get(id: string): ApprovalRequest | undefined;
  /** Pending requests, oldest first (including those past their deadline). */
  pending(): ApprovalRequest[];
  /** All requests, newest first, at most `limit`. */
  recent(limit: number): ApprovalRequest[];
  /** Requests no longer pending, newest first, `limit` of them after skipping `offset`. */
  settledPage(limit: number, offset: number): ApprovalRequest[];
  /** Of `ids`, those no longer pending, with their status. */
  settled(ids: readonly string[]): Map<string, ApprovalStatus>;
  /**
   * Runs `change` on the current request and writes its result, in one
   * transaction excluding every other writer. `change` returning undefined
   * changes nothing; throwing rolls back and propagates. Undefined when no
   * such request exists. Votes are appended, never rewritten.
   */
  update(
    id: string,
    change: (current: ApprovalRequest) => ApprovalTransition | undefined,
  ): ApprovalChange | undefined;
  /** The most recently approved request for exactly this line whose reuse window is open at `now`. */
  reusable(requester: string, target: string, line: string, now: Date): ApprovalRequest | undefined;
  /** The unrevoked grant for `user` on `target` lasting longest past `now`. */
  activeGrant(user: string, target: string, now: Date): SessionGrant | undefined;
  grant(id: string): SessionGrant | undefined;
  /** All grants, newest first, at most `limit`. */
  grants(limit: number): SessionGrant[];
  /** Marks the grant revoked; undefined when there is no such unrevoked grant. */
  revokeGrant(id: string, by: string, at: Date): SessionGrant | undefined;
  appendEvent(event: OutboxEvent): void;
  /** Removes and returns up to `limit` outbox events, oldest first (each is taken once, by one process). */
  takeEvents(limit: number): OutboxEvent[];
  close(): void;
}
