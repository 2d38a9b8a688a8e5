// Policy loading: exact `file:line:col: message` problems (unknown key, wrong
// type, bad regex, unknown references, duplicates across files, YAML syntax,
// unpinned target), problems collected across files, and directory reading.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadPolicyDir } from "../../src/policy/load.js";
import { parsePolicyFiles } from "../../src/policy/parse.js";
import { ConfigError } from "../../src/util/errors.js";
import { ed25519KeyLine, targetYaml } from "./fixtures.js";

const TARGETS = ["targets:", targetYaml("web1")].join("\n");

function problemsOf(files: Record<string, string>): readonly string[] {
  try {
    parsePolicyFiles(Object.entries(files).map(([name, text]) => ({ name, text })));
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.code, "ERR_CONFIG");
    assert.equal(error.exitCode, 2);
    return error.problems;
  }
  assert.fail("policy loaded without problems");
}

const accessTo = (lines: string) =>
  `access:\n  - name: ops\n    subjects: { groups: [ops] }\n${lines}\n`;

describe("policy problems", () => {
  test("unknown key, at the key", () => {
    const text = accessTo("    targets: { names: [web1] }\n    sesion: allow");
    assert.deepEqual(problemsOf({ "00.yaml": TARGETS, "10.yaml": text }), [
      '10.yaml:5:5: access[0].sesion: unknown key "sesion"',
    ]);
  });

  test("unknown top-level key", () => {
    assert.deepEqual(problemsOf({ "00.yaml": "target: {}\n" }), [
      '00.yaml:1:1: target: unknown key "target"',
    ]);
  });

  test("wrong type", () => {
    const text = accessTo(
      "    targets: { names: [web1] }\n    max_session: 8\n    forwarding: maybe",
    );
    assert.deepEqual(problemsOf({ "00.yaml": TARGETS, "10.yaml": text }), [
      "10.yaml:5:18: access[0].max_session: expected a duration such as 500ms, 90s, 10m, 8h or 1h30m",
      "10.yaml:6:17: access[0].forwarding: expected one of allow, deny",
    ]);
  });

  test("bad regex is an error, never dropped", () => {
    const text =
      "rulesets:\n  base:\n    default: allow\n    rules:\n      - deny: { regex: 'rm (-rf' }\n";
    assert.deepEqual(problemsOf({ "20.yaml": text }), [
      "20.yaml:5:24: rulesets.base.rules[0].deny.regex: invalid regex: Unterminated group",
    ]);
  });

  test("writes patterns: one line naming the key at fault", () => {
    const rule = (pattern: string) =>
      `rulesets:\n  base:\n    default: allow\n    rules:\n      - deny: ${pattern}\n`;
    const cases: [pattern: string, problem: string][] = [
      [
        "{ writes: 5 }",
        "5:25: rulesets.base.rules[0].deny.writes: expected a glob or a list of globs",
      ],
      ["{ writes: [] }", "5:25: rulesets.base.rules[0].deny.writes: must not be empty"],
      [
        '{ writes: "*", except: [1] }',
        "5:39: rulesets.base.rules[0].deny.except[0]: expected a string, got an integer",
      ],
      ['{ writes: "*", exept: x }', '5:30: rulesets.base.rules[0].deny.exept: unknown key "exept"'],
      [
        '{ regex: "^a", writes: "*" }',
        "5:15: rulesets.base.rules[0].deny: needs exactly one of regex, writes",
      ],
      [
        '{ regex: "^a", except: "*" }',
        "5:38: rulesets.base.rules[0].deny.except: except only applies with writes",
      ],
      [
        "5",
        "5:15: rulesets.base.rules[0].deny: expected a pattern string, a list of pattern strings, {regex: ...} or {writes: ...}",
      ],
    ];
    for (const [pattern, problem] of cases) {
      assert.deepEqual(problemsOf({ "20.yaml": rule(pattern) }), [`20.yaml:${problem}`], pattern);
    }
  });

  test("a writes pattern loads with its globs and exceptions as lists", () => {
    const policy = parsePolicyFiles([
      {
        name: "20.yaml",
        text: 'rulesets:\n  base:\n    default: allow\n    rules:\n      - deny: { writes: "/etc/*", except: /etc/motd }\n',
      },
    ]);
    assert.deepEqual(policy.rulesets.get("base")?.rules[0]?.pattern, {
      kind: "writes",
      globs: ["/etc/*"],
      except: ["/etc/motd"],
    });
  });

  test("rule with two actions", () => {
    const text =
      "rulesets:\n  base:\n    default: allow\n    rules:\n      - { deny: rm, allow: ls }\n";
    assert.deepEqual(problemsOf({ "20.yaml": text }), [
      "20.yaml:5:9: rulesets.base.rules[0]: a rule needs exactly one of allow, warn, approve, deny",
    ]);
  });

  test("unknown ruleset and target references", () => {
    const text = accessTo("    targets: { names: [web1, web9] }\n    commands: [baseline]");
    assert.deepEqual(problemsOf({ "00.yaml": TARGETS, "10.yaml": text }), [
      '10.yaml:4:30: access[0].targets.names[1]: unknown target "web9"',
      '10.yaml:5:16: access[0].commands[0]: unknown ruleset "baseline"',
    ]);
  });

  test("duplicate names across two files", () => {
    const first = `${TARGETS}\nrulesets:\n  base: { default: allow }\n${accessTo("    targets: { names: [web1] }")}`;
    const second = `${TARGETS}\nrulesets:\n  base: { default: deny }\n${accessTo("    targets: { names: [web1] }")}`;
    assert.deepEqual(problemsOf({ "p/00.yaml": first, "p/10.yaml": second }), [
      'p/10.yaml:2:3: targets.web1: duplicate target "web1" (first defined at p/00.yaml:2:3)',
      'p/10.yaml:9:3: rulesets.base: duplicate ruleset "base" (first defined at p/00.yaml:9:3)',
      'p/10.yaml:11:5: access[0].name: duplicate access entry "ops" (first defined at p/00.yaml:11:5)',
    ]);
  });

  test("YAML syntax errors and duplicate keys", () => {
    assert.deepEqual(
      problemsOf({ "00.yaml": "targets: {web1: [\n", "10.yaml": "access: []\naccess: []\n" }),
      [
        "00.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
        "00.yaml:2:1: Flow map in block collection must be sufficiently indented and end with a }",
        "10.yaml:2:1: Map keys must be unique",
      ],
    );
  });

  test("unpinned target", () => {
    const text =
      "targets:\n  web1:\n    address: 10.0.0.5\n    logins: [deploy]\n    credential: web1\n";
    assert.deepEqual(problemsOf({ "00.yaml": text }), [
      "00.yaml:3:5: targets.web1: host_key or host_ca is required (unpinned targets are refused)",
    ]);
  });

  const targetWith = (credential: string, hostKey: string) =>
    [
      "targets:",
      "  web1:",
      "    address: 10.0.0.5",
      "    logins: [deploy, root]",
      `    credential: ${credential}`,
      `    host_key: "${hostKey}"`,
    ].join("\n");

  test("every login needs a credential, and only logins have one", () => {
    const text = targetWith("{ deploy: d, admin: a }", ed25519KeyLine());
    assert.deepEqual(problemsOf({ "00.yaml": text }), [
      '00.yaml:5:17: targets.web1.credential: no credential for login "root"',
      '00.yaml:5:37: targets.web1.credential.admin: "admin" is not in logins',
    ]);
  });

  test("host key whose data is of another type", () => {
    const text = targetWith("web1", `ssh-rsa ${ed25519KeyLine().split(" ")[1]}`);
    assert.deepEqual(problemsOf({ "00.yaml": text }), [
      '00.yaml:6:15: targets.web1.host_key: public key line says "ssh-rsa" but its data is a ssh-ed25519 key',
    ]);
  });

  test("reserved target name", () => {
    const text = ["targets:", targetYaml("approvals")].join("\n");
    assert.deepEqual(problemsOf({ "00.yaml": text }), [
      '00.yaml:2:3: targets.approvals: "approvals" is reserved and cannot name a target',
    ]);
  });

  test("approve sessions need approvers", () => {
    const text = accessTo("    targets: { names: [web1] }\n    session: approve");
    assert.deepEqual(problemsOf({ "00.yaml": TARGETS, "10.yaml": text }), [
      "10.yaml:5:14: access[0].session: session: approve needs approval.approvers",
    ]);
  });

  test("problems of all files are reported together, sorted by position", () => {
    const problems = problemsOf({
      "00.yaml": "targets: []\n",
      "10.yaml": accessTo("    targets: {}\n    from: [10.0.0.0/33]"),
    });
    assert.deepEqual(problems, [
      "00.yaml:1:10: targets: expected a map, got a list",
      "10.yaml:4:14: access[0].targets: needs names or labels",
      '10.yaml:5:12: access[0].from[0]: invalid CIDR "10.0.0.0/33": prefix must be 0-32',
    ]);
  });
});

describe("policy model", () => {
  test("is built with parsed values, ids and locations", () => {
    const policy = parsePolicyFiles([
      { name: "00.yaml", text: TARGETS },
      {
        name: "10.yaml",
        text: [
          "rulesets:",
          "  base:",
          "    default: warn",
          "    rules:",
          "      - deny: rm -rf /",
          "      - approve: [reboot, shutdown]",
          "        risk: 50",
          "      - allow: { regex: '^ls' }",
          "        exact: true",
          accessTo(
            "    targets: { labels: { env: prod } }\n    max_session: 1h30m\n    max_download: 1MiB\n    commands: [base]\n    mask: [jwt, { name: token, regex: 'tok_[a-z]+' }]\n    files: [{ deny: /etc/shadow }]",
          ),
        ].join("\n"),
      },
    ]);
    const target = policy.targets.get("web1");
    assert.deepEqual(target?.address, { host: "web1.internal", port: 22 });
    assert.deepEqual(
      [...(target?.credentials ?? [])],
      [
        ["deploy", "web1-cred"],
        ["root", "web1-cred"],
      ],
    );
    assert.equal(target?.host_key?.type, "ssh-ed25519");
    const rules = policy.rulesets.get("base")?.rules ?? [];
    assert.deepEqual(
      rules.map((rule) => [rule.id, rule.action, rule.source.line, rule.exact, rule.risk]),
      [
        ["base#1", "deny", 5, false, undefined],
        ["base#2", "approve", 6, false, 50],
        ["base#3", "allow", 8, true, undefined],
      ],
    );
    assert.deepEqual(rules[1]?.pattern, { kind: "words", alternatives: ["reboot", "shutdown"] });
    assert.ok(rules[2]?.pattern.kind === "regex" && rules[2].pattern.regex.test("ls -l"));
    const [entry] = policy.access;
    assert.equal(entry?.max_session, 5_400_000);
    assert.equal(entry?.max_download, 1_048_576);
    assert.equal(entry?.session, "allow");
    assert.equal(entry?.on_dynamic, "deny");
    assert.equal(entry?.file_transfer, "deny");
    assert.deepEqual(
      entry?.mask.map((m) => [m.name, m.regex?.source]),
      [
        ["jwt", undefined],
        ["token", "tok_[a-z]+"],
      ],
    );
    assert.deepEqual(
      entry?.files.map((f) => [f.action, f.glob]),
      [["deny", "/etc/shadow"]],
    );
    assert.deepEqual(entry?.source, { file: "10.yaml", line: 11, col: 5 });
  });
});

describe("masking settings", () => {
  const entry = (name: string, lines: string) =>
    `  - name: ${name}\n    subjects: { groups: [ops] }\n    targets: { names: [web1] }\n${lines}`;
  const access = (...entries: string[]) => `access:\n${entries.join("\n")}\n`;

  test("mask_input: true is the entry's mask list; recording_only comes from the entry, else the policy", () => {
    const policy = parsePolicyFiles([
      { name: "00.yaml", text: `${TARGETS}\nmasking: { recording_only: true }\n` },
      {
        name: "10.yaml",
        text: access(
          entry("same", "    mask: [jwt, iban]\n    mask_input: true"),
          entry("own", "    mask: [jwt]\n    mask_input: [password-assignment]"),
          entry("shown", "    mask: [jwt]\n    masking: { recording_only: false }"),
        ),
      },
    ]);
    const settings = policy.access.map((e) => [
      e.name,
      e.mask_input.map((spec) => spec.name),
      e.mask_recording_only,
    ]);
    assert.deepEqual(settings, [
      ["same", ["jwt", "iban"], true],
      ["own", ["password-assignment"], true],
      ["shown", [], false],
    ]);
  });

  test("without a policy-level default, output is masked for the user too", () => {
    const policy = parsePolicyFiles([
      { name: "00.yaml", text: TARGETS },
      { name: "10.yaml", text: access(entry("plain", "    mask: [jwt]")) },
    ]);
    assert.equal(policy.access[0]?.mask_recording_only, false);
    assert.deepEqual(policy.access[0]?.mask_input, []);
  });

  test("the policy-level masking is set in one file only", () => {
    assert.deepEqual(
      problemsOf({
        "00.yaml": `${TARGETS}\nmasking: { recording_only: true }\n`,
        "10.yaml": `masking: { recording_only: true }\n${access(entry("a", "    mask: [jwt]"))}`,
      }),
      ["10.yaml:1:1: masking: masking is set in more than one file (first at 00.yaml:8:1)"],
    );
  });

  test("unknown detectors and keys are refused where they are", () => {
    const problems = problemsOf({
      "00.yaml": TARGETS,
      "10.yaml": access(entry("a", "    mask_input: [card]\n    masking: { recording: true }")),
    });
    assert.deepEqual(
      problems.map((problem) => problem.replace(/ \(built-in: .*\)$/, "")),
      [
        "10.yaml:5:18: access[0].mask_input[0]: unknown detector",
        "10.yaml:6:14: access[0].masking.recording_only: is required",
        '10.yaml:6:16: access[0].masking.recording: unknown key "recording"',
      ],
    );
  });
});

describe("loadPolicyDir", () => {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-policy-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("reads *.yaml and *.yml in name order, skipping tests and hidden files", () => {
    writeFileSync(
      join(dir, "20-b.yml"),
      accessTo("    targets: { names: [web1] }").replace("ops\n", "second\n"),
    );
    writeFileSync(
      join(dir, "10-a.yaml"),
      `${TARGETS}\n${accessTo("    targets: { names: [web1] }")}`,
    );
    writeFileSync(join(dir, "30-c.test.yaml"), "tests: []\n");
    writeFileSync(join(dir, ".#10-a.yaml"), "broken: [\n");
    writeFileSync(join(dir, "README.md"), "not policy\n");
    mkdirSync(join(dir, "sub.yaml"));
    const policy = loadPolicyDir(dir);
    assert.deepEqual(
      policy.access.map((entry) => entry.name),
      ["ops", "second"],
    );
    assert.equal(policy.access[1]?.source.file, join(dir, "20-b.yml"));
  });

  test("names files as the directory joined with the file name", () => {
    const broken = mkdtempSync(join(tmpdir(), "portcullis-policy-"));
    try {
      writeFileSync(join(broken, "00.yaml"), "acess: []\n");
      assert.throws(() => loadPolicyDir(broken), {
        name: "ConfigError",
        message: `${join(broken, "00.yaml")}:1:1: acess: unknown key "acess"`,
      });
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  test("an empty directory is a valid policy that denies everything", () => {
    const empty = mkdtempSync(join(tmpdir(), "portcullis-policy-"));
    try {
      const policy = loadPolicyDir(empty);
      assert.equal(policy.targets.size, 0);
      assert.equal(policy.access.length, 0);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test("a missing directory is a ConfigError", () => {
    const missing = join(dir, "nope");
    assert.throws(() => loadPolicyDir(missing), {
      name: "ConfigError",
      message: `policy directory ${missing}: not found`,
    });
  });

  test("the example policies/ load cleanly", () => {
    const examples = fileURLToPath(new URL("../../../policies/", import.meta.url));
    const policy = loadPolicyDir(examples);
    assert.deepEqual([...policy.targets.keys()], ["web1", "db1", "web-staging1"]);
    assert.deepEqual(
      policy.access.map((entry) => entry.name),
      ["web-oncall-prod", "web-root-just-in-time", "dba-prod-readonly", "staging-developers"],
    );
    assert.deepEqual([...policy.rulesets.keys()], ["baseline", "prod-changes", "dba-readonly"]);
    assert.equal(policy.rulesets.get("dba-readonly")?.default, "deny");
  });
});
