// The policy reloader: edits in the policy directory are picked up whole,
// a broken edit keeps the last good policy and is audited with its location,
// and a fix is picked up again. Waits on audit events, never on fixed sleeps.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuditEventName } from "../../src/audit/events.js";
import type { AuditFields, AuditLog } from "../../src/audit/log.js";
import { type PolicyReloader, startPolicyReloader } from "../../src/serve/policy-reload.js";
import { ed25519KeyLine } from "../policy/fixtures.js";

interface Emitted {
  event: AuditEventName;
  fields: AuditFields;
}

/** An audit log that records events and lets a test wait for the next one. */
class RecordingAudit implements AuditLog {
  readonly events: Emitted[] = [];
  #waiters: Array<(emitted: Emitted) => void> = [];

  emit(event: AuditEventName, fields: AuditFields = {}): void {
    const emitted = { event, fields };
    this.events.push(emitted);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake(emitted);
  }
  info(): void {}
  error(): void {}
  flush(): void {}

  next(timeoutMs = 10_000): Promise<Emitted> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no audit event")), timeoutMs);
      this.#waiters.push((emitted) => {
        clearTimeout(timer);
        resolve(emitted);
      });
    });
  }
}

function targetsFile(...names: string[]): string {
  const targets = names.map(
    (name) =>
      `  ${name}:\n    address: 127.0.0.1:22\n    logins: [deploy]\n    credential: k\n    host_key: "${ed25519KeyLine()}"\n`,
  );
  return `targets:\n${targets.join("")}`;
}

describe("policy hot reload", () => {
  let dir: string;
  let audit: RecordingAudit;
  let reloader: PolicyReloader;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "portcullis-reload-"));
    writeFileSync(join(dir, "00-targets.yaml"), targetsFile("web1"));
    audit = new RecordingAudit();
    reloader = startPolicyReloader({ dir, audit, debounceMs: 50 });
  });
  after(() => {
    reloader?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const targetNames = () => [...reloader.current().targets.keys()];

  it("picks up an edited file as a whole new policy", async () => {
    const reloaded = audit.next();
    writeFileSync(join(dir, "00-targets.yaml"), targetsFile("web1", "web2"));
    const emitted = await reloaded;
    assert.equal(emitted.event, "policy.reload");
    assert.equal(emitted.fields.trigger, "file change");
    assert.deepEqual(targetNames(), ["web1", "web2"]);
    assert.equal(reloader.stats.reloads, 1);
  });

  it("keeps the last good policy when an edit breaks it, and says where", async () => {
    const before = reloader.current();
    const failed = audit.next();
    writeFileSync(join(dir, "00-targets.yaml"), "targets:\n  web3:\n    address: [\n");
    const emitted = await failed;
    assert.equal(emitted.event, "policy.error");
    const problems = emitted.fields.problems as string[];
    assert.ok(problems.length > 0);
    for (const problem of problems) {
      assert.match(problem, new RegExp(`^${join(dir, "00-targets.yaml")}:\\d+:\\d+: `));
    }
    assert.equal(reloader.current(), before);
    assert.deepEqual(targetNames(), ["web1", "web2"]);
    assert.equal(reloader.stats.reloadFailures, 1);
  });

  it("reloads again once the file is fixed", async () => {
    const reloaded = audit.next();
    writeFileSync(join(dir, "00-targets.yaml"), targetsFile("web3"));
    assert.equal((await reloaded).event, "policy.reload");
    assert.deepEqual(targetNames(), ["web3"]);
    assert.equal(reloader.stats.reloadFailures, 1);
  });

  it("reloads on demand (SIGHUP) and reports a semantic error's location", () => {
    writeFileSync(
      join(dir, "10-access.yaml"),
      "access:\n  - name: a\n    subjects: { groups: [ops] }\n    targets: { names: [nosuch] }\n",
    );
    assert.equal(reloader.reload("signal"), false);
    const last = audit.events.at(-1);
    assert.ok(last);
    assert.equal(last.event, "policy.error");
    assert.equal(last.fields.trigger, "signal");
    assert.match(
      String((last.fields.problems as string[])[0]),
      new RegExp(`^${join(dir, "10-access.yaml")}:4:\\d+: .*nosuch`),
    );
    assert.deepEqual(targetNames(), ["web3"]);
  });
});

describe("policy reload checks vault references", () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "portcullis-reload-vault-"));
    writeFileSync(join(dir, "00-targets.yaml"), targetsFile("web1"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses to start with a target whose credential is not in the vault", () => {
    assert.throws(
      () =>
        startPolicyReloader({
          dir,
          audit: new RecordingAudit(),
          vaultEntries: () => new Set(["other"]),
        }),
      (error: Error) => {
        assert.match(
          error.message,
          /00-targets\.yaml:2:3: targets\.web1\.credential: no vault entry "k" \(see portcullis vault list\)$/,
        );
        return true;
      },
    );
  });

  it("keeps the running policy when a reload names a missing entry", async () => {
    const entries = new Set(["k"]);
    const audit = new RecordingAudit();
    const reloader = startPolicyReloader({ dir, audit, vaultEntries: () => entries });
    try {
      entries.delete("k");
      assert.equal(reloader.reload(), false);
      const failure = audit.events.find((emitted) => emitted.event === "policy.error");
      assert.match(String(failure?.fields.problems), /no vault entry "k"/);
      assert.equal(reloader.current().targets.has("web1"), true);
      assert.equal(reloader.stats.reloadFailures, 1);
    } finally {
      reloader.close();
    }
  });
});
