// Signal alerts (docs/signals.md "Alerts"): when a session's risk score
// crosses `signals.threshold`, a JSON POST to `signals.webhook` with a
// Slack-compatible one-line summary, the alert as structured fields and a
// link to the session's page in the viewer. Signed, retried and abandoned on
// close like the approvals webhook (src/notify/webhook-delivery.ts); a
// session whose alert finally fails is audited once (`signal.alert_failed`).
import type { AuditLog } from "../audit/log.js";
import type { Config } from "../config/index.js";
import {
  createWebhookDelivery,
  resolveWebhookSecret,
  slackEscape,
  type WebhookTarget,
} from "../notify/webhook-delivery.js";
import type { SignalAlert } from "./types.js";

export const ALERT_EVENT = "signal.alert";
/** The signals named in the text, highest scores first. */
const TEXT_SIGNALS = 3;

export interface AlertNotifierOptions extends WebhookTarget {
  audit: AuditLog;
  /** `http.public_url`: alerts link to `<publicUrl>/sessions/<id>`; no link without it. */
  publicUrl?: string;
}

export interface AlertNotifier {
  /** Queues the alert's delivery and returns at once. */
  notify(alert: SignalAlert): void;
  /** Abandons deliveries still being retried. */
  close(): void;
}

/** The viewer's page for a session. */
export function sessionUrl(publicUrl: string, session: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/sessions/${encodeURIComponent(session)}`;
}

function signalsSummary(alert: SignalAlert): string {
  return [...alert.signals]
    .sort((a, b) => b.score - a.score)
    .slice(0, TEXT_SIGNALS)
    .map((signal) => `${slackEscape(signal.rule)} (+${Math.round(signal.score)})`)
    .join(", ");
}

/** One line a person reads in a chat channel. */
export function alertText(alert: SignalAlert, url?: string): string {
  const where = slackEscape(`${alert.login}@${alert.target}`);
  const link = url === undefined ? "" : ` ${slackEscape(url)}`;
  return `:rotating_light: Session ${slackEscape(alert.session)} of ${slackEscape(alert.user)} on ${where} reached risk ${Math.round(alert.score)} (threshold ${alert.threshold}): ${signalsSummary(alert)}.${link}`;
}

/** The JSON body: Slack's `text`, the event, and the alert as structured fields. */
export function alertPayload(alert: SignalAlert, sentAt: Date, url?: string) {
  return {
    text: alertText(alert, url),
    event: ALERT_EVENT,
    sent_at: sentAt.toISOString(),
    alert: {
      session: alert.session,
      user: alert.user,
      target: alert.target,
      login: alert.login,
      source_ip: alert.sourceIp,
      score: alert.score,
      threshold: alert.threshold,
      time: alert.time.toISOString(),
      signals: alert.signals.map(({ rule, score, reason }) => ({ rule, score, reason })),
      ...(url === undefined ? {} : { url }),
    },
  };
}

export function createAlertNotifier(options: AlertNotifierOptions): AlertNotifier {
  const { audit, publicUrl } = options;
  const delivery = createWebhookDelivery({
    ...options,
    userAgent: "portcullis-signals",
    onFailure: ({ key, attempts, reason }) =>
      audit.emit("signal.alert_failed", { session: key, attempts, reason }),
  });
  return {
    notify(alert) {
      const url = publicUrl === undefined ? undefined : sessionUrl(publicUrl, alert.session);
      const body = JSON.stringify(alertPayload(alert, options.now(), url));
      delivery.send(ALERT_EVENT, alert.session, body);
    },
    close: () => delivery.close(),
  };
}

/**
 * The notifier `portcullis serve` runs when `signals.webhook` is set, signed
 * with the webhook secret (`signals.webhook_secret_file`, else
 * `approvals.webhook_secret_file`; the environment and systemd credential
 * first, as for approvals).
 */
export function alertNotifierFromConfig(
  config: Config,
  audit: AuditLog,
  now: () => Date,
  env: NodeJS.ProcessEnv = process.env,
): AlertNotifier | undefined {
  const { webhook: url, webhook_secret_file: ownFile } = config.signals;
  if (url === undefined) return undefined;
  const secret =
    ownFile === undefined
      ? resolveWebhookSecret(config.approvals.webhook_secret_file, env)
      : resolveWebhookSecret(ownFile, env, "signals.webhook_secret_file");
  if (secret === undefined) {
    audit.info("signal alert deliveries are unsigned: no webhook secret configured");
  }
  const publicUrl = config.http?.public_url;
  return createAlertNotifier({
    url,
    audit,
    now,
    ...(secret === undefined ? {} : { secret }),
    ...(publicUrl === undefined ? {} : { publicUrl }),
  });
}
