// Loading the policy's `signals:` section: defaults, settings one file may
// make, rules concatenated across files with unique names, every bad value
// as a FILE:LINE:COL problem, and the lint warning for `off_hours` without
// business hours.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_BEHAVIOUR, lintPolicy } from "../../src/policy/index.js";
import { parsePolicyFiles } from "../../src/policy/parse.js";
import { ConfigError } from "../../src/util/errors.js";
import { policyFrom, targetYaml } from "./fixtures.js";

const TARGETS = ["targets:", targetYaml("web1", { labels: "{ env: prod }" })].join("\n");

function problemsOf(...texts: string[]): readonly string[] {
  try {
    policyFrom(...texts);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail("policy loaded without problems");
}

/** A `signals:` section whose rules are the given YAML list items (indented by 4). */
function rules(...items: string[]): string {
  return ["signals:", "  rules:", ...items.map((item) => `    - ${item}`)].join("\n");
}

describe("signals: defaults", () => {
  test("a policy without signals has no rules and the default behaviour", () => {
    const policy = policyFrom(TARGETS);
    assert.deepEqual(policy.signals, { rules: [], behaviour: DEFAULT_BEHAVIOUR });
  });

  test("the documented defaults", () => {
    assert.deepEqual(DEFAULT_BEHAVIOUR, {
      lookback: 30 * 86_400_000,
      min_history: 3,
      first_target: 20,
      first_label: 30,
      new_network: { score: 20, networks: [], ipv4_prefix: 24, ipv6_prefix: 64 },
      off_hours: 15,
      unusual_hour: { score: 15, min_history: 10 },
      denial_streak: { count: 3, within: 120_000, score: 30 },
      privileged_burst: { count: 5, within: 60_000, min_risk: 30, score: 30 },
      download_volume: { factor: 10, floor: 100_000_000, score: 40 },
      approval_fanout: { count: 5, within: 900_000, score: 25 },
      denial_override: { within: 600_000, score: 20 },
    });
  });

  test("behaviour keys left out keep their defaults, nested ones too", () => {
    const policy = policyFrom(
      "signals:\n  behaviour:\n    lookback: 14d\n    first_target: 0\n    denial_streak: { count: 5 }\n    download_volume: { floor: 1GB }\n",
    );
    assert.deepEqual(policy.signals.behaviour, {
      ...DEFAULT_BEHAVIOUR,
      lookback: 14 * 86_400_000,
      first_target: 0,
      denial_streak: { ...DEFAULT_BEHAVIOUR.denial_streak, count: 5 },
      download_volume: { ...DEFAULT_BEHAVIOUR.download_volume, floor: 1_000_000_000 },
    });
  });

  test("new_network: a score alone keeps the default grouping", () => {
    const policy = policyFrom("signals:\n  behaviour:\n    new_network: 5\n");
    assert.deepEqual(policy.signals.behaviour.new_network, {
      ...DEFAULT_BEHAVIOUR.new_network,
      score: 5,
    });
  });

  test("new_network: the long form, its networks parsed and keys left out at their defaults", () => {
    const policy = policyFrom(
      [
        "signals:",
        "  behaviour:",
        "    new_network:",
        '      networks: [10.8.0.0/16, 192.0.2.7, "2001:db8::/48"]',
        "      ipv4_prefix: 22",
      ].join("\n"),
    );
    assert.deepEqual(policy.signals.behaviour.new_network, {
      score: 20,
      networks: [
        { address: "10.8.0.0", prefix: 16, family: "ipv4" },
        { address: "192.0.2.7", prefix: 32, family: "ipv4" },
        { address: "2001:db8::", prefix: 48, family: "ipv6" },
      ],
      ipv4_prefix: 22,
      ipv6_prefix: 64,
    });
  });

  test("a rule with its parsed fields", () => {
    const policy = policyFrom(
      TARGETS,
      [
        "signals:",
        '  business_hours: { days: [mon, fri], hours: "08:00-18:00", tz: Europe/Berlin }',
        "  rules:",
        "    - name: key-read",
        '      commands: ["cat */id_*"]',
        "      except: { regex: '^cat /tmp/' }",
        "      exact: true",
        "      paths: /etc/ssh/*",
        "      direction: download",
        "      when:",
        "        targets: { labels: { env: prod } }",
        "        from_outside: [10.0.0.0/8]",
        "        off_hours: true",
        "      score: 60",
        "      action: end-session",
      ].join("\n"),
    );
    const [rule] = policy.signals.rules;
    assert.ok(rule);
    assert.deepEqual(
      { ...rule, except: undefined, when: { ...rule.when, from_outside: undefined } },
      {
        name: "key-read",
        source: { file: "10.yaml", line: 4, col: 7 },
        score: 60,
        action: "end-session",
        commands: { kind: "words", alternatives: ["cat */id_*"] },
        except: undefined,
        exact: true,
        paths: { globs: ["/etc/ssh/*"], direction: "download" },
        when: {
          targets: { names: [], labels: new Map([["env", "prod"]]) },
          off_hours: true,
          from_outside: undefined,
        },
      },
    );
    assert.equal(rule.except?.kind, "regex");
    assert.equal(rule.when?.from_outside?.contains("10.2.3.4"), true);
    assert.deepEqual(policy.signals.business_hours, {
      days: ["mon", "fri"],
      hours: { start: 480, end: 1080 },
      tz: "Europe/Berlin",
    });
  });

  test("rules of every file are concatenated in file order", () => {
    const policy = policyFrom(
      rules("name: b\n      commands: b\n      score: 1"),
      rules("name: a\n      commands: a\n      score: 2"),
    );
    assert.deepEqual(
      policy.signals.rules.map((rule) => rule.name),
      ["b", "a"],
    );
  });
});

describe("signals: problems", () => {
  test("business_hours and behaviour are set in one file only", () => {
    const settings = [
      "signals:",
      '  business_hours: { hours: "08:00-18:00" }',
      "  behaviour: { min_history: 5 }",
    ].join("\n");
    assert.deepEqual(problemsOf(settings, settings), [
      "10.yaml:2:3: signals.business_hours: signals.business_hours is set in more than one file (first at 00.yaml:2:3)",
      "10.yaml:3:3: signals.behaviour: signals.behaviour is set in more than one file (first at 00.yaml:3:3)",
    ]);
  });

  test("rule names are unique across files", () => {
    const rule = rules("name: audit-off\n      commands: auditctl\n      score: 5");
    assert.deepEqual(problemsOf(TARGETS, rule, rule), [
      '20.yaml:3:7: signals.rules[0].name: duplicate signal rule "audit-off" (first defined at 10.yaml:3:7)',
    ]);
  });

  test("bad values, each where it is", () => {
    const text = rules(
      [
        "name: Bad_Name",
        "      commands: []",
        "      score: 0",
        "      action: stop",
        "      direction: sideways",
        "      paths: []",
        "      extra: 1",
      ].join("\n"),
      [
        "name: ok",
        "      commands: x",
        "      score: 101",
        "      when: { targets: { names: [nowhere] }, from_outside: [10.0.0.0/33], logins: [] }",
      ].join("\n"),
    );
    assert.deepEqual(problemsOf(TARGETS, text), [
      "10.yaml:3:13: signals.rules[0].name: must start with a lower-case letter or digit and contain only a-z, 0-9 and '-'",
      "10.yaml:4:17: signals.rules[0].commands: must not be empty",
      "10.yaml:5:14: signals.rules[0].score: must be at least 1",
      "10.yaml:6:15: signals.rules[0].action: expected one of warn, approve, deny, end-session",
      "10.yaml:7:18: signals.rules[0].direction: expected one of download, upload",
      "10.yaml:8:14: signals.rules[0].paths: must not be empty",
      '10.yaml:9:7: signals.rules[0].extra: unknown key "extra"',
      "10.yaml:12:14: signals.rules[1].score: must be at most 100",
      '10.yaml:13:61: signals.rules[1].when.from_outside[0]: invalid CIDR "10.0.0.0/33": prefix must be 0-32',
      "10.yaml:13:83: signals.rules[1].when.logins: must not be empty",
    ]);
  });

  test("an unknown target in when.targets", () => {
    const text = rules(
      "name: ok\n      commands: x\n      score: 5\n      when: { targets: { names: [web1, nowhere] } }",
    );
    assert.deepEqual(problemsOf(TARGETS, text), [
      '10.yaml:6:40: signals.rules[0].when.targets.names[1]: unknown target "nowhere"',
    ]);
  });

  test("rules that make no sense", () => {
    const text = rules(
      "name: no-trigger\n      score: 5",
      "name: empty-when\n      score: 5\n      when: {}",
      "name: direction-alone\n      commands: x\n      direction: upload\n      score: 5",
      "name: except-alone\n      paths: /x\n      except: y\n      score: 5",
    );
    assert.deepEqual(problemsOf(text), [
      "00.yaml:3:7: signals.rules[0]: a signal rule without commands or paths needs when",
      "00.yaml:7:13: signals.rules[1].when: needs at least one of targets, logins, subjects, off_hours, from_outside",
      "00.yaml:10:18: signals.rules[2].direction: direction only applies with paths",
      "00.yaml:14:15: signals.rules[3].except: except only applies with commands",
    ]);
  });

  test("bad behaviour and business hours values", () => {
    const text = [
      "signals:",
      '  business_hours: { hours: "18:00-18:00" }',
      "  behaviour:",
      "    lookback: 30 days",
      "    off_hours: -1",
      "    denial_streak: { count: 0, within: soon }",
      "    download_volume: { floor: 100 }",
      "    surprise: 1",
    ].join("\n");
    assert.deepEqual(problemsOf(text), [
      '00.yaml:2:28: signals.business_hours.hours: invalid hours "18:00-18:00": empty window (omit hours for all day)',
      '00.yaml:4:15: signals.behaviour.lookback: invalid duration "30 days": expected a duration such as 500ms, 90s, 10m, 8h or 1h30m',
      "00.yaml:5:16: signals.behaviour.off_hours: must be at least 0",
      "00.yaml:6:29: signals.behaviour.denial_streak.count: must be at least 1",
      '00.yaml:6:40: signals.behaviour.denial_streak.within: invalid duration "soon": expected a duration such as 500ms, 90s, 10m, 8h or 1h30m',
      "00.yaml:7:31: signals.behaviour.download_volume.floor: expected a size such as 10B, 512KB, 100MB or 1GiB",
      '00.yaml:8:5: signals.behaviour.surprise: unknown key "surprise"',
    ]);
  });

  test("bad new_network values, each where it is", () => {
    const behaviour = (newNetwork: string) =>
      `signals:\n  behaviour:\n    new_network: ${newNetwork}\n`;
    const problems = (newNetwork: string) => problemsOf(behaviour(newNetwork));
    assert.deepEqual(problems("101"), [
      "00.yaml:3:18: signals.behaviour.new_network: must be at most 100",
    ]);
    assert.deepEqual(problems("high"), [
      "00.yaml:3:18: signals.behaviour.new_network: expected a score or {score, networks, ipv4_prefix, ipv6_prefix}",
    ]);
    assert.deepEqual(problems("{ score: 20, networks: [10.8.0.0/33, vpn] }"), [
      '00.yaml:3:42: signals.behaviour.new_network.networks[0]: invalid CIDR "10.8.0.0/33": prefix must be 0-32',
      '00.yaml:3:55: signals.behaviour.new_network.networks[1]: invalid CIDR "vpn": expected e.g. 10.0.0.0/8 or 2001:db8::/32',
    ]);
    assert.deepEqual(problems("{ ipv4_prefix: 33, ipv6_prefix: -1, networks: 10.8.0.0/16 }"), [
      "00.yaml:3:33: signals.behaviour.new_network.ipv4_prefix: must be at most 32",
      "00.yaml:3:50: signals.behaviour.new_network.ipv6_prefix: must be at least 0",
      "00.yaml:3:64: signals.behaviour.new_network.networks: expected a list, got a string",
    ]);
    assert.deepEqual(problems("{ ipv6_prefix: 129, pool: 10.8.0.0/16 }"), [
      "00.yaml:3:33: signals.behaviour.new_network.ipv6_prefix: must be at most 128",
      '00.yaml:3:38: signals.behaviour.new_network.pool: unknown key "pool"',
    ]);
  });
});

describe("signals: lint", () => {
  const nightRule = rules(
    "name: night-sudo\n      commands: sudo\n      when: { off_hours: true }\n      score: 5",
  );

  test("off_hours without business hours never fires", () => {
    assert.deepEqual(lintPolicy(policyFrom(nightRule)), [
      {
        file: "00.yaml",
        line: 3,
        col: 7,
        message:
          'signal rule "night-sudo" uses off_hours but no file sets signals.business_hours: it never fires',
      },
    ]);
  });

  test("business hours set in another file silence it", () => {
    const hours = 'signals:\n  business_hours: { hours: "08:00-18:00" }\n';
    assert.deepEqual(
      lintPolicy(
        parsePolicyFiles([
          { name: "a.yaml", text: nightRule },
          { name: "b.yaml", text: hours },
        ]),
      ),
      [],
    );
  });
});
