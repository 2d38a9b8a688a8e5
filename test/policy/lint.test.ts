// Policy lint: rules shadowed by an earlier rule of the same ruleset, with
// their source locations; look-alikes that are not shadowed stay quiet;
// property checks that a reported rule really is covered (word patterns,
// `writes` patterns); an allow rule on `writes`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { ExtractedCommand } from "../../src/policy/command-types.js";
import { DEFAULT_BEHAVIOUR } from "../../src/policy/index.js";
import { lintPolicy } from "../../src/policy/lint.js";
import { compileRuleset, matchRule, viewCommand, YES } from "../../src/policy/match.js";
import type { Pattern, Policy, Rule, Ruleset } from "../../src/policy/types.js";
import { ed25519KeyLine, policyFrom } from "./fixtures.js";
import { command } from "./matcher-helpers.js";

/** Lint of one ruleset `r` (default allow) whose rules are YAML list items, one per line. */
function lintRules(...rules: string[]): string[] {
  const yaml = ["rulesets:", "  r:", "    default: allow", "    rules:"]
    .concat(rules.map((rule) => `      - ${rule}`))
    .join("\n");
  return lintPolicy(policyFrom(yaml)).map(
    (warning) => `${warning.file}:${warning.line}:${warning.col}: ${warning.message}`,
  );
}

function shadowed(later: number, earlier: number): string {
  return `00.yaml:${later + 4}:9: rule r#${later} can never match: r#${earlier} always matches first`;
}

describe("lintPolicy reports rules that can never match", () => {
  const cases: [name: string, rules: string[], expected: string[]][] = [
    ["identical patterns", ['deny: "rm -rf /"', 'warn: "rm -rf /"'], [shadowed(2, 1)]],
    ["a bare program covers its options", ["warn: rm", 'deny: "rm -rf /"'], [shadowed(2, 1)]],
    [
      "a `*` program covers any program",
      ['deny: "* /etc/shadow"', 'deny: "cat /etc/shadow"'],
      [shadowed(2, 1)],
    ],
    ["options subset", ['deny: "rm -r"', 'deny: "rm -rf /x"'], [shadowed(2, 1)]],
    ["clusters in any order", ['deny: "rm -fr"', 'deny: "rm -r -f"'], [shadowed(2, 1)]],
    [
      "long option without value",
      ['deny: "git push --force"', 'deny: "git push --force=yes x"'],
      [shadowed(2, 1)],
    ],
    [
      "positional subsequence",
      ['deny: "git push origin"', 'deny: "git push -q origin main"'],
      [shadowed(2, 1)],
    ],
    [
      "a `*` positional covers a literal one",
      ['approve: "systemctl restart *"', 'deny: "systemctl restart nginx"'],
      [shadowed(2, 1)],
    ],
    [
      "a glob covers a literal",
      ['allow: "cat /var/log/*"', 'deny: "cat /var/log/secure"'],
      [shadowed(2, 1)],
    ],
    ["a basename covers a path", ["deny: reboot", "deny: /sbin/reboot"], [shadowed(2, 1)]],
    ["paths compared normalized", ['deny: "rm -r /etc/"', 'deny: "rm -r //etc"'], [shadowed(2, 1)]],
    [
      "identical exact patterns",
      ['allow: "ls *"\n        exact: true', 'deny: "ls *"\n        exact: true'],
      ["00.yaml:7:9: rule r#2 can never match: r#1 always matches first"],
    ],
    [
      "identical regexes",
      ["deny: { regex: '^history' }", "warn: { regex: '^history' }"],
      [shadowed(2, 1)],
    ],
    [
      "every alternative covered",
      ['deny: ["rm -r", "rm -R"]', 'deny: ["rm -rf /", "rm -Rf /"]'],
      [shadowed(2, 1)],
    ],
    [
      "covered by the first of several",
      ["warn: sudo", "deny: rm", "deny: sudo -i"],
      [shadowed(3, 1)],
    ],
    [
      "a wider writes glob",
      ['deny: { writes: "/etc/*" }', 'warn: { writes: ["/etc/cron.d/x", "/etc//hosts"] }'],
      [shadowed(2, 1)],
    ],
    [
      "writes with the same exceptions",
      ['deny: { writes: "*", except: "/tmp/*" }', 'deny: { writes: "/etc/*", except: "/tmp/*" }'],
      [shadowed(2, 1)],
    ],
    [
      "a blank pattern",
      ['deny: " "', 'deny: [" ", "\\t"]'],
      [
        "00.yaml:5:9: rule r#1 can never match: its pattern is blank",
        "00.yaml:6:9: rule r#2 can never match: its pattern is blank",
      ],
    ],
  ];
  for (const [name, rules, expected] of cases) {
    test(name, () => assert.deepEqual(lintRules(...rules), expected));
  }
});

describe("lintPolicy stays quiet when a later rule can still match", () => {
  const cases: [name: string, rules: string[]][] = [
    ["different programs", ["deny: rm", "deny: rmdir"]],
    ["more options earlier", ['deny: "rm -rf"', 'deny: "rm -r"']],
    ["more positionals earlier", ['deny: "git push origin main"', 'deny: "git push origin"']],
    ["positionals out of order", ['deny: "cp a b"', 'deny: "cp b a"']],
    ["a path does not cover a basename", ["deny: /sbin/reboot", "deny: reboot"]],
    [
      "exact earlier, subsequence later",
      ['allow: "ls /tmp"\n        exact: true', 'deny: "ls /tmp"'],
    ],
    ["exact `*` may match no argument", ['deny: "ls *"', 'deny: "ls *"\n        exact: true']],
    [
      "option values differ",
      ['deny: "kubectl --namespace=prod"', 'deny: "kubectl --namespace=staging"'],
    ],
    [
      "option value versus bare option",
      ['deny: "kubectl --namespace=prod"', 'deny: "kubectl --namespace"'],
    ],
    ["a partly covered list", ["deny: rm", 'deny: ["rm -rf /", "shred /dev/sda"]']],
    ["regex versus words", ["deny: { regex: '.' }", "deny: rm"]],
    ["different regexes", ["deny: { regex: '^rm' }", "deny: { regex: '^rm ' }"]],
    ["quoted word is literal", ['deny: "cat \\"*\\""', 'deny: "cat x"']],
    ["writes versus words", ['deny: { writes: "*" }', "deny: ls"]],
    [
      "a narrower writes glob earlier",
      ['deny: { writes: "/etc/x" }', 'deny: { writes: "/etc/*" }'],
    ],
    [
      "an exception the later rule lacks",
      ['deny: { writes: "*", except: "/tmp/*" }', 'warn: { writes: "/tmp/x" }'],
    ],
  ];
  for (const [name, rules] of cases) {
    test(name, () => assert.deepEqual(lintRules(...rules), []));
  }

  test("rules of different rulesets never shadow each other", () => {
    const policy = policyFrom(
      ["rulesets:", "  a:", "    default: allow", "    rules:", "      - deny: rm"].join("\n"),
      ["rulesets:", "  b:", "    default: allow", "    rules:", '      - deny: "rm -rf /"'].join(
        "\n",
      ),
    );
    assert.deepEqual(lintPolicy(policy), []);
  });

  test("warnings carry the later rule's file", () => {
    const policy = policyFrom(
      "rulesets: {}",
      [
        "rulesets:",
        "  b:",
        "    default: deny",
        "    rules:",
        "      - allow: ls",
        "      - allow: ls -l",
      ].join("\n"),
    );
    assert.deepEqual(lintPolicy(policy), [
      {
        file: "10.yaml",
        line: 6,
        col: 9,
        message: "rule b#2 can never match: b#1 always matches first",
      },
    ]);
  });
});

/** A deny rule `r#index` of ruleset `r`, as generated by the properties. */
function ruleOf(index: number, pattern: Pattern, exact = false): Rule {
  return {
    id: `r#${index}`,
    action: "deny",
    pattern,
    exact,
    source: { file: "r.yaml", line: index, col: 9 },
  };
}

/**
 * Whenever lint reports the second of two generated rules as shadowed, every
 * generated command the second matches is matched by the first.
 */
function assertShadowingSound(
  ruleArb: (index: number) => fc.Arbitrary<Rule>,
  commandArb: fc.Arbitrary<ExtractedCommand>,
  runs: { numRuns: number; minReported: number },
): void {
  let reported = 0;
  fc.assert(
    fc.property(
      ruleArb(1),
      ruleArb(2),
      fc.array(commandArb, { maxLength: 30 }),
      (wide, narrow, commands) => {
        const ruleset: Ruleset = {
          name: "r",
          source: { file: "r.yaml", line: 1, col: 1 },
          default: "allow",
          rules: [wide, narrow],
        };
        const policy: Policy = {
          targets: new Map(),
          rulesets: new Map([["r", ruleset]]),
          access: [],
          signals: { rules: [], behaviour: DEFAULT_BEHAVIOUR },
        };
        if (lintPolicy(policy).length === 0) return;
        reported++;
        const [compiledWide, compiledNarrow] = compileRuleset(ruleset).rules;
        assert.ok(compiledWide && compiledNarrow);
        for (const extracted of commands) {
          const view = viewCommand(extracted);
          if (matchRule(compiledNarrow, view) === YES) {
            assert.equal(matchRule(compiledWide, view), YES, extracted.source);
          }
        }
      },
    ),
    { seed: 20261122, numRuns: runs.numRuns },
  );
  assert.ok(reported > runs.minReported, `only ${reported} generated pairs were reported`);
}

describe("lintPolicy is sound (property)", () => {
  const programs = ["rm", "ls", "*", "r?", "/bin/rm"];
  const options = ["-r", "-f", "-rf", "--force", "--namespace=prod*", "--namespace=prod", "--"];
  const positionals = ["/", "/etc", "*", "/etc/*", "x", "//etc/"];
  const patternArb = fc
    .tuple(
      fc.constantFrom(...programs),
      fc.array(fc.constantFrom(...options, ...positionals), { maxLength: 4 }),
    )
    .map(([program, words]) => [program, ...words].join(" "));
  const commandArb = fc
    .tuple(
      fc.constantFrom("rm", "/bin/rm", "ls", "rx", "$P"),
      fc.array(
        fc.constantFrom(
          "-r",
          "-f",
          "-fr",
          "--force",
          "--namespace",
          "prod",
          "--namespace=prod-eu",
          "--",
          "/",
          "/etc",
          "/etc/x",
          "x",
          "$X",
          "/tmp/..",
        ),
        { maxLength: 6 },
      ),
    )
    .map(([program, words]) => command([program, ...words].join(" ")));
  const ruleArb = (index: number) =>
    fc
      .record({ text: patternArb, exact: fc.boolean() })
      .map(({ text, exact }) => ruleOf(index, { kind: "words", alternatives: [text] }, exact));

  test("a rule reported as shadowed never matches a command its shadowing rule misses", () => {
    assertShadowingSound(ruleArb, commandArb, { numRuns: 2000, minReported: 100 });
  });
});

describe("lintPolicy: writes patterns", () => {
  test("an allow rule on writes allows whatever program writes there", () => {
    assert.deepEqual(lintRules('allow: { writes: "/tmp/*" }'), [
      "00.yaml:5:9: rule r#1 allows any program that writes a matching file: {writes} matches the file, not the program (deny the other writes instead)",
    ]);
  });

  const globs = ["*", "/etc/*", "/etc/x", "/tmp/*", "/tmp/x", "//etc/"];
  const globsArb = (min: number) => fc.uniqueArray(fc.constantFrom(...globs), { minLength: min });
  const ruleArb = (index: number) =>
    fc
      .record({ globs: globsArb(1), except: globsArb(0) })
      .map(({ globs, except }) => ruleOf(index, { kind: "writes", globs, except }));
  const commandArb = fc
    .array(fc.constantFrom("/etc/x", "/etc/y", "/etc", "/tmp/x", "/tmp/y", "x", "$F"), {
      maxLength: 3,
    })
    .map((targets) => command(["ls", ...targets.map((target) => `>${target}`)].join(" ")));

  test("a writes rule reported as shadowed never matches where its shadowing rule misses", () => {
    assertShadowingSound(ruleArb, commandArb, { numRuns: 1000, minReported: 50 });
  });
});

describe("lintPolicy reports access entries without command rulesets", () => {
  const policy = (access: string) =>
    lintPolicy(
      policyFrom(`targets:
  web1:
    address: "10.0.0.5:22"
    logins: [deploy]
    credential: web1-key
    host_key: "${ed25519KeyLine()}"
access:
${access}`),
    ).map((warning) => `${warning.file}:${warning.line}:${warning.col}: ${warning.message}`);

  test("an entry that lets users in with no rulesets would deny every command", () => {
    assert.deepEqual(
      policy("  - name: ops\n    subjects: { groups: [ops] }\n    targets: { names: [web1] }\n"),
      ['00.yaml:8:5: access entry "ops" lists no command rulesets: every command will be denied'],
    );
  });

  test("a deny entry needs no rulesets", () => {
    assert.deepEqual(
      policy(
        "  - name: nobody\n    subjects: { groups: [ops] }\n    targets: { names: [web1] }\n    session: deny\n",
      ),
      [],
    );
  });
});
