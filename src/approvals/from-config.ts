// The approvals service as `portcullis serve` runs it, from the `approvals`
// and `database` sections of portcullis.yaml: the SQLite store in the
// database file (WAL checkpoints left to the audit index's thread), the
// webhook when one is configured, signed when a secret is found.
import type { AuditLog } from "../audit/log.js";
import type { Config } from "../config/index.js";
import { createApprovals } from "./service.js";
import { openSqliteApprovalStore } from "./sqlite-store.js";
import type { Approvals } from "./types.js";
import { type ApprovalNotifier, createWebhookNotifier, resolveWebhookSecret } from "./webhook.js";

export function approvalsFromConfig(config: Config, audit: AuditLog, now: () => Date): Approvals {
  const webhook = webhookFromConfig(config, audit, now);
  const store = openSqliteApprovalStore({
    path: config.database.path,
    backgroundCheckpoints: true,
  });
  return createApprovals({ store, audit, now, ...(webhook === undefined ? {} : { webhook }) });
}

function webhookFromConfig(
  config: Config,
  audit: AuditLog,
  now: () => Date,
): ApprovalNotifier | undefined {
  const { webhook: url, webhook_secret_file: secretFile } = config.approvals;
  if (url === undefined) return undefined;
  const secret = resolveWebhookSecret(secretFile);
  if (secret === undefined) {
    audit.info("approvals webhook deliveries are unsigned: no webhook secret configured");
  }
  return createWebhookNotifier({ url, audit, now, ...(secret === undefined ? {} : { secret }) });
}
