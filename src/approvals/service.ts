// The approvals service (one per process) over an ApprovalStore: creates
// requests, applies votes through the pure rules in one store transaction,
// audits every transition once (by the process that made it), announces
// them on the webhook, and tells waiting sessions the outcome: at once for
// a decision made in this process, within one poll interval for one made by
// another process (the local CLI, another node) — only the ids someone
// waits on are polled, by primary key. In the server (`background`), pending
// requests get expiry timers (also those left by a previous run) and audit
// events queued by the CLI are emitted here.
import { randomInt } from "node:crypto";
import type { AuditEventName } from "../audit/events.js";
import type { AuditFields, AuditLog } from "../audit/log.js";
import { errorMessage } from "../util/errors.js";
import {
  applyVote,
  checkNewRequest,
  expire,
  grantFor,
  isOpen,
  isOverdue,
  mayDecide,
  withdraw,
} from "./rules.js";
import type { ApprovalChange, ApprovalStore, ApprovalTransition, OutboxEvent } from "./store.js";
import {
  ApprovalError,
  type ApprovalOutcome,
  type ApprovalRequest,
  type Approvals,
  type ApprovalVerdict,
  type NewApprovalRequest,
  type Principal,
  type SessionGrant,
} from "./types.js";
import { type ApprovalNotifier, webhookEventFor } from "./webhook.js";

export interface ApprovalsOptions {
  store: ApprovalStore;
  audit: AuditLog;
  now: () => Date;
  webhook?: ApprovalNotifier;
  /** How often the requests someone waits on are looked up; default 250 ms. */
  pollIntervalMs?: number;
  /**
   * A long-running server (default): expiry timers for every pending
   * request, and the audit events other processes queued are emitted here.
   * False for one-shot processes (the CLI).
   */
  background?: boolean;
}

const DEFAULT_POLL_INTERVAL_MS = 250;
/** Easy to read aloud and type: no 0/o, 1/l. */
const ID_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz";
const ID_LENGTH = 6;
const ID_ATTEMPTS = 10;
/** setTimeout's longest delay; a later deadline re-arms the timer. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const OUTBOX_BATCH = 100;
const GRANTS_LISTED = 1000;
const RECENT_LISTED = 100;

interface Waiter {
  readonly promise: Promise<ApprovalOutcome>;
  resolve(outcome: ApprovalOutcome): void;
  reject(error: Error): void;
}

export function createApprovals(options: ApprovalsOptions): Approvals {
  return new ApprovalService(options);
}

function newId(): string {
  let id = "";
  for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

function notFound(id: string): ApprovalError {
  return new ApprovalError("ERR_APPROVAL_NOT_FOUND", `no approval request ${id}`);
}

/** The fields every approval event carries (SPEC §10: session, user = the requester, target, login). */
function requestFields(request: ApprovalRequest): AuditFields {
  return {
    session: request.session,
    user: request.requester.user,
    target: request.target,
    ...(request.login === undefined ? {} : { login: request.login }),
    id: request.id,
    kind: request.kind,
    line: request.line,
    rule: request.rule,
  };
}

function requestedFields(request: ApprovalRequest): AuditFields {
  return {
    groups: request.requester.groups,
    reason: request.reason,
    approvers: request.approvers,
    quorum: request.quorum,
    expires: request.expires.toISOString(),
    ...(request.justification === undefined ? {} : { justification: request.justification }),
    ...(request.reuseMs === undefined ? {} : { reuse_ms: request.reuseMs }),
    ...(request.grantMs === undefined ? {} : { grant_ms: request.grantMs }),
  };
}

/** What a vote or decision adds: the last vote's approver, verdict, comment and channel. */
function voteFields(request: ApprovalRequest): AuditFields {
  const vote = request.votes.at(-1);
  if (vote === undefined) return {};
  return {
    approver: vote.approver,
    verdict: vote.verdict,
    via: vote.via,
    ...(vote.comment === undefined ? {} : { comment: vote.comment }),
    votes: request.votes.length,
    quorum: request.quorum,
  };
}

function grantFields(grant: SessionGrant): AuditFields {
  return {
    grant: grant.id,
    grant_expires: grant.expires.toISOString(),
  };
}

class ApprovalService implements Approvals {
  private readonly store: ApprovalStore;
  private readonly audit: AuditLog;
  private readonly now: () => Date;
  private readonly webhook: ApprovalNotifier | undefined;
  private readonly background: boolean;
  private readonly waiters = new Map<string, Waiter>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private readonly poller: NodeJS.Timeout;
  private pollFailing = false;
  private closed = false;

  constructor(options: ApprovalsOptions) {
    this.store = options.store;
    this.audit = options.audit;
    this.now = options.now;
    this.webhook = options.webhook;
    this.background = options.background ?? true;
    this.poller = setInterval(
      () => this.poll(),
      options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    );
    this.poller.unref();
    if (this.background) {
      for (const request of this.store.pending()) this.armExpiry(request);
      this.poll();
    }
  }

  request(input: NewApprovalRequest): ApprovalRequest {
    this.requireOpen();
    checkNewRequest(input);
    const created = this.now();
    const request = this.insertWithFreshId({
      ...input,
      id: "",
      created,
      expires: new Date(created.getTime() + input.timeoutMs),
      status: "pending",
      votes: [],
      decidedBy: [],
    });
    this.announce("approval.requested", request, requestedFields(request));
    this.armExpiry(request);
    return request;
  }

  async outcome(id: string): Promise<ApprovalOutcome> {
    this.requireOpen();
    const waiting = this.waiters.get(id);
    if (waiting !== undefined) return waiting.promise;
    const request = this.store.get(id);
    if (request === undefined) throw notFound(id);
    if (request.status !== "pending") return { status: request.status, request };
    const waiter = this.addWaiter(id);
    if (isOverdue(request, this.now())) this.expireNow(id);
    else this.armExpiry(request);
    return waiter.promise;
  }

  withdraw(id: string, by: string): void {
    this.requireOpen();
    const now = this.now();
    const change = this.store.update(id, (current) => transition(withdraw(current, now)));
    if (change !== undefined) this.settle(change, { by });
  }

  decide(
    id: string,
    approver: Principal,
    verdict: ApprovalVerdict,
    comment: string | undefined,
    via: string,
  ): ApprovalRequest {
    this.requireOpen();
    const at = this.now();
    const vote = {
      approver: approver.user,
      verdict,
      at,
      via,
      ...(comment === undefined || comment === "" ? {} : { comment }),
    };
    const change = this.store.update(id, (current) => {
      const expired = expire(current, at);
      if (expired !== undefined) return { request: expired };
      const request = applyVote(current, approver, vote);
      const grant = grantFor(request);
      return grant === undefined ? { request } : { request, grant };
    });
    if (change === undefined) throw notFound(id);
    this.settle(change);
    if (change.after.status === "expired") {
      throw new ApprovalError(
        "ERR_APPROVAL_EXPIRED",
        `approval ${id} expired at ${change.after.expires.toISOString()}`,
      );
    }
    return change.after;
  }

  get(id: string): ApprovalRequest | undefined {
    this.requireOpen();
    return this.store.get(id);
  }

  pending(approver?: Principal): ApprovalRequest[] {
    this.requireOpen();
    const now = this.now();
    return this.store
      .pending()
      .filter(
        (request) =>
          isOpen(request, now) && (approver === undefined || mayDecide(request, approver, now)),
      );
  }

  recent(limit = RECENT_LISTED): ApprovalRequest[] {
    this.requireOpen();
    return this.store.recent(limit);
  }

  history(limit: number, offset = 0): ApprovalRequest[] {
    this.requireOpen();
    return this.store.settledPage(limit, offset);
  }

  reusable(
    requester: string,
    target: string,
    line: string,
    session?: string,
  ): ApprovalRequest | undefined {
    this.requireOpen();
    const found = this.store.reusable(requester, target, line, this.now());
    if (found === undefined) return undefined;
    this.audit.emit("approval.reused", {
      ...requestFields(found),
      session: session ?? found.session,
      approval_session: found.session,
      decided_by: found.decidedBy,
      ...(found.decidedAt === undefined ? {} : { approved_at: found.decidedAt.toISOString() }),
    });
    return found;
  }

  activeGrant(user: string, target: string): SessionGrant | undefined {
    this.requireOpen();
    return this.store.activeGrant(user, target, this.now());
  }

  grants(): SessionGrant[] {
    this.requireOpen();
    return this.store.grants(GRANTS_LISTED);
  }

  revokeGrant(id: string, by: string): SessionGrant {
    this.requireOpen();
    const now = this.now();
    const grant = this.store.grant(id);
    if (grant === undefined) throw new ApprovalError("ERR_GRANT_NOT_FOUND", `no grant ${id}`);
    if (grant.expires.getTime() <= now.getTime() && grant.revokedAt === undefined) {
      throw new ApprovalError(
        "ERR_GRANT_EXPIRED",
        `grant ${id} already expired at ${grant.expires.toISOString()}`,
      );
    }
    const revoked = this.store.revokeGrant(id, by, now);
    if (revoked === undefined) {
      throw new ApprovalError("ERR_GRANT_REVOKED", `grant ${id} was already revoked`);
    }
    this.audit.emit("grant.revoked", {
      user: revoked.user,
      target: revoked.target,
      grant: revoked.id,
      request: revoked.request,
      by,
      expires: revoked.expires.toISOString(),
    });
    return revoked;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poller);
    for (const timer of this.expiryTimers.values()) clearTimeout(timer);
    this.expiryTimers.clear();
    const stopped = new ApprovalError("ERR_APPROVALS_CLOSED", "the approvals service stopped");
    for (const waiter of this.waiters.values()) waiter.reject(stopped);
    this.waiters.clear();
    this.webhook?.close();
    this.store.close();
  }

  private insertWithFreshId(template: ApprovalRequest): ApprovalRequest {
    for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
      const request = { ...template, id: newId() };
      if (this.store.insert(request)) return request;
    }
    throw new ApprovalError("ERR_APPROVAL_ID", "could not allocate an approval id");
  }

  /** Audits (and announces) what a store change did, and tells the waiting session. */
  private settle(change: ApprovalChange, extra: AuditFields = {}): void {
    const { before, after, grant } = change;
    if (after.votes.length === before.votes.length && after.status === before.status) return;
    if (after.status === "pending") {
      this.audit.emit("approval.vote", { ...requestFields(after), ...voteFields(after) });
      return;
    }
    const fields: AuditFields = {
      ...(after.status === "approved" || after.status === "denied" ? voteFields(after) : {}),
      ...(after.decidedBy.length > 0 ? { decided_by: after.decidedBy } : {}),
      ...(grant === undefined ? {} : grantFields(grant)),
      ...extra,
    };
    this.announce(webhookEventFor(after.status), after, fields);
    this.finish(after);
  }

  private announce(event: AuditEventName, request: ApprovalRequest, fields: AuditFields): void {
    this.audit.emit(event, { ...requestFields(request), ...fields });
    this.webhook?.notify(webhookEventFor(request.status), request);
  }

  /** The request left pending: its timer goes, its waiter learns the outcome. */
  private finish(request: ApprovalRequest): void {
    if (request.status === "pending") return;
    clearTimeout(this.expiryTimers.get(request.id));
    this.expiryTimers.delete(request.id);
    const waiter = this.waiters.get(request.id);
    this.waiters.delete(request.id);
    waiter?.resolve({ status: request.status, request });
    this.refPoller();
  }

  private addWaiter(id: string): Waiter {
    let resolve!: (outcome: ApprovalOutcome) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<ApprovalOutcome>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    const waiter = { promise, resolve, reject };
    this.waiters.set(id, waiter);
    this.refPoller();
    return waiter;
  }

  /** The poller keeps the process alive only while someone waits. */
  private refPoller(): void {
    if (this.waiters.size > 0) this.poller.ref();
    else this.poller.unref();
  }

  private armExpiry(request: ApprovalRequest): void {
    if (!this.background && !this.waiters.has(request.id)) return;
    if (this.expiryTimers.has(request.id) || request.status !== "pending") return;
    const delay = Math.min(
      MAX_TIMER_MS,
      Math.max(0, request.expires.getTime() - this.now().getTime()),
    );
    const timer = setTimeout(() => {
      this.expiryTimers.delete(request.id);
      this.onDeadline(request);
    }, delay);
    timer.unref();
    this.expiryTimers.set(request.id, timer);
  }

  private onDeadline(request: ApprovalRequest): void {
    if (this.closed) return;
    try {
      const after = this.expireNow(request.id);
      if (after?.status === "pending") this.armExpiry(after); // a deadline beyond setTimeout's range
    } catch (error) {
      // The store is unreachable: the waiting session must not wait forever (fail closed).
      this.audit.error("approvals: cannot expire a request", {
        id: request.id,
        reason: errorMessage(error),
      });
      const waiter = this.waiters.get(request.id);
      this.waiters.delete(request.id);
      waiter?.reject(error instanceof Error ? error : new Error(String(error)));
      this.refPoller();
    }
  }

  private expireNow(id: string): ApprovalRequest | undefined {
    const now = this.now();
    const change = this.store.update(id, (current) => transition(expire(current, now)));
    if (change === undefined) return undefined;
    this.settle(change);
    this.finish(change.after); // decided elsewhere meanwhile: the waiter still learns it
    return change.after;
  }

  private poll(): void {
    if (this.closed) return;
    try {
      if (this.background) this.emitQueuedEvents();
      this.resolveSettled();
      this.pollFailing = false;
    } catch (error) {
      if (!this.pollFailing) {
        this.audit.error("approvals: polling the database failed", { reason: errorMessage(error) });
      }
      this.pollFailing = true;
    }
  }

  /** Waiters whose request another process decided. */
  private resolveSettled(): void {
    if (this.waiters.size === 0) return;
    for (const id of this.store.settled([...this.waiters.keys()]).keys()) {
      const request = this.store.get(id);
      if (request !== undefined) this.finish(request);
    }
  }

  /** Audit events the CLI queued: emitted (and announced) here, once. */
  private emitQueuedEvents(): void {
    for (const queued of this.store.takeEvents(OUTBOX_BATCH)) this.emitQueued(queued);
  }

  private emitQueued({ event, fields, time }: OutboxEvent): void {
    this.audit.emit(event, { ...fields, queued_at: time.toISOString() });
    if (!event.startsWith("approval.") || typeof fields.id !== "string") return;
    const request = this.store.get(fields.id);
    if (request === undefined || webhookEventFor(request.status) !== event) return;
    this.webhook?.notify(webhookEventFor(request.status), request);
    this.finish(request);
  }

  private requireOpen(): void {
    if (this.closed) {
      throw new ApprovalError("ERR_APPROVALS_CLOSED", "the approvals service stopped");
    }
  }
}

function transition(request: ApprovalRequest | undefined): ApprovalTransition | undefined {
  return request === undefined ? undefined : { request };
}
