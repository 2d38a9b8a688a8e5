// `portcullis policy lint|check|test` end to end: the compiled CLI against
// policy directories written by the test (and the shipped policies/), with
// their output and exit statuses.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ed25519KeyLine } from "../policy/fixtures.js";
import { makeTempDir, removeDir, runCli } from "./cli.js";

const EXAMPLE_POLICIES = fileURLToPath(new URL("../../../policies", import.meta.url));

function policyText(): string {
  return `targets:
  web1:
    address: 127.0.0.1:22
    logins: [deploy]
    credential: web1-key
    host_key: "${ed25519KeyLine()}"
access:
  - name: ops-web
    subjects: { groups: [ops] }
    targets: { names: [web1] }
    commands: [guard]
rulesets:
  guard:
    default: deny
    rules:
      - allow: "uptime"
      - deny: "rm -r /"
        reason: recursive delete of /
      - approve: "systemctl restart *"
        reason: restarts need approval
`;
}

const TESTS = `tests:
  - name: uptime runs
    user: alice@example.com
    groups: [ops]
    target: web1
    command: uptime
    expect: allow
  - name: rm of / is refused
    user: alice@example.com
    groups: [ops]
    target: web1
    command: rm -rf /
    expect: deny
    expect_rule: guard#2
`;

describe("portcullis policy", () => {
  let dir: string;
  let policies: string;

  const writePolicy = (name: string, text: string, into = policies) =>
    writeFileSync(join(into, name), text);
  const check = (...args: string[]) =>
    runCli(["policy", "check", "--policy", policies, "--user", "alice@example.com", ...args]);

  before(() => {
    dir = makeTempDir("policy");
    policies = join(dir, "policies");
    mkdirSync(policies);
    writePolicy("10-policy.yaml", policyText());
    writePolicy("ok.test.yaml", TESTS);
  });
  after(() => removeDir(dir));

  describe("lint", () => {
    it("passes the shipped example policies without warnings", async () => {
      const result = await runCli(["policy", "lint", EXAMPLE_POLICIES]);
      assert.equal(result.stdout, "0 errors, 0 warnings\n");
      assert.equal(result.code, 0, result.stderr);
    });

    it("uses ./policies when there is no portcullis.yaml", async () => {
      const result = await runCli(["policy", "lint"], { cwd: dir });
      assert.equal(result.stdout, "0 errors, 0 warnings\n");
      assert.equal(result.code, 0, result.stderr);
    });

    it("prints each error as file:line:col and exits 1", async () => {
      const broken = join(dir, "broken");
      mkdirSync(broken);
      writePolicy("10.yaml", "rulesets:\n  r:\n    default: maybe\n    rules: []\n", broken);
      const result = await runCli(["policy", "lint", broken]);
      assert.equal(
        result.stdout,
        `${join(broken, "10.yaml")}:3:14: rulesets.r.default: expected one of allow, warn, approve, deny\n1 error, 0 warnings\n`,
      );
      assert.equal(result.code, 1);
    });

    it("warns about a rule that can never match, and still exits 0", async () => {
      const shadowed = join(dir, "shadowed");
      mkdirSync(shadowed);
      writePolicy(
        "10.yaml",
        'rulesets:\n  r:\n    default: allow\n    rules:\n      - deny: "rm"\n      - deny: "rm -r /"\n',
        shadowed,
      );
      const result = await runCli(["policy", "lint", shadowed]);
      const lines = result.stdout.trimEnd().split("\n");
      assert.match(lines[0] ?? "", new RegExp(`^${join(shadowed, "10.yaml")}:6:\\d+: warning: `));
      assert.equal(lines.at(-1), "0 errors, 1 warning");
      assert.equal(result.code, 0);
    });

    it("refuses a directory that does not exist with status 2", async () => {
      const result = await runCli(["policy", "lint", join(dir, "nope")]);
      assert.equal(result.stderr, `portcullis: policy directory ${join(dir, "nope")}: not found\n`);
      assert.equal(result.code, 2);
    });
  });

  describe("check", () => {
    it("prints SPEC §5.6's object for an allowed line", async () => {
      const result = await check("--groups", "ops", "--target", "web1", "--json", "--", "uptime");
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        session: { decision: "allow", access: "ops-web" },
        command: {
          decision: "allow",
          rule: "guard#1",
          reason: 'matches "uptime"',
          commands: [{ argv: ["uptime"], decision: "allow", rule: "guard#1" }],
        },
      });
    });

    it("names the deciding rule and reason of a denied line", async () => {
      const result = await check("--groups", "ops", "--target", "web1", "--json", "--", "rm -rf /");
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        session: { decision: "allow", access: "ops-web" },
        command: {
          decision: "deny",
          rule: "guard#2",
          reason: "recursive delete of /",
          commands: [{ argv: ["rm", "-rf", "/"], decision: "deny", rule: "guard#2" }],
        },
      });
    });

    it("takes the most severe decision of the line's commands", async () => {
      const result = await check(
        ...["--groups", "ops", "--target", "web1", "--json", "--"],
        ...["uptime", "&&", "systemctl", "restart", "nginx"],
      );
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        session: { decision: "allow", access: "ops-web" },
        command: {
          decision: "approve",
          rule: "guard#3",
          reason: "restarts need approval",
          commands: [
            { argv: ["uptime"], decision: "allow", rule: "guard#1" },
            { argv: ["systemctl", "restart", "nginx"], decision: "approve", rule: "guard#3" },
          ],
        },
      });
    });

    it("denies the line when the session is denied", async () => {
      const result = await check("--groups", "dev", "--target", "web1", "--json", "--", "uptime");
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        session: { decision: "deny" },
        command: { decision: "deny", reason: "no access entry for web1", commands: [] },
      });
    });

    it("explains the decision in words without --json", async () => {
      const result = await check("--groups", "ops", "--target", "web1", "--", "rm -rf /");
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^session: allow by access entry ops-web/);
      assert.match(result.stdout, /line: deny — rule guard#2; recursive delete of \//);
      assert.match(result.stdout, / {2}deny {4}rm -rf \/ — rule guard#2/);
    });

    it("names the files each command writes by redirection, a bare redirection as `:`", async () => {
      const line = "> /tmp/empty; { uptime; } 2> '/tmp/err log'";
      const result = await check("--groups", "ops", "--target", "web1", "--", line);
      assert.equal(result.code, 0, result.stderr);
      // guard is an allow-list without `:`: a bare redirection is off it
      assert.match(result.stdout, /^ {2}deny {4}: \(writes \/tmp\/empty\) — rule default:guard/m);
      assert.match(result.stdout, /^ {2}allow {3}uptime \(writes '\/tmp\/err log'\) — /m);
      const json = await check("--groups", "ops", "--target", "web1", "--json", "--", line);
      const commands = JSON.parse(json.stdout).command.commands;
      assert.deepEqual(
        commands.map((command: { argv: string[]; writes?: string[] }) => [
          command.argv,
          command.writes,
        ]),
        [
          [[":"], ["/tmp/empty"]],
          [["uptime"], ["/tmp/err log"]],
        ],
      );
    });

    it("is a usage error (2) without --target or with a bad --at", async () => {
      const missing = await check("--json", "--", "uptime");
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /required option '--target <target>'/);
      const badTime = await check("--target", "web1", "--at", "tomorrow", "--", "uptime");
      assert.equal(badTime.code, 2);
      assert.match(badTime.stderr, /--at .*expected an ISO 8601 time/);
    });

    it("is a policy error (2) when the policy does not load", async () => {
      const result = await runCli([
        ...["policy", "check", "--policy", join(dir, "nope"), "--user", "u"],
        ...["--target", "web1", "--", "uptime"],
      ]);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, "");
    });
  });

  describe("test", () => {
    it("runs every case and prints the summary", async () => {
      const result = await runCli(["policy", "test", policies]);
      assert.equal(
        result.stdout,
        [
          "ok   uptime runs: allow by guard#1",
          "ok   rm of / is refused: deny by guard#2",
          "2 passed, 0 failed",
          "",
        ].join("\n"),
      );
      assert.equal(result.code, 0, result.stderr);
    });

    it("exits 1 and says what differed when a case fails", async () => {
      const failing = join(dir, "failing");
      mkdirSync(failing);
      writePolicy("10-policy.yaml", policyText(), failing);
      writePolicy(
        "a.test.yaml",
        `${TESTS}  - name: restart expected to pass\n    user: a@example.com\n    groups: [ops]\n    target: web1\n    command: systemctl restart nginx\n    expect: allow\n`,
        failing,
      );
      const result = await runCli(["policy", "test", failing]);
      const lines = result.stdout.trimEnd().split("\n");
      assert.equal(
        lines[2],
        `FAIL restart expected to pass: expected allow, got approve by guard#3 (restarts need approval) at ${join(failing, "a.test.yaml")}:15:5`,
      );
      assert.equal(lines.at(-1), "2 passed, 1 failed");
      assert.equal(result.code, 1);
    });

    it("reports a malformed test file with its location and exits 2", async () => {
      const malformed = join(dir, "malformed");
      mkdirSync(malformed);
      writePolicy("10-policy.yaml", policyText(), malformed);
      writePolicy(
        "x.test.yaml",
        "tests:\n  - name: n\n    user: u\n    target: web1\n    command: uptime\n    expect: allowed\n",
        malformed,
      );
      const result = await runCli(["policy", "test", malformed]);
      assert.equal(
        result.stderr,
        `portcullis: ${join(malformed, "x.test.yaml")}:6:13: tests[0].expect: expected one of allow, warn, approve, deny\n`,
      );
      assert.equal(result.code, 2);
    });

    it("passes the shipped example policy tests", async () => {
      const result = await runCli(["policy", "test", EXAMPLE_POLICIES]);
      assert.match(result.stdout, /^\d+ passed, 0 failed$/m);
      assert.doesNotMatch(result.stdout, /^FAIL/m);
      assert.equal(result.code, 0, result.stdout);
    });
  });
});
