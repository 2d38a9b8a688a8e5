// Shared fixtures for the approvals tests: private temp directories and
// database files, an audit log that keeps what it was given, principals and
// a typical command request.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import {
  type Approvals,
  type ApprovalsOptions,
  createApprovals,
  type NewApprovalRequest,
  openSqliteApprovalStore,
  type Principal,
} from "../../src/approvals/index.js";
import type { AuditEventName } from "../../src/audit/events.js";
import type { AuditFields, AuditLog } from "../../src/audit/log.js";

const root = mkdtempSync(join(tmpdir(), "portcullis-approvals-"));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** A fresh database path in this test file's private temp directory. */
export function freshPath(): string {
  return join(root, `approvals-${counter++}.db`);
}

export function privateDir(): string {
  return mkdtempSync(join(root, "dir-"));
}

export interface RecordedEvent {
  event: AuditEventName;
  fields: AuditFields;
}

export interface RecordingAuditLog extends AuditLog {
  readonly events: RecordedEvent[];
  readonly errors: string[];
  named(event: AuditEventName): RecordedEvent[];
}

export function recordingAudit(): RecordingAuditLog {
  const events: RecordedEvent[] = [];
  const errors: string[] = [];
  return {
    events,
    errors,
    named: (event) => events.filter((recorded) => recorded.event === event),
    emit: (event, fields = {}) => events.push({ event, fields }),
    info: () => {},
    error: (message) => errors.push(message),
    flush: () => {},
  };
}

export const alice: Principal = { user: "alice@example.com", groups: ["ops"] };
export const bob: Principal = { user: "bob@example.com", groups: ["leads"] };
export const carol: Principal = { user: "carol@example.com", groups: ["leads"] };
export const dave: Principal = { user: "dave@example.com", groups: ["ops"] };

export function commandRequest(overrides: Partial<NewApprovalRequest> = {}): NewApprovalRequest {
  return {
    kind: "command",
    requester: alice,
    session: "20261122T031600Z-9f3a2c1b7e",
    target: "web1",
    login: "deploy",
    line: "systemctl restart nginx",
    rule: "prod#1",
    reason: "service restarts need approval",
    approvers: { users: [], groups: ["leads"] },
    quorum: 1,
    timeoutMs: 60_000,
    ...overrides,
  };
}

export interface ServiceFixture {
  approvals: Approvals;
  audit: RecordingAuditLog;
  path: string;
}

/** A service on a (fresh unless given) database file, closed after the test file. */
export function openService(
  options: Partial<Omit<ApprovalsOptions, "store" | "audit">> & { path?: string } = {},
): ServiceFixture {
  const { path = freshPath(), ...rest } = options;
  const audit = recordingAudit();
  const approvals = createApprovals({
    store: openSqliteApprovalStore({ path }),
    audit,
    now: () => new Date(),
    ...rest,
  });
  after(() => approvals.close());
  return { approvals, audit, path };
}

/** Resolves after `ms`; for waits that are the behaviour under test (deadlines, backoff). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
