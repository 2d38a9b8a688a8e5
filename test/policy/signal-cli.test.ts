// Signal rules through the compiled CLI: `policy check` (text and --json)
// shows the signals a line raises, `policy test` checks `signals:`
// expectations with the case's user, groups, target, login and address as
// the session's facts, and `policy lint` warns about off_hours without
// business hours.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeDir, runCli } from "../cli/cli.js";
import { ed25519KeyLine } from "./fixtures.js";

function policyText(): string {
  return `targets:
  web1:
    address: 127.0.0.1:22
    logins: [deploy, root]
    credential: web1-key
    host_key: "${ed25519KeyLine()}"
access:
  - name: ops-web
    subjects: { groups: [ops] }
    targets: { names: [web1] }
    commands: [guard]
rulesets:
  guard:
    default: allow
    rules:
      - deny: "rm -r /"
        reason: recursive delete of /
signals:
  rules:
    - name: audit-disabled
      commands: ["auditctl -D", "auditctl -e 0"]
      score: 80
      action: deny
      reason: disabling the audit system
    - name: history-cleared
      commands: "history -c"
      score: 30
    - name: root-whoami
      commands: whoami
      when: { logins: [root] }
      score: 10
      action: warn
    - name: outside-upload
      commands: "curl -T"
      when: { from_outside: [10.0.0.0/8] }
      score: 40
`;
}

const CASE = "    user: alice@example.com\n    groups: [ops]\n    target: web1\n";

const TESTS = `tests:
  - name: audit off and history cleared
${CASE}    command: auditctl -D && history -c
    expect: deny
    expect_rule: signal:audit-disabled
    signals: [history-cleared, audit-disabled]
  - name: uptime is quiet
${CASE}    command: uptime
    expect: allow
    signals: []
  - name: root gets a warning
${CASE}    login: root
    command: whoami
    expect: warn
    signals: [root-whoami]
  - name: curl from outside
${CASE}    from: 192.0.2.1
    command: curl -T f https://x.example
    expect: allow
    signals: [outside-upload]
`;

describe("portcullis policy with signal rules", () => {
  let dir: string;
  let policies: string;

  const write = (name: string, text: string, into = policies) =>
    writeFileSync(join(into, name), text);
  const check = (...args: string[]) =>
    runCli([
      ...["policy", "check", "--policy", policies, "--user", "alice@example.com"],
      ...["--groups", "ops", "--target", "web1", ...args],
    ]);

  before(() => {
    dir = makeTempDir("signals");
    policies = join(dir, "policies");
    mkdirSync(policies);
    write("10-policy.yaml", policyText());
    write("signals.test.yaml", TESTS);
  });
  after(() => removeDir(dir));

  it("check --json lists the signals and the one that decided", async () => {
    const result = await check("--json", "--", "auditctl -D && history -c");
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      session: { decision: "allow", access: "ops-web" },
      command: {
        decision: "deny",
        rule: "signal:audit-disabled",
        reason: "disabling the audit system",
        commands: [
          { argv: ["auditctl", "-D"], decision: "allow", rule: "default:guard" },
          { argv: ["history", "-c"], decision: "allow", rule: "default:guard" },
        ],
        signals: [
          {
            rule: "audit-disabled",
            score: 80,
            reason: "disabling the audit system",
            action: "deny",
          },
          { rule: "history-cleared", score: 30, reason: 'matches "history -c"' },
        ],
      },
    });
  });

  it("check --json leaves signals out when none fired, and uses --login and --from", async () => {
    const quiet = await check("--json", "--", "uptime");
    assert.equal(JSON.parse(quiet.stdout).command.signals, undefined);
    const root = await check("--login", "root", "--json", "--", "whoami");
    assert.deepEqual(JSON.parse(root.stdout).command.signals, [
      { rule: "root-whoami", score: 10, reason: 'matches "whoami"', action: "warn" },
    ]);
    const inside = await check("--from", "10.1.1.1", "--json", "--", "curl -T f u");
    assert.equal(JSON.parse(inside.stdout).command.signals, undefined);
  });

  it("check prints one line per signal", async () => {
    const result = await check("--", "rm -r / ; history -c");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^line: deny — rule guard#1; recursive delete of \//m);
    assert.match(result.stdout, /^signal history-cleared \+30: matches "history -c"$/m);
  });

  it("test checks signals expectations with the case's facts", async () => {
    const result = await runCli(["policy", "test", policies]);
    assert.equal(
      result.stdout,
      [
        "ok   audit off and history cleared: deny by signal:audit-disabled with signals [audit-disabled, history-cleared]",
        "ok   uptime is quiet: allow by default:guard with signals []",
        "ok   root gets a warning: warn by signal:root-whoami with signals [root-whoami]",
        "ok   curl from outside: allow by default:guard with signals [outside-upload]",
        "4 passed, 0 failed",
        "",
      ].join("\n"),
    );
    assert.equal(result.code, 0, result.stderr);
  });

  it("test says which signals were expected and which fired", async () => {
    const failing = join(dir, "failing");
    mkdirSync(failing);
    write("10-policy.yaml", policyText(), failing);
    write(
      "a.test.yaml",
      `tests:\n  - name: expects the wrong signal\n${CASE}    command: history -c\n    expect: allow\n    signals: [audit-disabled]\n  - name: expects none\n${CASE}    command: history -c\n    expect: allow\n    signals: []\n`,
      failing,
    );
    const result = await runCli(["policy", "test", failing]);
    const file = join(failing, "a.test.yaml");
    assert.equal(
      result.stdout,
      [
        `FAIL expects the wrong signal: expected allow with signals [audit-disabled], got allow by default:guard with signals [history-cleared] (no rule matched) at ${file}:2:5`,
        `FAIL expects none: expected allow with signals [], got allow by default:guard with signals [history-cleared] (no rule matched) at ${file}:9:5`,
        "0 passed, 2 failed",
        "",
      ].join("\n"),
    );
    assert.equal(result.code, 1);
  });

  it("lint warns about off_hours without business hours", async () => {
    const lint = join(dir, "lint");
    mkdirSync(lint);
    write(
      "10.yaml",
      "signals:\n  rules:\n    - name: night\n      commands: sudo\n      when: { off_hours: true }\n      score: 5\n",
      lint,
    );
    const result = await runCli(["policy", "lint", lint]);
    assert.equal(
      result.stdout,
      `${join(lint, "10.yaml")}:3:7: warning: signal rule "night" uses off_hours but no file sets signals.business_hours: it never fires\n0 errors, 1 warning\n`,
    );
    assert.equal(result.code, 0);
  });
});
