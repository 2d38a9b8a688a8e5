// Signal alerts (src/signals/alerts.ts) against a real local HTTP receiver:
// the JSON body with its Slack text and link, an HMAC signature the receiver
// can verify, retries, a final failure audited once without the URL, close
// abandoning retries, and the `signals:` config with its secret fallback.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { DELIVERY_HEADER, EVENT_HEADER } from "../../src/notify/webhook-delivery.js";
import {
  alertNotifierFromConfig,
  alertText,
  createAlertNotifier,
} from "../../src/signals/alerts.js";
import type { SignalAlert } from "../../src/signals/types.js";
import { delay, recordingAudit } from "../approvals/helpers.js";
import { receiver, signedWith } from "../harness/webhook-receiver.js";

const SECRET = Buffer.from("s3cret-for-tests");
const SESSION = "20261122T031600Z-9f3a2c1b7e";

const dir = mkdtempSync(join(tmpdir(), "portcullis-alerts-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function alert(overrides: Partial<SignalAlert> = {}): SignalAlert {
  return {
    session: SESSION,
    user: "alice@example.com",
    target: "db1",
    login: "postgres",
    sourceIp: "10.1.2.3",
    score: 130,
    threshold: 100,
    time: new Date("2026-11-22T03:20:00Z"),
    signals: [
      { rule: "first-target", score: 20, reason: "alice has never accessed db1 in 30 days" },
      { rule: "disable-audit", score: 60, reason: "auditctl -D" },
      { rule: "credential-access", score: 40, reason: "cat /etc/shadow" },
      { rule: "off-hours", score: 10, reason: "03:20 is outside business hours" },
    ],
    ...overrides,
  };
}

function notifier(url: string, retryDelaysMs: number[] = [50, 100]) {
  const audit = recordingAudit();
  const alerts = createAlertNotifier({
    url,
    secret: SECRET,
    publicUrl: "https://bastion.example.com/",
    audit,
    now: () => new Date(),
    retryDelaysMs,
    attemptTimeoutMs: 1000,
  });
  after(() => alerts.close());
  return { alerts, audit };
}

test("an alert is posted as signed JSON with a one-line summary and a link to the session", async () => {
  const hook = await receiver();
  const { alerts } = notifier(hook.url);
  alerts.notify(alert());
  await hook.count(1);
  const [delivery] = hook.deliveries;
  assert.ok(delivery !== undefined);
  assert.equal(delivery.headers["content-type"], "application/json");
  assert.equal(delivery.headers["user-agent"], "portcullis-signals");
  assert.equal(delivery.headers[EVENT_HEADER], "signal.alert");
  assert.ok(signedWith(delivery, SECRET));
  assert.equal(signedWith(delivery, Buffer.from("wrong")), false);
  const url = `https://bastion.example.com/sessions/${SESSION}`;
  const body = JSON.parse(delivery.body);
  assert.equal(
    body.text,
    `:rotating_light: Session ${SESSION} of alice@example.com on postgres@db1 reached risk 130 (threshold 100): disable-audit (+60), credential-access (+40), first-target (+20). ${url}`,
  );
  assert.equal(body.event, "signal.alert");
  assert.ok(Math.abs(Date.parse(body.sent_at) - Date.now()) < 5000);
  assert.deepEqual(body.alert, {
    session: SESSION,
    user: "alice@example.com",
    target: "db1",
    login: "postgres",
    source_ip: "10.1.2.3",
    score: 130,
    threshold: 100,
    time: "2026-11-22T03:20:00.000Z",
    signals: alert().signals,
    url,
  });
});

test("user-controlled text is Slack-escaped; without a public URL there is no link", () => {
  const text = alertText(
    alert({
      user: "<!channel>",
      login: "a&b",
      signals: [{ rule: "<@U123>", score: 101.4, reason: "x" }],
      score: 101.4,
    }),
  );
  assert.equal(
    text,
    `:rotating_light: Session ${SESSION} of &lt;!channel&gt; on a&amp;b@db1 reached risk 101 (threshold 100): &lt;@U123&gt; (+101).`,
  );
  assert.doesNotMatch(text, /<!channel>|<@U123>|https?:/);
});

test("an alert answered 503 is retried with the same delivery id, then not audited", async () => {
  const hook = await receiver([503]);
  const { alerts, audit } = notifier(hook.url);
  alerts.notify(alert());
  await hook.count(2);
  const [first, second] = hook.deliveries;
  assert.ok(first && second);
  assert.ok(second.at - first.at >= 40, `retried after ${second.at - first.at} ms`);
  assert.equal(first.headers[DELIVERY_HEADER], second.headers[DELIVERY_HEADER]);
  assert.equal(first.body, second.body);
  await delay(150);
  assert.equal(hook.deliveries.length, 2, "no delivery after a 200");
  assert.deepEqual(audit.named("signal.alert_failed"), []);
});

test("a final failure is audited once per session, without the URL or the secret", async () => {
  const hook = await receiver();
  await hook.close();
  const { alerts, audit } = notifier(hook.url, [10, 20]);
  alerts.notify(alert());
  alerts.notify(alert({ score: 150 }));
  await delay(300);
  const failures = audit.named("signal.alert_failed");
  assert.equal(failures.length, 1);
  assert.deepEqual(failures[0]?.fields, { session: SESSION, attempts: 3, reason: "ECONNREFUSED" });
  assert.doesNotMatch(JSON.stringify(audit.events), /token=abc|127\.0\.0\.1|s3cret/);
});

test("an answer that is not worth retrying fails at once", async () => {
  const hook = await receiver([404]);
  const { alerts, audit } = notifier(hook.url);
  alerts.notify(alert());
  await hook.count(1);
  await delay(200);
  assert.equal(hook.deliveries.length, 1);
  assert.deepEqual(audit.named("signal.alert_failed")[0]?.fields, {
    session: SESSION,
    attempts: 1,
    reason: "HTTP 404",
  });
});

test("close abandons retries, and later alerts are not sent", async () => {
  const hook = await receiver([500, 500]);
  const { alerts, audit } = notifier(hook.url, [200, 200]);
  alerts.notify(alert());
  await hook.count(1);
  alerts.close();
  alerts.notify(alert({ session: "20261122T031700Z-0a1b2c3d4e" }));
  await delay(400);
  assert.equal(hook.deliveries.length, 1);
  assert.deepEqual(audit.named("signal.alert_failed"), []);
});

test("config: `signals:` defaults, and the secret falls back to approvals.webhook_secret_file", async () => {
  assert.deepEqual(parseConfig("{}\n", "portcullis.yaml", dir).signals, {
    threshold: 100,
    half_life: 1_800_000,
  });
  assert.equal(
    alertNotifierFromConfig(
      parseConfig("{}\n", "p.yaml", dir),
      recordingAudit(),
      () => new Date(),
      {},
    ),
    undefined,
  );
  writeFileSync(join(dir, "approvals.secret"), "approvals-secret-for-tests\n");
  const hook = await receiver();
  const config = parseConfig(
    `http: { public_url: https://bastion.example.com/pc }\napprovals: { webhook_secret_file: approvals.secret }\nsignals: { threshold: 50, half_life: 1h, webhook: "${hook.url}" }\n`,
    "portcullis.yaml",
    dir,
  );
  assert.equal(config.signals.threshold, 50);
  assert.equal(config.signals.half_life, 3_600_000);
  const alerts = alertNotifierFromConfig(config, recordingAudit(), () => new Date(), {});
  assert.ok(alerts !== undefined);
  after(() => alerts.close());
  alerts.notify(alert());
  await hook.count(1);
  const [delivery] = hook.deliveries;
  assert.ok(delivery !== undefined);
  assert.ok(signedWith(delivery, Buffer.from("approvals-secret-for-tests")));

  assert.equal(
    JSON.parse(delivery.body).alert.url,
    `https://bastion.example.com/pc/sessions/${SESSION}`,
  );
});

test("config: signals.webhook_secret_file wins, and its errors name it", () => {
  const config = parseConfig(
    "approvals: { webhook_secret_file: approvals.secret }\nsignals: { webhook: https://hooks.example.com/x, webhook_secret_file: missing.secret }\n",
    "portcullis.yaml",
    dir,
  );
  assert.throws(() => alertNotifierFromConfig(config, recordingAudit(), () => new Date(), {}), {
    code: "ERR_WEBHOOK_SECRET",
    message: `signals.webhook_secret_file: cannot read ${join(dir, "missing.secret")}: ENOENT`,
  });
  for (const bad of ["threshold: 0", "threshold: 1.5", "half_life: 0s", "half_life: 30"]) {
    assert.throws(() => parseConfig(`signals: { ${bad} }\n`, "portcullis.yaml", dir), /signals\./);
  }
});
