// Approval settings from the policy (src/policy/approval-settings.ts): the
// new rule and access-entry fields (quorum, reuse, justify), their
// validation, and how a command verdict's settings are resolved: the rule
// first, then the access entry's `approval:`, then the config timeout; the
// strictest when several commands of a line need approval.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { approvalSettings, sessionApprovalSettings } from "../../src/policy/approval-settings.js";
import { decideCommandLine, extractCommands, type Policy } from "../../src/policy/index.js";
import { ConfigError } from "../../src/util/errors.js";
import { ed25519KeyLine, policyFrom } from "../policy/fixtures.js";

const CONFIG_TIMEOUT = 600_000;

function policy(rules: string, approval = ""): Policy {
  return policyFrom(`
targets:
  web1: { address: 10.0.0.5, logins: [deploy], credential: web1, host_key: "${ed25519KeyLine()}" }
rulesets:
  prod:
    default: allow
    rules:
${rules}
access:
  - name: web
    subjects: { groups: [ops] }
    targets: { names: [web1] }
    commands: [prod]
    on_dynamic: approve
${approval}
`);
}

function settingsFor(p: Policy, line: string) {
  const entry = p.access[0];
  assert.ok(entry !== undefined);
  return approvalSettings(
    p,
    "web",
    decideCommandLine(p, entry, extractCommands(line)),
    CONFIG_TIMEOUT,
  );
}

const ENTRY_APPROVAL =
  "    approval: { approvers: { groups: [leads] }, timeout: 5m, quorum: 2, reuse: 10m, justify: true }";

describe("resolution", () => {
  test("the rule's fields come first, the entry's fill the gaps", () => {
    const p = policy(
      `      - approve: "systemctl restart *"
        approvers: { users: [bob@example.com] }
        quorum: 3
        reuse: 15m`,
      ENTRY_APPROVAL,
    );
    assert.deepEqual(settingsFor(p, "systemctl restart nginx"), {
      approvers: { users: ["bob@example.com"], groups: [] },
      quorum: 3,
      reuseMs: 900_000,
      justify: true,
      timeoutMs: 300_000,
    });
  });

  test("a verdict without a rule (on_dynamic) takes the entry's approval; the config's timeout without one", () => {
    const withEntry = policy('      - deny: "rm -rf /"', ENTRY_APPROVAL);
    assert.deepEqual(settingsFor(withEntry, "python -c 'print(1)'"), {
      approvers: { users: [], groups: ["leads"] },
      quorum: 2,
      reuseMs: 600_000,
      justify: true,
      timeoutMs: 300_000,
    });
    const bare = policy(`      - approve: "reboot"`);
    assert.deepEqual(settingsFor(bare, "reboot"), {
      approvers: { users: [], groups: [] },
      quorum: 1,
      justify: false,
      timeoutMs: CONFIG_TIMEOUT,
    });
  });

  test("several commands needing approval: the strictest settings, approvers common to all", () => {
    const p = policy(
      `      - approve: "systemctl restart *"
        approvers: { users: [bob@example.com, carol@example.com], groups: [leads] }
        reuse: 15m
      - approve: "reboot"
        approvers: { users: [carol@example.com] }
        quorum: 2
        justify: true`,
    );
    assert.deepEqual(settingsFor(p, "systemctl restart nginx && reboot"), {
      approvers: { users: ["carol@example.com"], groups: [] },
      quorum: 2,
      justify: true,
      timeoutMs: CONFIG_TIMEOUT,
    });
  });

  test("no settings unless the decision is approve, or when the entry is gone", () => {
    const p = policy(`      - approve: "reboot"`);
    assert.equal(settingsFor(p, "ls"), undefined);
    const entry = p.access[0];
    assert.ok(entry !== undefined);
    const verdict = decideCommandLine(p, entry, extractCommands("reboot"));
    assert.equal(approvalSettings(p, "gone", verdict, CONFIG_TIMEOUT), undefined);
  });

  test("a session approval: approvers, quorum, grant and timeout from the entry", () => {
    const p = policy(
      `      - approve: "reboot"`,
      "    session: approve\n    approval: { approvers: { groups: [leads] }, grant: 1h, quorum: 2 }",
    );
    const entry = p.access[0];
    assert.ok(entry !== undefined);
    assert.deepEqual(sessionApprovalSettings(entry, CONFIG_TIMEOUT), {
      approvers: { users: [], groups: ["leads"] },
      quorum: 2,
      justify: false,
      timeoutMs: CONFIG_TIMEOUT,
      grantMs: 3_600_000,
    });
  });
});

describe("validation", () => {
  test("quorum must be a positive integer; the tuning fields only go on approve rules", () => {
    assert.throws(
      () => policy(`      - approve: "reboot"\n        quorum: 0`),
      (error: unknown) => error instanceof ConfigError && /quorum/.test(error.message),
    );
    assert.throws(
      () => policy(`      - deny: "reboot"\n        reuse: 5m`),
      (error: unknown) =>
        error instanceof ConfigError &&
        /quorum, reuse and justify only apply to approve rules/.test(error.message),
    );
  });
});
