// Policy signal rules (src/policy/signal-rules.ts) through the real shell
// parser: each `when:` fact, except, exact, wrappers, dynamic words, `writes`
// patterns, paths with direction, session rules, and how a signal's action
// folds into the line's decision (exec lines, interactive lines, approval
// settings).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { approvalSettings } from "../../src/policy/approval-settings.js";
import type { Extraction } from "../../src/policy/command-types.js";
import { decideCommandLine } from "../../src/policy/decide.js";
import {
  type AccessEntry,
  extractCommands,
  lineSignals,
  type Policy,
  parseShellFacts,
  type SessionFacts,
  sessionStartSignals,
  transferSignals,
} from "../../src/policy/index.js";
import { decideInteractiveLine } from "../../src/policy/interactive.js";
import { decideSessionLine, decideShellLine } from "../../src/session/command-check.js";
import { policyFrom, targetYaml } from "./fixtures.js";

const SIGNAL_RULES = `
  rules:
    - name: audit-disabled
      commands: ["auditctl -D", "auditctl -e 0"]
      except: "auditctl -D -k test"
      score: 80
      action: deny
      reason: disabling the audit system
    - name: history-cleared
      commands: "history -c"
      score: 30
    - name: shadow-read
      commands: "cat /etc/shadow"
      exact: true
      score: 50
    - name: prod-root-stop
      commands: "systemctl stop *"
      when: { targets: { labels: { env: prod } }, logins: [root] }
      score: 40
      action: approve
    - name: contractor-dump
      commands: pg_dump
      when: { subjects: { groups: [contractors], users: [bob@example.com] } }
      score: 60
      action: warn
    - name: night-sudo
      commands: sudo
      when: { off_hours: true }
      score: 20
    - name: outsider-upload
      commands: "curl -T"
      when: { from_outside: [10.0.0.0/8] }
      score: 35
      action: end-session
      reason: uploading from outside the office
    - name: key-download
      paths: ["*/.ssh/id_*", "~/secrets/*"]
      direction: download
      score: 45
    - name: shadow-transfer
      paths: /etc/shadow*
      score: 70
    - name: root-on-web1
      when: { targets: { names: [web1] }, logins: [root] }
      score: 10
`;

const POLICY_TEXT = `
targets:
${targetYaml("web1", { labels: "{ env: prod }" })}
${targetYaml("db1", { labels: "{ env: dev }" })}
rulesets:
  base:
    default: allow
    rules:
      - deny: "rm -rf /"
        reason: recursive delete of /
      - approve: "systemctl restart *"
access:
  - name: ops
    subjects: { groups: [ops, contractors] }
    targets: { names: [web1, db1] }
    commands: [base]
    approval: { approvers: { groups: [leads] }, quorum: 2 }
  - name: ops-without-approvers
    subjects: { groups: [ops] }
    targets: { names: [web1] }
    commands: [base]
signals:
  business_hours: { days: [mon, tue, wed, thu, fri], hours: "08:00-18:00", tz: Europe/Berlin }
${SIGNAL_RULES}`;

const POLICY = policyFrom(POLICY_TEXT);

function entryNamed(policy: Policy, name: string): AccessEntry {
  const entry = policy.access.find((candidate) => candidate.name === name);
  assert.ok(entry, name);
  return entry;
}

const OPS = entryNamed(POLICY, "ops");
const NO_APPROVERS = entryNamed(POLICY, "ops-without-approvers");

function targetNamed(name: string) {
  const target = POLICY.targets.get(name);
  assert.ok(target, name);
  return target;
}

/** Monday 10:00 in Berlin, from the office, alice as deploy on web1 (env=prod). */
const FACTS: SessionFacts = {
  user: "alice@example.com",
  groups: ["ops"],
  target: targetNamed("web1"),
  login: "deploy",
  sourceIp: "10.1.2.3",
  at: new Date("2026-11-23T10:00:00+01:00"),
};

function complete(line: string): Extraction & { status: "complete" } {
  const extraction = extractCommands(line);
  assert.equal(extraction.status, "complete", line);
  return extraction as Extraction & { status: "complete" };
}

/** The names of the signal rules that fire on `line`. */
function fired(line: string, facts: Partial<SessionFacts> = {}, policy = POLICY): string[] {
  return lineSignals(policy, { ...FACTS, ...facts }, complete(line).commands).map(
    (hit) => hit.rule,
  );
}

function decide(line: string, facts: Partial<SessionFacts> = {}, entry = OPS) {
  return decideCommandLine(POLICY, entry, extractCommands(line), { ...FACTS, ...facts });
}

describe("lineSignals: command patterns", () => {
  test("a rule fires once per line, with the first matching command as evidence", () => {
    const hits = lineSignals(POLICY, FACTS, complete("auditctl -D; auditctl -e 0").commands);
    assert.deepEqual(hits, [
      {
        rule: "audit-disabled",
        source: "policy",
        score: 80,
        reason: "disabling the audit system",
        evidence: { command: "auditctl -D" },
        action: "deny",
      },
    ]);
  });

  test("every firing rule is reported, in rule order", () => {
    assert.deepEqual(fired("history -c && auditctl -e 0"), ["audit-disabled", "history-cleared"]);
  });

  test("the default reason names the pattern", () => {
    const [hit] = lineSignals(POLICY, FACTS, complete("history -c").commands);
    assert.equal(hit?.reason, 'matches "history -c"');
    assert.equal(hit?.action, undefined);
  });

  test("except: no signal when any command of the line matches it", () => {
    assert.deepEqual(fired("auditctl -D -k test"), []);
    assert.deepEqual(fired("auditctl -D && auditctl -D -k test"), []);
    assert.deepEqual(fired("auditctl -D -k prod"), ["audit-disabled"]);
  });

  test("exact: the arguments must be exactly the pattern's", () => {
    assert.deepEqual(fired("cat /etc/shadow"), ["shadow-read"]);
    assert.deepEqual(fired("cat /etc//shadow"), ["shadow-read"]);
    assert.deepEqual(fired("cat /etc/shadow /etc/hosts"), []);
  });

  test("wrappers, bash -c and redirections are seen through", () => {
    assert.deepEqual(fired("sudo -u root auditctl -D"), ["audit-disabled"]);
    assert.deepEqual(fired("bash -c 'history -c'"), ["history-cleared"]);
    assert.deepEqual(fired("env X=1 nice cat < /etc/shadow"), ["shadow-read"]);
  });

  test("a dynamic word that might match does not fire", () => {
    assert.deepEqual(fired("auditctl $FLAG"), []);
    assert.deepEqual(fired("cat $F"), []);
    assert.deepEqual(fired("$PROG -D"), []);
    assert.deepEqual(fired('bash -c "$CODE"'), []);
  });
});

describe("lineSignals: writes patterns", () => {
  const WRITES = policyFrom(`
signals:
  rules:
    - name: persistence-written
      commands: { writes: ["/etc/cron*", "*/authorized_keys"] }
      except: etckeeper
      score: 50
    - name: logs-written
      commands: { writes: /var/log/*, except: /var/log/app/* }
      score: 60
`);
  const firedOn = (line: string) => fired(line, {}, WRITES);

  test("a file written by any program, heredocs and compound commands included", () => {
    assert.deepEqual(firedOn("cat > /etc/cron.d/x <<'EOF'\n* * * * * root /tmp/x\nEOF"), [
      "persistence-written",
    ]);
    assert.deepEqual(firedOn("{ echo a; echo b; } >> /etc/crontab"), ["persistence-written"]);
    assert.deepEqual(firedOn("sudo sh -c 'cat k >> /root/.ssh/authorized_keys'"), [
      "persistence-written",
    ]);
    assert.deepEqual(firedOn("> /var/log/auth.log"), ["logs-written"]);
  });

  test("reads, arguments, /dev/null and other files do not fire", () => {
    assert.deepEqual(firedOn("cat /etc/cron.d/x"), []);
    assert.deepEqual(firedOn("echo /etc/crontab"), []);
    assert.deepEqual(firedOn("ls /etc/cron.d > /tmp/list 2>/dev/null"), []);
    assert.deepEqual(firedOn("cat /etc/crontab 2>&1 >/dev/null"), []);
  });

  test("a path in the home reads as ~/x; other expansions are not guessed at", () => {
    assert.deepEqual(firedOn("echo k >> ~/.ssh/authorized_keys"), ["persistence-written"]);
    assert.deepEqual(firedOn('echo k >> "$HOME/.ssh/authorized_keys"'), ["persistence-written"]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell `${…}` syntax
    assert.deepEqual(firedOn("{ echo k; } >> ${HOME}/.ssh/authorized_keys"), [
      "persistence-written",
    ]);
    assert.deepEqual(firedOn('echo k >> "$DIR/authorized_keys"'), []);
    assert.deepEqual(firedOn("echo x > /etc/cron.d/$NAME"), []);
  });

  test("the pattern's except and the rule's except", () => {
    assert.deepEqual(firedOn("echo x >> /var/log/app/debug.log"), []);
    assert.deepEqual(firedOn("echo x >> /var/log/app/../auth.log"), ["logs-written"]);
    assert.deepEqual(firedOn("echo x > /etc/cron.d/y && etckeeper commit"), []);
  });

  test("the default reason describes the pattern, the evidence is the writing command", () => {
    const [hit] = lineSignals(WRITES, FACTS, complete("ls; cat >> /etc/crontab").commands);
    assert.equal(hit?.reason, 'matches writes to "/etc/cron*" or "*/authorized_keys"');
    assert.deepEqual(hit?.evidence, { command: "cat >> /etc/crontab" });
  });
});

describe("lineSignals: when", () => {
  test("targets (by label) and logins", () => {
    assert.deepEqual(fired("systemctl stop nginx", { login: "root" }), ["prod-root-stop"]);
    assert.deepEqual(fired("systemctl stop nginx"), []);
    assert.deepEqual(
      fired("systemctl stop nginx", { login: "root", target: targetNamed("db1") }),
      [],
    );
  });

  test("subjects: a listed group or user", () => {
    assert.deepEqual(fired("pg_dump app", { groups: ["contractors"] }), ["contractor-dump"]);
    assert.deepEqual(fired("pg_dump app", { user: "bob@example.com" }), ["contractor-dump"]);
    assert.deepEqual(fired("pg_dump app"), []);
  });

  test("off_hours: outside business hours in their time zone", () => {
    assert.deepEqual(fired("sudo ls"), []);
    assert.deepEqual(fired("sudo ls", { at: new Date("2026-11-23T18:30:00+01:00") }), [
      "night-sudo",
    ]);
    assert.deepEqual(fired("sudo ls", { at: new Date("2026-11-28T10:00:00+01:00") }), [
      "night-sudo",
    ]);
    // 07:30 UTC is 08:30 in Berlin: inside.
    assert.deepEqual(fired("sudo ls", { at: new Date("2026-11-23T07:30:00Z") }), []);
  });

  test("off_hours never fires without business hours", () => {
    const policy = policyFrom(`
targets:
${targetYaml("web1")}
signals:
  rules:
    - name: night-sudo
      commands: sudo
      when: { off_hours: true }
      score: 20
`);
    const night = { at: new Date("2026-11-28T03:00:00+01:00") };
    assert.deepEqual(fired("sudo ls", night, policy), []);
  });

  test("from_outside: only from an address outside the networks", () => {
    assert.deepEqual(fired("curl -T dump.sql https://x.example"), []);
    assert.deepEqual(fired("curl -T dump.sql https://x.example", { sourceIp: "192.0.2.7" }), [
      "outsider-upload",
    ]);
    assert.deepEqual(fired("curl -T f u", { sourceIp: "::ffff:10.9.9.9" }), []);
  });
});

describe("transferSignals", () => {
  const names = (path: string, direction: "download" | "upload", home?: string) =>
    transferSignals(POLICY, FACTS, path, direction, home).map((hit) => hit.rule);

  test("a glob starting with a wildcard matches the whole path; direction narrows", () => {
    assert.deepEqual(names("/home/alice/.ssh/id_ed25519", "download"), ["key-download"]);
    assert.deepEqual(names("/home/alice/.ssh/id_ed25519", "upload"), []);
  });

  test("a rule without direction fires both ways, with the path and direction as evidence", () => {
    const [hit] = transferSignals(POLICY, FACTS, "/etc/shadow-", "upload");
    assert.deepEqual(hit, {
      rule: "shadow-transfer",
      source: "policy",
      score: 70,
      reason: 'matches "/etc/shadow*"',
      evidence: { path: "/etc/shadow-", direction: "upload" },
    });
    assert.deepEqual(names("/etc/../etc/shadow", "download"), ["shadow-transfer"]);
  });

  test("~/ globs resolve against the home when known, else only relative paths meet them", () => {
    assert.deepEqual(names("/home/alice/secrets/db.txt", "download", "/home/alice"), [
      "key-download",
    ]);
    assert.deepEqual(names("secrets/db.txt", "download", "/home/alice"), ["key-download"]);
    assert.deepEqual(names("/home/alice/secrets/db.txt", "download"), []);
    assert.deepEqual(names("secrets/db.txt", "download"), ["key-download"]);
  });

  test("when: applies to transfers", () => {
    const policy = policyFrom(`
targets:
${targetYaml("web1")}
signals:
  rules:
    - name: contractor-pull
      paths: "/srv/**"
      when: { subjects: { groups: [contractors] } }
      score: 25
`);
    const pull = (groups: string[]) =>
      transferSignals(policy, { ...FACTS, groups }, "/srv/data.csv", "download").length;
    assert.equal(pull(["contractors"]), 1);
    assert.equal(pull(["ops"]), 0);
  });

  test("command rules do not fire on transfers, path rules not on lines", () => {
    assert.deepEqual(names("/usr/bin/auditctl", "download"), []);
    assert.deepEqual(fired("cat /etc/shadow-"), []);
  });
});

describe("sessionStartSignals", () => {
  test("rules without commands or paths fire when their when holds", () => {
    assert.deepEqual(sessionStartSignals(POLICY, { ...FACTS, login: "root" }), [
      {
        rule: "root-on-web1",
        source: "policy",
        score: 10,
        reason: "the session matches the conditions of root-on-web1",
        evidence: {},
      },
    ]);
    assert.deepEqual(sessionStartSignals(POLICY, FACTS), []);
    assert.deepEqual(
      sessionStartSignals(POLICY, { ...FACTS, login: "root", target: targetNamed("db1") }),
      [],
    );
  });

  test("session rules never fire on lines", () => {
    assert.deepEqual(fired("ls", { login: "root" }), []);
  });
});

describe("signals fold into the line's decision", () => {
  test("without session facts nothing changes and no signals are reported", () => {
    const verdict = decideCommandLine(POLICY, OPS, extractCommands("auditctl -D"));
    assert.equal(verdict.decision, "allow");
    assert.equal(verdict.signals, undefined);
  });

  test("a signal without action only reports", () => {
    const verdict = decide("history -c");
    assert.equal(verdict.decision, "allow");
    assert.deepEqual(
      verdict.signals?.map((hit) => hit.rule),
      ["history-cleared"],
    );
  });

  const cases: [line: string, facts: Partial<SessionFacts>, decision: string, rule: string][] = [
    ["auditctl -D", {}, "deny", "signal:audit-disabled"],
    ["pg_dump app", { groups: ["contractors"] }, "warn", "signal:contractor-dump"],
    ["systemctl stop nginx", { login: "root" }, "approve", "signal:prod-root-stop"],
    ["curl -T f u", { sourceIp: "192.0.2.7" }, "deny", "signal:outsider-upload"],
    // The command's decision is at least as severe: its rule stays.
    ["rm -rf / && auditctl -D", {}, "deny", "base#1"],
    ["systemctl restart nginx && pg_dump app", { groups: ["contractors"] }, "approve", "base#2"],
    ["systemctl restart x && systemctl stop x", { login: "root" }, "approve", "base#2"],
    ["rm -rf / ; systemctl stop x", { login: "root" }, "deny", "base#1"],
  ];
  for (const [line, facts, decision, rule] of cases) {
    test(`${line} ${JSON.stringify(facts)} → ${decision} by ${rule}`, () => {
      const verdict = decide(line, facts);
      assert.deepEqual({ decision: verdict.decision, rule: verdict.rule }, { decision, rule });
    });
  }

  test("a signal that decides gives its reason and raises the line's risk", () => {
    const verdict = decide("auditctl -D");
    assert.equal(verdict.reason, "disabling the audit system");
    assert.equal(verdict.risk, 100);
    assert.equal(verdict.commands[0]?.decision, "allow");
  });

  test("a denied line still raises its signals", () => {
    const verdict = decide("rm -rf / && history -c && auditctl -D");
    assert.equal(verdict.reason, "recursive delete of /");
    assert.deepEqual(
      verdict.signals?.map((hit) => hit.rule),
      ["audit-disabled", "history-cleared"],
    );
  });

  test("end-session is a deny, and the signal stays on a line already denied", () => {
    const endsSession = (verdict: { signals?: readonly { rule: string; action?: string }[] }) =>
      verdict.signals?.find((hit) => hit.action === "end-session")?.rule;
    const ended = decide("curl -T f u", { sourceIp: "192.0.2.7" });
    assert.equal(ended.decision, "deny");
    assert.equal(ended.reason, "uploading from outside the office");
    assert.equal(endsSession(ended), "outsider-upload");
    const alreadyDenied = decide("rm -rf / ; curl -T f u", { sourceIp: "192.0.2.7" });
    assert.equal(alreadyDenied.rule, "base#1");
    assert.equal(endsSession(alreadyDenied), "outsider-upload");
    assert.equal(endsSession(decide("auditctl -D")), undefined);
  });

  test("approve without approvers on the entry fails closed", () => {
    const verdict = decide("systemctl stop nginx", { login: "root" }, NO_APPROVERS);
    assert.equal(verdict.decision, "deny");
    assert.equal(verdict.rule, "signal:prod-root-stop");
    assert.match(
      verdict.reason ?? "",
      /needs approval, but access entry "ops-without-approvers" names no approvers/,
    );
  });

  test("a signal's approval is decided by the entry's approvers", () => {
    const verdict = decide("systemctl stop nginx", { login: "root" });
    const settings = approvalSettings(POLICY, "ops", verdict, 60_000);
    assert.deepEqual(settings?.approvers, { groups: ["leads"], users: [] });
    assert.equal(settings?.quorum, 2);
  });

  test("incomplete and unparsable lines raise no signals", () => {
    for (const line of ["auditctl -D '", "auditctl -D )"]) {
      const verdict = decide(line);
      assert.equal(verdict.decision, "deny");
      assert.equal(verdict.signals, undefined);
    }
  });
});

describe("interactive lines and the session's line check", () => {
  const shell = parseShellFacts("alias quiet='auditctl -e 0'", "");

  test("signals see alias expansions", () => {
    const verdict = decideInteractiveLine(POLICY, OPS, "quiet", shell, FACTS);
    assert.equal(verdict.decision, "deny");
    assert.equal(verdict.rule, "signal:audit-disabled");
    assert.equal(verdict.signals?.[0]?.evidence.command, "auditctl -e 0");
  });

  test("decideShellLine and decideSessionLine pass the facts on, and keep their old shape", () => {
    assert.equal(decideShellLine(POLICY, "ops", "quiet", shell, FACTS).decision, "deny");
    assert.equal(decideShellLine(POLICY, "ops", "quiet", shell).decision, "allow");
    assert.equal(
      decideSessionLine(POLICY, "ops", "history -c && auditctl -D", FACTS).decision,
      "deny",
    );
    assert.equal(decideSessionLine(POLICY, "ops", "auditctl -D").decision, "allow");
  });
});
