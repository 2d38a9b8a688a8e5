// The approvals webhook: a JSON POST when a request is created and when it
// leaves pending, with Slack-compatible `text` and the structured request,
// signed with HMAC-SHA256 over `<timestamp>.<body>` so receivers can verify
// it (docs/approvals.md). Deliveries run in the background: `notify` returns
// at once, failures are retried with exponential backoff, and a request
// whose delivery finally fails is audited once (`approval.webhook_failed`).
// The URL and the secret never appear in a log line or an error.
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { AuditLog } from "../audit/log.js";
import { errorMessage, PortcullisError } from "../util/errors.js";
import { approvalJson } from "./json.js";
import { describeApprovers } from "./rules.js";
import type { ApprovalRequest, ApprovalStatus } from "./types.js";

export const SIGNATURE_HEADER = "x-portcullis-signature";
export const TIMESTAMP_HEADER = "x-portcullis-timestamp";
export const DELIVERY_HEADER = "x-portcullis-delivery";
export const EVENT_HEADER = "x-portcullis-event";
export const WEBHOOK_SECRET_ENV = "PORTCULLIS_WEBHOOK_SECRET";
export const WEBHOOK_SECRET_CREDENTIAL = "webhook.secret";

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

export interface WebhookOptions {
  url: string;
  /** Signs every delivery when present. */
  secret?: Buffer;
  audit: AuditLog;
  now: () => Date;
  /** Waits before the 2nd, 3rd, … attempt; default 1 s, 2 s, 4 s, 8 s, 16 s. */
  retryDelaysMs?: readonly number[];
  /** Per attempt; default 5 s. */
  attemptTimeoutMs?: number;
}

const DEFAULT_RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16_000];
const DEFAULT_ATTEMPT_TIMEOUT_MS = 5000;
/** Answers worth trying again: timeouts, rate limits, server errors. */
const RETRYABLE_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function signWebhook(secret: Buffer, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** What a receiver checks: the signature over timestamp and body, and a timestamp within `toleranceMs` of now. */
export function verifyWebhookSignature(check: {
  secret: Buffer;
  timestamp: string;
  signature: string;
  body: string;
  now: Date;
  toleranceMs?: number;
}): boolean {
  const seconds = Number(check.timestamp);
  const skewMs = Math.abs(check.now.getTime() - seconds * 1000);
  if (!Number.isInteger(seconds) || skewMs > (check.toleranceMs ?? 300_000)) return false;
  const expected = Buffer.from(signWebhook(check.secret, check.timestamp, check.body));
  const given = Buffer.from(check.signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The signing secret: $PORTCULLIS_WEBHOOK_SECRET, else the systemd
 * credential $CREDENTIALS_DIRECTORY/webhook.secret, else the configured
 * file; undefined when none is set. Surrounding whitespace is trimmed.
 */
export function resolveWebhookSecret(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Buffer | undefined {
  const fromEnv = env[WEBHOOK_SECRET_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return secretFrom(fromEnv, `$${WEBHOOK_SECRET_ENV}`);
  const credentials = env.CREDENTIALS_DIRECTORY;
  const credential =
    credentials === undefined || credentials === ""
      ? undefined
      : readSecret(join(credentials, WEBHOOK_SECRET_CREDENTIAL), false);
  if (credential !== undefined) return credential;
  return file === undefined ? undefined : readSecret(file, true);
}

function readSecret(path: string, required: boolean): Buffer | undefined {
  try {
    return secretFrom(readFileSync(path, "utf8"), path);
  } catch (error) {
    if (error instanceof PortcullisError) throw error;
    if (!required && (error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    const code = (error as NodeJS.ErrnoException).code ?? errorMessage(error);
    throw new PortcullisError(
      "ERR_WEBHOOK_SECRET",
      `approvals.webhook_secret_file: cannot read ${path}: ${code}`,
      2,
    );
  }
}

function secretFrom(text: string, where: string): Buffer {
  const secret = text.trim();
  if (secret === "") {
    throw new PortcullisError("ERR_WEBHOOK_SECRET", `the webhook secret in ${where} is empty`, 2);
  }
  return Buffer.from(secret, "utf8");
}

/** Slack mrkdwn control characters: a typed `<!channel>` must not notify anyone. */
function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function quoted(text: string): string {
  return `\`${slackEscape(text.replace(/`/g, "'"))}\``;
}

/** One line a person reads in a chat channel. */
export function webhookText(event: WebhookEvent, request: ApprovalRequest): string {
  const what = request.kind === "session" ? "session" : quoted(request.line);
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

type AttemptResult = { ok: true } | { ok: false; retry: boolean; reason: string };

export function createWebhookNotifier(options: WebhookOptions): ApprovalNotifier {
  return new WebhookNotifier(options);
}

class WebhookNotifier implements ApprovalNotifier {
  private readonly stop = new AbortController();
  private readonly failedRequests = new Set<string>();
  private readonly retryDelaysMs: readonly number[];
  private readonly attemptTimeoutMs: number;

  constructor(private readonly options: WebhookOptions) {
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
  }

  notify(event: WebhookEvent, request: ApprovalRequest): void {
    if (this.stop.signal.aborted) return;
    const body = JSON.stringify(webhookPayload(event, request, this.options.now()));
    void this.deliver(event, request.id, body, randomUUID());
  }

  close(): void {
    this.stop.abort();
  }

  private async deliver(event: WebhookEvent, id: string, body: string, delivery: string) {
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(event, body, delivery);
      if (result.ok || this.stop.signal.aborted) return;
      const delay = this.retryDelaysMs[attempt - 1];
      if (!result.retry || delay === undefined) {
        this.reportFailure(event, id, attempt, result.reason);
        return;
      }
      try {
        await sleep(delay, undefined, { signal: this.stop.signal, ref: false });
      } catch {
        return; // closed while waiting
      }
    }
  }

  private async attempt(
    event: WebhookEvent,
    body: string,
    delivery: string,
  ): Promise<AttemptResult> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "portcullis-approvals",
      [EVENT_HEADER]: event,
      [DELIVERY_HEADER]: delivery,
    };
    const { secret } = this.options;
    if (secret !== undefined) {
      const timestamp = String(Math.floor(this.options.now().getTime() / 1000));
      headers[TIMESTAMP_HEADER] = timestamp;
      headers[SIGNATURE_HEADER] = signWebhook(secret, timestamp, body);
    }
    try {
      const response = await fetch(this.options.url, {
        method: "POST",
        headers,
        body,
        redirect: "error",
        signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.attemptTimeoutMs)]),
      });
      await response.body?.cancel();
      if (response.ok) return { ok: true };
      return {
        ok: false,
        retry: RETRYABLE_STATUS(response.status),
        reason: `HTTP ${response.status}`,
      };
    } catch (error) {
      return { ok: false, retry: true, reason: networkReason(error) };
    }
  }

  private reportFailure(event: WebhookEvent, id: string, attempts: number, reason: string): void {
    if (this.failedRequests.has(id)) return;
    this.failedRequests.add(id);
    this.options.audit.emit("approval.webhook_failed", {
      id,
      webhook_event: event,
      attempts,
      reason,
    });
  }
}

/** The failure without the URL: the socket error's code when there is one. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (typeof cause?.code === "string") return cause.code;
  if (error instanceof Error && error.name === "TimeoutError") return "timed out";
  return error instanceof Error ? error.name : "failed";
}
