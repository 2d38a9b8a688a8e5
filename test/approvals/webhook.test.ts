// The approvals webhook (src/approvals/webhook.ts) against a real local HTTP
// receiver: the JSON body and its Slack text, an HMAC signature the receiver
// can verify, retries with backoff, and a receiver that is down neither
// blocking nor losing the decision (the failure audited once per request).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  createWebhookNotifier,
  resolveWebhookSecret,
  verifyWebhookSignature,
} from "../../src/approvals/index.js";
import {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
} from "../../src/approvals/webhook.js";
import { receiver } from "../harness/webhook-receiver.js";
import { alice, bob, commandRequest, delay, openService, recordingAudit } from "./helpers.js";

const SECRET = Buffer.from("s3cret-for-tests");

function serviceWithWebhook(url: string, retryDelaysMs: number[] = [50, 100]) {
  const audit = recordingAudit();
  const webhook = createWebhookNotifier({
    url,
    secret: SECRET,
    audit,
    now: () => new Date(),
    retryDelaysMs,
    attemptTimeoutMs: 1000,
  });
  const fixture = openService({ webhook });
  return { ...fixture, webhookAudit: audit };
}

test("creation and decision are posted as signed JSON with Slack-compatible text", async () => {
  const hook = await receiver();
  const { approvals } = serviceWithWebhook(hook.url);
  const request = approvals.request(commandRequest({ line: "systemctl restart nginx <!channel>" }));
  approvals.decide(request.id, bob, "approve", "ok", "ssh");
  await hook.count(2);
  const [created, decided] = hook.deliveries;
  assert.ok(created !== undefined && decided !== undefined);
  for (const delivery of [created, decided]) {
    assert.equal(delivery.headers["content-type"], "application/json");
    assert.ok(
      verifyWebhookSignature({
        secret: SECRET,
        timestamp: String(delivery.headers[TIMESTAMP_HEADER]),
        signature: String(delivery.headers[SIGNATURE_HEADER]),
        body: delivery.body,
        now: new Date(),
      }),
    );
    assert.equal(
      verifyWebhookSignature({
        secret: Buffer.from("wrong"),
        timestamp: String(delivery.headers[TIMESTAMP_HEADER]),
        signature: String(delivery.headers[SIGNATURE_HEADER]),
        body: delivery.body,
        now: new Date(),
      }),
      false,
    );
  }
  const first = JSON.parse(created.body);
  assert.equal(created.headers[EVENT_HEADER], "approval.requested");
  assert.equal(first.event, "approval.requested");
  assert.equal(first.approval.id, request.id);
  assert.equal(first.approval.requester, alice.user);
  assert.equal(first.approval.status, "pending");
  assert.match(
    first.text,
    new RegExp(`Approval \\*${request.id}\\* for alice@example.com on deploy@web1`),
  );
  assert.match(first.text, /&lt;!channel&gt;/);
  assert.doesNotMatch(first.text, /<!channel>/);
  const second = JSON.parse(decided.body);
  assert.equal(second.event, "approval.approved");
  assert.deepEqual(second.approval.decided_by, [bob.user]);
  assert.equal(second.approval.comment, "ok");
  assert.match(second.text, /approved by bob@example.com — "ok"/);
});

test("a delivery answered 500 is retried after a backoff, with the same delivery id", async () => {
  const hook = await receiver([500, 503]);
  const { approvals, webhookAudit } = serviceWithWebhook(hook.url, [100, 200, 400]);
  approvals.request(commandRequest());
  await hook.count(3);
  const [first, second, third] = hook.deliveries;
  assert.ok(first && second && third);
  assert.ok(second.at - first.at >= 90, `first retry after ${second.at - first.at} ms`);
  assert.ok(third.at - second.at >= 190, `second retry after ${third.at - second.at} ms`);
  assert.equal(first.headers[DELIVERY_HEADER], third.headers[DELIVERY_HEADER]);
  await delay(50);
  assert.equal(hook.deliveries.length, 3, "no delivery after a 200");
  assert.deepEqual(webhookAudit.named("approval.webhook_failed"), []);
});

test("a receiver that is down does not block or lose the decision; the failure is audited once", async () => {
  const hook = await receiver();
  await hook.close();
  const { approvals, webhookAudit } = serviceWithWebhook(hook.url, [10, 20]);
  const request = approvals.request(commandRequest());
  const waiting = approvals.outcome(request.id);
  const started = performance.now();
  approvals.decide(request.id, bob, "approve", undefined, "ssh");
  assert.ok(performance.now() - started < 100, "decide waited for the webhook");
  assert.equal((await waiting).status, "approved");
  assert.equal(approvals.get(request.id)?.status, "approved");
  await delay(300);
  const failures = webhookAudit.named("approval.webhook_failed");
  assert.equal(failures.length, 1);
  assert.equal(failures[0]?.fields.id, request.id);
  assert.equal(failures[0]?.fields.attempts, 3);
  assert.equal(failures[0]?.fields.reason, "ECONNREFUSED");
  assert.doesNotMatch(JSON.stringify(failures), /token=abc|127\.0\.0\.1/);
});

test("the secret comes from the environment, a systemd credential or the configured file", () => {
  assert.deepEqual(
    resolveWebhookSecret(undefined, { PORTCULLIS_WEBHOOK_SECRET: " abc \n" }),
    Buffer.from("abc"),
  );
  assert.equal(resolveWebhookSecret(undefined, {}), undefined);
  assert.throws(() => resolveWebhookSecret("/nonexistent/secret", {}), {
    code: "ERR_WEBHOOK_SECRET",
    message: "approvals.webhook_secret_file: cannot read /nonexistent/secret: ENOENT",
  });
});
