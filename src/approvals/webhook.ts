// The approvals webhook: a JSON POST when a request is created and when it
// leaves pending, with Slack-compatible `text` and the structured request
// (docs/approvals.md). Delivery, signing and retries are the shared webhook
// delivery's (src/notify/webhook-delivery.ts); a request whose delivery
// finally fails is audited once (`approval.webhook_failed`).
import type { AuditLog } from "../audit/log.js";
import {
  createWebhookDelivery,
  slackEscape,
  type WebhookTarget,
} from "../notify/webhook-delivery.js";
import { approvalJson } from "./json.js";
import { describeApprovers } from "./rules.js";
import type { ApprovalRequest, ApprovalStatus } from "./types.js";

export {
  DELIVERY_HEADER,
  EVENT_HEADER,
  resolveWebhookSecret,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from "../notify/webhook-delivery.js";

export type WebhookEvent =
  | "approval.requested"
  | "approval.approved"
  | "approval.denied"
  | "approval.expired"
  | "approval.withdrawn";

const STATUS_EVENTS: Readonly<Record<ApprovalStatus, WebhookEvent>> = {
  pending: "approval.requested",
  approved: "approval.approved",
  denied: "approval.denied",
  expired: "approval.expired",
  withdrawn: "approval.withdrawn",
};

/** The webhook event for a request in this status. */
export function webhookEventFor(status: ApprovalStatus): WebhookEvent {
  return STATUS_EVENTS[status];
}

export interface ApprovalNotifier {
  /** Queues a delivery and returns at once. */
  notify(event: WebhookEvent, request: ApprovalRequest): void;
  /** Abandons deliveries still being retried. */
  close(): void;
}

export interface WebhookOptions extends WebhookTarget {
  audit: AuditLog;
}

function quoted(text: string): string {
  return `\`${slackEscape(text.replace(/`/g, "'"))}\``;
}

/** One line a person reads in a chat channel. */
export function webhookText(event: WebhookEvent, request: ApprovalRequest): string {
  const what = {
    command: quoted(request.line),
    session: "session",
    file_transfer: `file transfer ${quoted(request.line)}`,
  }[request.kind];
  const where = `${request.login === undefined ? "" : `${request.login}@`}${request.target}`;
  const subject = `Approval *${request.id}* for ${slackEscape(request.requester.user)} on ${slackEscape(where)}: ${what}`;
  const comment =
    request.comment === undefined ? "" : ` — "${slackEscape(request.comment.replace(/"/g, "'"))}"`;
  switch (event) {
    case "approval.requested": {
      const justification =
        request.justification === undefined
          ? ""
          : ` Reason given: "${slackEscape(request.justification)}".`;
      return `:hourglass: ${subject} (rule ${slackEscape(request.rule)}: ${slackEscape(request.reason)}).${justification} Approvers: ${slackEscape(describeApprovers(request.approvers))}${request.quorum > 1 ? ` (${request.quorum} needed)` : ""}. Expires ${request.expires.toISOString()}. \`portcullis approve ${request.id}\``;
    }
    case "approval.approved":
      return `:white_check_mark: ${subject} approved by ${slackEscape(request.decidedBy.join(", "))}${comment}`;
    case "approval.denied":
      return `:no_entry: ${subject} denied by ${slackEscape(request.decidedBy.join(", "))}${comment}`;
    case "approval.expired":
      return `:hourglass_flowing_sand: ${subject} expired without a decision`;
    case "approval.withdrawn":
      return `:leftwards_arrow_with_hook: ${subject} withdrawn by the requester`;
  }
}

/** The JSON body: Slack's `text`, the event, and the request as structured fields. */
export function webhookPayload(event: WebhookEvent, request: ApprovalRequest, sentAt: Date) {
  return {
    text: webhookText(event, request),
    event,
    sent_at: sentAt.toISOString(),
    approval: approvalJson(request),
  };
}

export function createWebhookNotifier(options: WebhookOptions): ApprovalNotifier {
  const delivery = createWebhookDelivery({
    ...options,
    userAgent: "portcullis-approvals",
    onFailure: ({ key, event, attempts, reason }) =>
      options.audit.emit("approval.webhook_failed", {
        id: key,
        webhook_event: event,
        attempts,
        reason,
      }),
  });
  return {
    notify(event, request) {
      const body = JSON.stringify(webhookPayload(event, request, options.now()));
      delivery.send(event, request.id, body);
    },
    close: () => delivery.close(),
  };
}
