// The metrics' contracts without a server: the alert rules file is valid
// (shape always, `promtool check rules` when promtool is installed) and uses
// only metrics that exist; docs/operations.md lists exactly the registry's
// metrics; session end reasons map to their outcomes; label values never
// take free text from an audit event, and the wrapped log gets every event
// unchanged.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { AuditEventName } from "../../src/audit/events.js";
import type { AuditFields, AuditLog } from "../../src/audit/log.js";
import { createBastionMetrics, meteredAuditLog, sessionOutcome } from "../../src/metrics/index.js";
import { SHUTDOWN_REASON } from "../../src/serve/lifecycle.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const RULES = join(ROOT, "docs", "prometheus", "portcullis-alerts.yml");
const SEVERITIES = new Set(["critical", "warning", "info"]);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

/** Names of every metric a scrape of a new server shows. */
async function registeredNames(): Promise<Set<string>> {
  const metrics = createBastionMetrics(
    () => true,
    () => 0,
  );
  const described = await metrics.registry.getMetricsAsJSON();
  return new Set(described.map((metric) => metric.name));
}

describe("alert rules (docs/prometheus/portcullis-alerts.yml)", () => {
  const rules = (
    parse(readFileSync(RULES, "utf8")) as { groups: { rules: Rule[] }[] }
  ).groups.flatMap((group) => group.rules);

  it("has an alert name, an expression, a severity and a summary and description per rule", () => {
    assert.ok(rules.length >= 5);
    for (const rule of rules) {
      assert.match(rule.alert, /^Portcullis[A-Z][A-Za-z]+$/);
      assert.equal(typeof rule.expr, "string");
      if (rule.for !== undefined) assert.match(rule.for, /^\d+[smh]$/, rule.alert);
      assert.ok(SEVERITIES.has(rule.labels.severity), rule.alert);
      assert.ok(rule.annotations.summary.length > 0 && rule.annotations.description.length > 0);
    }
    assert.equal(new Set(rules.map((rule) => rule.alert)).size, rules.length, "unique names");
  });

  it("uses only metrics a server exposes", async () => {
    const names = await registeredNames();
    const used = rules.flatMap(
      (rule) => rule.expr.match(/\b(?:portcullis|nodejs|process)_\w+/g) ?? [],
    );
    assert.ok(used.length > 0);
    for (const name of used) {
      const base = name.replace(/_(?:bucket|sum|count)$/, "");
      assert.ok(names.has(name) || names.has(base), `${name} is not a metric`);
    }
  });

  it("passes `promtool check rules`", (t) => {
    const checked = spawnSync("promtool", ["check", "rules", RULES], { encoding: "utf8" });
    if (checked.error !== undefined) {
      t.skip("promtool is not installed (Debian package `prometheus`)");
      return;
    }
    assert.equal(checked.status, 0, checked.stdout + checked.stderr);
  });
});

describe("metrics reference (docs/operations.md)", () => {
  it("lists exactly the portcullis_* metrics of the registry", async () => {
    const doc = readFileSync(join(ROOT, "docs", "operations.md"), "utf8");
    const documented = new Set([...doc.matchAll(/^\| `(portcullis_\w+)` /gm)].map((m) => m[1]));
    const registered = [...(await registeredNames())].filter((name) =>
      name.startsWith("portcullis_"),
    );
    assert.deepEqual([...documented].sort(), registered.sort());
  });
});

describe("session outcomes", () => {
  it("maps the reasons the bastion writes", () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, "client_closed"],
      ["client closed the connection", "client_closed"],
      ["connection to web1 closed", "target_closed"],
      ["session time limit reached (ops-web)", "time_limit"],
      ["the access grant g7x2 expired", "grant_ended"],
      ["the access grant g7x2 was revoked", "grant_ended"],
      ["session ended: deletes the audit rules (signal audit-rules-deleted)", "signal"],
      [SHUTDOWN_REASON, "shutdown"],
      ["connection error: read ECONNRESET", "error"],
      ["something new", "other"],
    ];
    for (const [reason, outcome] of cases) assert.equal(sessionOutcome(reason), outcome, reason);
  });
});

describe("the metered audit log", () => {
  class KeptLog implements AuditLog {
    readonly events: Array<[AuditEventName, AuditFields | undefined]> = [];
    emit(event: AuditEventName, fields?: AuditFields): void {
      this.events.push([event, fields]);
    }
    info(): void {}
    error(): void {}
    flush(): void {}
  }

  it("passes every event on unchanged and keeps free text out of the labels", async () => {
    const kept = new KeptLog();
    const metrics = createBastionMetrics(
      () => true,
      () => 0,
    );
    const audit = meteredAuditLog(kept, metrics, () => 0);
    const hostile = [
      ["auth.failure", { code: "alice@example.com", user: "alice@example.com" }],
      ["auth.failure", { code: "x".repeat(100) }],
      ["command", { decision: "rm -rf /", line: "rm -rf /" }],
      ["signal", { source: "evil source", rule: "r" }],
      ["session.end", { session: "20261122T031600Z-9f3a2c1b7e", reason: "because alice said" }],
    ] as const;
    for (const [event, fields] of hostile) audit.emit(event, fields);
    assert.deepEqual(
      kept.events,
      hostile.map(([event, fields]) => [event, fields]),
    );
    const text = await metrics.registry.metrics();
    for (const secret of ["alice", "rm -rf", "xxxx", "evil", "9f3a2c1b7e"])
      assert.equal(text.includes(secret), false, secret);
    assert.match(text, /^portcullis_auth_failures_total\{code="other",via="ssh"\} 2$/m);
    assert.match(text, /^portcullis_commands_total\{decision="other"\} 1$/m);
    assert.match(text, /^portcullis_sessions_ended_total\{outcome="other"\} 1$/m);
  });

  it("times approvals from request to outcome and counts a session refused twice once", async () => {
    let now = 1_000;
    let pending = 3;
    const metrics = createBastionMetrics(
      () => true,
      () => pending,
    );
    const audit = meteredAuditLog(new KeptLog(), metrics, () => now);
    audit.emit("approval.requested", { id: "a1" });
    audit.emit("approval.requested", { id: "a2" });
    now += 42_000;
    audit.emit("approval.approved", { id: "a1" });
    audit.emit("session.denied", { session: "s1", reason: "no access" });
    audit.emit("session.denied", { session: "s1", reason: "sftp is not allowed" });
    const text = await metrics.registry.metrics();
    assert.match(text, /^portcullis_approvals_pending 3$/m, "read from the database, not counted");
    pending = 0;
    assert.match(await metrics.registry.metrics(), /^portcullis_approvals_pending 0$/m);
    assert.match(text, /^portcullis_approval_duration_seconds_sum\{outcome="approved"\} 42$/m);
    assert.match(
      text,
      /^portcullis_approval_duration_seconds_bucket\{le="30",outcome="approved"\} 0$/m,
    );
    assert.match(
      text,
      /^portcullis_approval_duration_seconds_bucket\{le="60",outcome="approved"\} 1$/m,
    );
    assert.match(text, /^portcullis_sessions_ended_total\{outcome="denied"\} 1$/m);
  });
});
