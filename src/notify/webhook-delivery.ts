// Outgoing webhooks, whatever they announce (approvals, signal alerts): a
// JSON POST signed with HMAC-SHA256 over `<timestamp>.<body>` so receivers
// can verify it, the signing secret's lookup, and Slack escaping for the
// `text` of payloads. Deliveries run in the background: `send` returns at
// once, retryable failures are retried with exponential backoff, `close`
// abandons retries, and a key whose delivery finally fails is reported once.
// The URL and the secret never appear in a log line or an error.
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage, PortcullisError } from "../util/errors.js";

export const SIGNATURE_HEADER = "x-portcullis-signature";
export const TIMESTAMP_HEADER = "x-portcullis-timestamp";
export const DELIVERY_HEADER = "x-portcullis-delivery";
export const EVENT_HEADER = "x-portcullis-event";
export const WEBHOOK_SECRET_ENV = "PORTCULLIS_WEBHOOK_SECRET";
export const WEBHOOK_SECRET_CREDENTIAL = "webhook.secret";

/** Where a webhook goes and how hard to try; shared by every notifier's options. */
export interface WebhookTarget {
  url: string;
  /** Signs every delivery when present. */
  secret?: Buffer;
  now: () => Date;
  /** Waits before the 2nd, 3rd, … attempt; default 1 s, 2 s, 4 s, 8 s, 16 s. */
  retryDelaysMs?: readonly number[];
  /** Per attempt; default 5 s. */
  attemptTimeoutMs?: number;
}

/** A delivery that finally failed (reported once per key). */
export interface WebhookFailure {
  key: string;
  event: string;
  attempts: number;
  /** `HTTP 404`, `ECONNREFUSED`, `timed out`…: never the URL. */
  reason: string;
}

export interface WebhookDeliveryOptions extends WebhookTarget {
  /** The `user-agent` header, naming the sender (`portcullis-approvals`). */
  userAgent: string;
  onFailure: (failure: WebhookFailure) => void;
}

export interface WebhookDelivery {
  /** Posts `body` (JSON) in the background; `key` groups deliveries for failure reports. */
  send(event: string, key: string, body: string): void;
  /** Abandons deliveries still being retried. */
  close(): void;
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
 * `setting` names the config key of `file` in errors.
 */
export function resolveWebhookSecret(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  setting = "approvals.webhook_secret_file",
): Buffer | undefined {
  const fromEnv = env[WEBHOOK_SECRET_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return secretFrom(fromEnv, `$${WEBHOOK_SECRET_ENV}`);
  const credentials = env.CREDENTIALS_DIRECTORY;
  const credential =
    credentials === undefined || credentials === ""
      ? undefined
      : readSecret(join(credentials, WEBHOOK_SECRET_CREDENTIAL), setting, false);
  if (credential !== undefined) return credential;
  return file === undefined ? undefined : readSecret(file, setting, true);
}

function readSecret(path: string, setting: string, required: boolean): Buffer | undefined {
  try {
    return secretFrom(readFileSync(path, "utf8"), path);
  } catch (error) {
    if (error instanceof PortcullisError) throw error;
    if (!required && (error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    const code = (error as NodeJS.ErrnoException).code ?? errorMessage(error);
    throw new PortcullisError("ERR_WEBHOOK_SECRET", `${setting}: cannot read ${path}: ${code}`, 2);
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
export function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

type AttemptResult = { ok: true } | { ok: false; retry: boolean; reason: string };

export function createWebhookDelivery(options: WebhookDeliveryOptions): WebhookDelivery {
  return new Delivery(options);
}

class Delivery implements WebhookDelivery {
  private readonly stop = new AbortController();
  private readonly failedKeys = new Set<string>();
  private readonly retryDelaysMs: readonly number[];
  private readonly attemptTimeoutMs: number;

  constructor(private readonly options: WebhookDeliveryOptions) {
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
  }

  send(event: string, key: string, body: string): void {
    if (this.stop.signal.aborted) return;
    void this.deliver(event, key, body, randomUUID());
  }

  close(): void {
    this.stop.abort();
  }

  private async deliver(event: string, key: string, body: string, delivery: string) {
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(event, body, delivery);
      if (result.ok || this.stop.signal.aborted) return;
      const delay = this.retryDelaysMs[attempt - 1];
      if (!result.retry || delay === undefined) {
        this.reportFailure({ key, event, attempts: attempt, reason: result.reason });
        return;
      }
      try {
        await sleep(delay, undefined, { signal: this.stop.signal, ref: false });
      } catch {
        return; // closed while waiting
      }
    }
  }

  private async attempt(event: string, body: string, delivery: string): Promise<AttemptResult> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": this.options.userAgent,
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

  private reportFailure(failure: WebhookFailure): void {
    if (this.failedKeys.has(failure.key)) return;
    this.failedKeys.add(failure.key);
    this.options.onFailure(failure);
  }
}

/** The failure without the URL: the socket error's code when there is one. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (typeof cause?.code === "string") return cause.code;
  if (error instanceof Error && error.name === "TimeoutError") return "timed out";
  return error instanceof Error ? error.name : "failed";
}
