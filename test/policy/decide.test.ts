// Command line decisions (SPEC §5.4–5.6) as decision tables over extracted
// commands written by hand (no shell parser involved), and a property check
// over arbitrary commands.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { ArgWord, Extraction } from "../../src/policy/command-types.js";
import { decideCommandLine, precompilePolicy } from "../../src/policy/decide.js";
import { compileRuleset } from "../../src/policy/match.js";
import type { RuleAction } from "../../src/policy/types.js";
import { policyFrom } from "./fixtures.js";
import { accessEntry, command, extraction } from "./matcher-helpers.js";

const POLICY = policyFrom(`
rulesets:
  baseline:
    default: allow
    rules:
      - deny: ["rm -r /", "rm -R /", "rm --recursive /"]
        reason: recursive delete of /
      - approve: "systemctl restart *"
      - warn: sudo
        risk: 20
      - deny: { regex: '^history\\s+-c' }
        reason: clearing history
      - deny: "kubectl --namespace=prod* delete"
        reason: deleting in prod
      - deny: /sbin/reboot
  secrets:
    default: allow
    rules:
      - deny: "* /etc/shadow"
        reason: shadow file
  lockdown:
    default: deny
    rules:
      - allow: ls
      - allow: "cat /var/log/*"
      - allow: "systemctl status *"
        exact: true
      - allow: "bash /opt/ops/deploy.sh"
        exact: true
  ops:
    default: allow
    rules:
      - allow: "bash /opt/ops/deploy.sh"
        exact: true
      - deny: "rm -r /"
  audit:
    default: allow
    rules:
      - warn: "git push --force"
        risk: 40
`);

interface Expected {
  readonly decision: RuleAction;
  readonly rule?: string;
  readonly reason?: string;
  readonly risk?: number;
}

function decide(rulesets: readonly string[], line: string | Extraction, onDynamic?: RuleAction) {
  const input = typeof line === "string" ? extraction(line) : line;
  return decideCommandLine(POLICY, accessEntry(rulesets, onDynamic), input);
}

/** Asserts the line's decision and rule, and reason/risk when given. */
function expectLine(
  rulesets: readonly string[],
  line: string | Extraction,
  expected: Expected,
  onDynamic?: RuleAction,
) {
  const verdict = decide(rulesets, line, onDynamic);
  const actual: Record<string, unknown> = { decision: verdict.decision, rule: verdict.rule };
  if (expected.reason !== undefined) actual.reason = verdict.reason;
  if (expected.risk !== undefined) actual.risk = verdict.risk;
  assert.deepEqual(actual, { rule: undefined, ...expected });
}

type Row = [line: string, expected: Expected];

function table(
  name: string,
  rulesets: readonly string[],
  rows: readonly Row[],
  onDynamic?: RuleAction,
) {
  describe(name, () => {
    for (const [line, expected] of rows) {
      test(`${line} → ${expected.decision} (${expected.rule})`, () =>
        expectLine(rulesets, line, expected, onDynamic));
    }
  });
}

const DENY_ROOT: Expected = {
  decision: "deny",
  rule: "baseline#1",
  reason: "recursive delete of /",
  risk: 100,
};
const ALLOW_BASELINE: Expected = { decision: "allow", rule: "default:baseline", risk: 0 };

describe("recursive delete of / in every spelling is denied", () => {
  const programs = ["rm", "/bin/rm", "/usr/bin/rm", "/usr/bin/../bin/rm", "//bin/./rm"];
  const options = [
    "-r",
    "-R",
    "-rf",
    "-fr",
    "-Rf",
    "-r -f",
    "-f -r",
    "-rfv",
    "-v -r",
    "-vrf --",
    "--recursive",
    "--rec",
    "--recursive --force",
    "-f --recursive",
  ];
  const paths = ["/", "//", "/./", "/tmp/..", "/tmp/../", "///", "/usr/../", "/.", "/../.."];
  for (const program of programs) {
    for (const option of options) {
      test(`${program} ${option} <each of ${paths.length} spellings of />`, () => {
        for (const path of paths) {
          const line = `${program} ${option} ${path}`;
          const verdict = decide(["baseline"], line);
          assert.equal(verdict.decision, "deny", line);
          assert.equal(verdict.rule, "baseline#1", line);
        }
      });
    }
  }
  test("after other positionals and behind -- too", () => {
    expectLine(["baseline"], "rm -rf /tmp/x /", DENY_ROOT);
    expectLine(["baseline"], "rm -rf -- /", DENY_ROOT);
    expectLine(["baseline"], "rm -f / -r", DENY_ROOT);
  });
});

table(
  "benign look-alikes stay allowed",
  ["baseline"],
  [
    "rm -rf ./build",
    "rm -rf build/",
    "rm -rf /tmp/build",
    "rm -rf /tmp/..x",
    "rm -f /",
    "rm /",
    "rm -- -r /",
    "echo rm -rf /",
    "grep -r shutdown .",
    "ls -R /",
    "find / -name core",
    "git rm -r /",
    "rmdir -p /a/b",
    "systemctl status nginx",
    "echo history -c",
    "kubectl --namespace=staging delete pod x",
    "kubectl --namespace=prod get pods",
    "reboot",
    "/usr/sbin/reboot",
    "sudoedit /etc/hosts",
  ].map((line): Row => [line, ALLOW_BASELINE]),
);

table(
  "rule actions, reasons and risk",
  ["baseline"],
  [
    [
      "systemctl restart nginx",
      {
        decision: "approve",
        rule: "baseline#2",
        reason: 'matches "systemctl restart *"',
        risk: 70,
      },
    ],
    ["systemctl restart", ALLOW_BASELINE],
    ["sudo ls", { decision: "warn", rule: "baseline#3", reason: 'matches "sudo"', risk: 20 }],
    ["/usr/bin/sudo -u root ls", { decision: "warn", rule: "baseline#3", risk: 20 }],
    ["history -c", { decision: "deny", rule: "baseline#4", reason: "clearing history", risk: 100 }],
    ["history  -c", { decision: "deny", rule: "baseline#4" }],
    ["history -w", ALLOW_BASELINE],
    ["kubectl --namespace=prod delete pod x", { decision: "deny", rule: "baseline#5" }],
    ["kubectl --namespace prod-eu delete pod x", { decision: "deny", rule: "baseline#5" }],
    ["kubectl delete --namespace=prod pod x", { decision: "deny", rule: "baseline#5" }],
    ["/sbin/reboot", { decision: "deny", rule: "baseline#6", reason: 'matches "/sbin/reboot"' }],
    ["/sbin//reboot now", { decision: "deny", rule: "baseline#6" }],
  ],
);

table(
  "the most severe command decides the line",
  ["baseline"],
  [
    ["ls ; rm -rf /", DENY_ROOT],
    ["rm -rf / ; ls", DENY_ROOT],
    ["sudo ls ; systemctl restart nginx", { decision: "approve", rule: "baseline#2" }],
    ["systemctl restart nginx ; sudo ls", { decision: "approve", rule: "baseline#2" }],
    ["ls ; sudo ls ; echo", { decision: "warn", rule: "baseline#3" }],
    ["sudo ls ; history -c ; systemctl restart x", { decision: "deny", rule: "baseline#4" }],
    ["ls ; echo ; true", ALLOW_BASELINE],
  ],
);

table(
  "redirect targets are positional arguments",
  ["secrets"],
  [
    ["cat /etc/shadow", { decision: "deny", rule: "secrets#1", reason: "shadow file" }],
    ["echo x > /etc/shadow", { decision: "deny", rule: "secrets#1" }],
    ["echo x >> /etc//shadow", { decision: "deny", rule: "secrets#1" }],
    ["wc -l < /etc/./shadow", { decision: "deny", rule: "secrets#1" }],
    ["tee -a /etc/shadow", { decision: "deny", rule: "secrets#1" }],
    ["cat /etc/shadow-", { decision: "allow", rule: "default:secrets" }],
    ["echo x > /tmp/shadow", { decision: "allow", rule: "default:secrets" }],
  ],
);

table(
  "several rulesets: the most severe wins, ties keep the first",
  ["baseline", "lockdown"],
  [
    ["ls -la", ALLOW_BASELINE],
    ["cat /var/log/syslog", ALLOW_BASELINE],
    ["vim /etc/hosts", { decision: "deny", rule: "default:lockdown", reason: "no rule matched" }],
    ["systemctl restart nginx", { decision: "deny", rule: "default:lockdown" }],
    ["systemctl status nginx", ALLOW_BASELINE],
    ["systemctl status", ALLOW_BASELINE],
    ["systemctl status a b", ALLOW_BASELINE],
    ["systemctl --no-pager status nginx", ALLOW_BASELINE],
    ["systemctl stop nginx", { decision: "deny", rule: "default:lockdown" }],
    ["rm -rf /", DENY_ROOT],
    ["ls ; vim x", { decision: "deny", rule: "default:lockdown" }],
    ["cat /var/log/../../etc/shadow", { decision: "deny", rule: "default:lockdown" }],
    ["cat /var/log/app.log /etc/passwd", ALLOW_BASELINE],
  ],
);

table(
  "warn rulesets combine with allow",
  ["baseline", "audit"],
  [
    ["git push --force origin main", { decision: "warn", rule: "audit#1", risk: 40 }],
    ["git push -f origin main", ALLOW_BASELINE],
    ["sudo git push --force", { decision: "warn", rule: "baseline#3", risk: 20 }],
  ],
);

const ON_DYNAMIC_DENY: Expected = { decision: "deny", rule: "on_dynamic", risk: 100 };

table(
  "dynamic arguments fail closed against deny rules",
  ["baseline"],
  [
    ["rm -rf $X", { ...ON_DYNAMIC_DENY, reason: "baseline#1 depends on dynamic $X" }],
    ["rm -rf /tmp/$X", ON_DYNAMIC_DENY],
    ["rm $X", ON_DYNAMIC_DENY],
    ["rm -r ~", ON_DYNAMIC_DENY],
    ["rm -r /tmp/*", ON_DYNAMIC_DENY],
    ["rm -- $X", ALLOW_BASELINE],
    ["rm -f -- $X", ALLOW_BASELINE],
    ["ls $HOME", ALLOW_BASELINE],
    ["systemctl restart $UNIT", { decision: "approve", rule: "baseline#2" }],
    ["systemctl $VERB nginx", ON_DYNAMIC_DENY],
    ["kubectl --namespace $NS delete pod x", ON_DYNAMIC_DENY],
    ["kubectl --namespace=staging delete $POD", ON_DYNAMIC_DENY],
    ["kubectl --namespace=staging delete -- $POD", ALLOW_BASELINE],
    ["rm -rf / $X", DENY_ROOT],
    ["ls ; rm -rf $X ; sudo ls", ON_DYNAMIC_DENY],
  ],
);

table(
  "on_dynamic warn is what a dynamic match gets",
  ["baseline"],
  [
    ["rm -rf $X", { decision: "warn", rule: "on_dynamic", risk: 30 }],
    ["rm -rf /", DENY_ROOT],
  ],
  "warn",
);

table(
  "on_dynamic allow lets dynamic words through a default-allow ruleset",
  ["baseline"],
  [
    ["rm -rf $X", { decision: "allow", rule: "on_dynamic", risk: 0 }],
    ["$EDITOR /etc/hosts", { decision: "allow", rule: "on_dynamic" }],
  ],
  "allow",
);

table(
  "allow rules never match because of a dynamic word",
  ["lockdown"],
  [
    ["ls $HOME", { decision: "allow", rule: "lockdown#1" }],
    ["cat /var/log/app.log", { decision: "allow", rule: "lockdown#2" }],
    ["cat $F", { decision: "deny", rule: "default:lockdown" }],
    ["cat /var/log/$F", { decision: "deny", rule: "default:lockdown" }],
    ["systemctl status $UNIT", { decision: "allow", rule: "lockdown#3" }],
    ["systemctl $VERB nginx", { decision: "deny", rule: "default:lockdown" }],
    ["bash $SCRIPT", { decision: "deny", rule: "default:lockdown" }],
  ],
);

table(
  "a dynamic program gets on_dynamic unless allowed",
  ["baseline"],
  [
    [
      "$EDITOR /etc/hosts",
      { decision: "deny", rule: "on_dynamic", reason: "baseline#3 depends on dynamic $EDITOR" },
    ],
    ["/usr/bin/$X", ON_DYNAMIC_DENY],
  ],
);

test("a dynamic program under an allow-list is denied by on_dynamic", () => {
  expectLine(["lockdown"], "$EDITOR /etc/hosts", {
    ...ON_DYNAMIC_DENY,
    reason: "dynamic program $EDITOR",
  });
});

test("on_dynamic allow does not open an allow-list: its default is more severe", () => {
  expectLine(
    ["lockdown"],
    "$EDITOR /etc/hosts",
    { decision: "deny", rule: "default:lockdown" },
    "allow",
  );
});

describe("commands the extractor marks dynamic", () => {
  const dynamicLine = (text: string): Extraction => ({
    status: "complete",
    commands: [command(text, "shell runs code it reads from a file")],
  });
  const rows: [rulesets: string[], line: string, expected: Expected][] = [
    [["ops"], "bash /opt/ops/deploy.sh", { decision: "allow", rule: "ops#1" }],
    [
      ["ops"],
      "bash /opt/ops/other.sh",
      { ...ON_DYNAMIC_DENY, reason: "shell runs code it reads from a file" },
    ],
    [["ops"], "bash -s", ON_DYNAMIC_DENY],
    [["ops"], "bash /opt/ops/deploy.sh extra", ON_DYNAMIC_DENY],
    [["lockdown"], "bash /opt/ops/deploy.sh", { decision: "allow", rule: "lockdown#4" }],
    [["lockdown"], "bash -s", ON_DYNAMIC_DENY],
    [["baseline"], "bash -s", ON_DYNAMIC_DENY],
    [["baseline"], "sudo bash -s", ON_DYNAMIC_DENY],
    [["baseline"], "rm -r /", { decision: "deny", rule: "baseline#1" }],
    [["baseline", "ops"], "bash /opt/ops/deploy.sh", ON_DYNAMIC_DENY],
  ];
  for (const [rulesets, line, expected] of rows) {
    test(`${rulesets.join("+")}: ${line} → ${expected.decision} (${expected.rule})`, () =>
      expectLine(rulesets, dynamicLine(line), expected));
  }
});

describe("line status", () => {
  test("incomplete input is reported as such, with a deny", () => {
    const verdict = decide(["baseline"], { status: "incomplete", reason: "open quote" });
    assert.deepEqual(verdict, {
      status: "incomplete",
      decision: "deny",
      reason: "incomplete command line",
      risk: 100,
      commands: [],
    });
  });

  test("input that does not parse is denied", () => {
    const verdict = decide(["baseline"], { status: "error", message: "unexpected `)`" });
    assert.deepEqual(verdict, {
      status: "error",
      decision: "deny",
      reason: "cannot parse: unexpected `)`",
      risk: 100,
      commands: [],
    });
  });

  test("a line with no command (blank, comment) is allowed", () => {
    const verdict = decide(["lockdown"], { status: "complete", commands: [] });
    assert.deepEqual(verdict, { status: "complete", decision: "allow", risk: 0, commands: [] });
  });
});

describe("entries and verdict shape", () => {
  test("an entry with no rulesets denies every command (fail closed)", () => {
    const verdict = decide([], "ls ; $CMD x");
    const reason = 'access entry "test-entry" lists no command rulesets';
    assert.deepEqual(
      verdict.commands.map(({ decision, rule, reason }) => ({ decision, rule, reason })),
      [
        { decision: "deny", rule: "no-rulesets", reason },
        { decision: "deny", rule: "no-rulesets", reason },
      ],
    );
    assert.equal(verdict.decision, "deny");
  });

  test("an unknown ruleset name denies (the loader prevents it)", () => {
    const verdict = decide(["baseline", "missing"], "ls");
    assert.equal(verdict.decision, "deny");
    assert.equal(verdict.reason, 'unknown ruleset "missing"');
  });

  test("every command gets its verdict, dynamic words and written files shown as written", () => {
    const verdict = decide(["baseline"], "ls -l $HOME ; rm -rf // > $LOG");
    assert.deepEqual(verdict.commands, [
      {
        argv: ["ls", "-l", "$HOME"],
        decision: "allow",
        rule: "default:baseline",
        reason: "no rule matched",
        risk: 0,
      },
      {
        argv: ["rm", "-rf", "//"],
        writes: ["$LOG"],
        decision: "deny",
        rule: "baseline#1",
        reason: "recursive delete of /",
        risk: 100,
      },
    ]);
  });

  test("rulesets are compiled once and reused", () => {
    precompilePolicy(POLICY);
    const baseline = POLICY.rulesets.get("baseline");
    assert.ok(baseline);
    assert.equal(compileRuleset(baseline), compileRuleset(baseline));
  });
});

describe("decideCommandLine on arbitrary commands (property)", () => {
  const SEVERITY = ["allow", "warn", "approve", "deny"];
  const wordArb = fc.oneof(
    fc.string({ maxLength: 12 }).map((literal): ArgWord => ({ literal })),
    fc
      .constantFrom("-rf", "--namespace=prod", "/", "//etc/../", "--", "-")
      .map((literal) => ({ literal })),
    fc.string({ maxLength: 6 }).map((text): ArgWord => ({ dynamic: `$${text}` })),
  );
  const commandArb = fc.record({
    argv: fc.array(wordArb, { maxLength: 8 }),
    redirects: fc.array(wordArb, { maxLength: 2 }),
    writes: fc.array(wordArb, { maxLength: 2 }),
    source: fc.constant("generated"),
  });

  test("always decides, and the line takes its most severe command", () => {
    fc.assert(
      fc.property(
        fc.array(commandArb, { maxLength: 5 }),
        fc.constantFrom<RuleAction>("allow", "warn", "approve", "deny"),
        (commands, onDynamic) => {
          const verdict = decide(
            ["baseline", "secrets", "lockdown", "ops", "audit"],
            { status: "complete", commands },
            onDynamic,
          );
          assert.equal(verdict.commands.length, commands.length);
          const worst = Math.max(0, ...verdict.commands.map((c) => SEVERITY.indexOf(c.decision)));
          assert.equal(verdict.decision, SEVERITY[worst]);
          for (const commandVerdict of verdict.commands) {
            assert.ok(SEVERITY.includes(commandVerdict.decision));
            assert.ok(commandVerdict.risk >= 0 && commandVerdict.risk <= 100);
          }
        },
      ),
      { seed: 20261122, numRuns: 1000 },
    );
  });
});
