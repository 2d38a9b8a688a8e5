// The approvals module's public surface (SPEC §8): the types, the service,
// the SQLite store, the webhook notifier and the CLI's outbox audit log.
export { outboxAuditLog } from "./outbox.js";
export { checkVoter, describeApprovers, isApprover, mayDecide } from "./rules.js";
export { type ApprovalsOptions, createApprovals } from "./service.js";
export { openSqliteApprovalStore, type SqliteApprovalStoreOptions } from "./sqlite-store.js";
export type { ApprovalChange, ApprovalStore, ApprovalTransition, OutboxEvent } from "./store.js";
export * from "./types.js";
export {
  type ApprovalNotifier,
  createWebhookNotifier,
  resolveWebhookSecret,
  signWebhook,
  verifyWebhookSignature,
  type WebhookEvent,
  type WebhookOptions,
} from "./webhook.js";
