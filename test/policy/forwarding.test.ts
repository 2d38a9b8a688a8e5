// Forwarding policy: the `forwarding:` forms and their load errors, the
// decision table for one tunnel request (destinations, the certificate,
// `-R`), permit-port-forwarding through mayForward, and lint of destinations
// that can never match.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mayForward } from "../../src/policy/access.js";
import {
  decideTunnel,
  parseDestinationPattern,
  type TunnelRequest,
} from "../../src/policy/forwarding.js";
import { lintPolicy } from "../../src/policy/lint.js";
import type { AccessEntry, Policy } from "../../src/policy/types.js";
import { ConfigError } from "../../src/util/errors.js";
import { policyFrom, targetYaml } from "./fixtures.js";

const TARGETS = `targets:\n${targetYaml("web1")}\n`;

/** A policy with one access entry `e` for group ops on web1 with `forwarding: <yaml>`. */
function policyWith(forwarding: string, extra = ""): Policy {
  const access = `access:
  - name: e
    subjects: { groups: [ops] }
    targets: { names: [web1] }
    commands: []
    forwarding: ${forwarding}
${extra}`;
  return policyFrom(TARGETS, access);
}

function entryWith(forwarding: string): AccessEntry {
  const entry = policyWith(forwarding).access[0];
  assert.ok(entry);
  return entry;
}

function problemsOf(forwarding: string): string[] {
  try {
    policyWith(forwarding);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

function local(host: string, port: number, certificatePermits = true): TunnelRequest {
  return { kind: "local", host, port, certificatePermits };
}

const RULES =
  '{ allow: ["db.internal:5432", "*.cache.internal:6379", "10.0.0.0/8:443", "[fd00::/8]:*", "127.0.0.1:7000"] }';

describe("decideTunnel: local forwarding (-L, -W)", () => {
  const cases: [forwarding: string, host: string, port: number, expected: string][] = [
    ["deny", "db.internal", 5432, "deny"],
    ["allow", "db.internal", 5432, "allow"],
    ["allow", "10.1.2.3", 22, "allow"],
    ["allow", "::1", 22, "allow"],
    [RULES, "db.internal", 5432, "allow"],
    [RULES, "DB.Internal.", 5432, "allow"],
    [RULES, "db.internal", 5433, "deny"],
    [RULES, "db2.internal", 5432, "deny"],
    [RULES, "a.cache.internal", 6379, "allow"],
    [RULES, "a.b.cache.internal", 6379, "allow"],
    [RULES, "cache.internal", 6379, "deny"],
    [RULES, "evil-cache.internal", 6379, "deny"],
    [RULES, "10.200.0.1", 443, "allow"],
    [RULES, "::ffff:10.200.0.1", 443, "allow"],
    [RULES, "11.0.0.1", 443, "deny"],
    [RULES, "10.200.0.1", 444, "deny"],
    [RULES, "fd00::5", 22, "allow"],
    [RULES, "fe80::5", 22, "deny"],
    [RULES, "127.0.0.1", 7000, "allow"],
    // A name is never matched against an address range: the bastion does not
    // resolve names the target would resolve.
    [RULES, "localhost", 7000, "deny"],
    // Spellings a resolver may read as an address are refused outright.
    [RULES, "127.1", 7000, "deny"],
    ["allow", "127.1", 7000, "deny"],
    ["allow", "2130706433", 7000, "deny"],
    ["allow", "0x7f000001", 7000, "deny"],
    ["allow", "010.0.0.1", 443, "deny"],
    ["allow", "", 22, "deny"],
    ["allow", "bad host", 22, "deny"],
    ["allow", "fe80::1%eth0", 22, "deny"],
  ];
  for (const [forwarding, host, port, expected] of cases) {
    test(`${forwarding} → ${JSON.stringify(host)}:${port} is ${expected}`, () => {
      assert.equal(decideTunnel(entryWith(forwarding), local(host, port)).decision, expected);
    });
  }

  test("an allowed tunnel names the entry and the destination pattern that allowed it", () => {
    assert.deepEqual(decideTunnel(entryWith(RULES), local("10.9.9.9", 443)), {
      decision: "allow",
      reason: "10.9.9.9:443 allowed by e",
      matched: "10.0.0.0/8:443",
    });
  });

  test("a refused destination says why", () => {
    assert.deepEqual(decideTunnel(entryWith(RULES), local("db.internal", 22)), {
      decision: "deny",
      reason: "db.internal:22 is not an allowed forwarding destination of e",
    });
    assert.equal(
      decideTunnel(entryWith("deny"), local("db.internal", 22)).reason,
      "forwarding is denied by e",
    );
  });

  test("without permit-port-forwarding in the certificate nothing is allowed", () => {
    assert.deepEqual(decideTunnel(entryWith("allow"), local("db.internal", 5432, false)), {
      decision: "deny",
      reason: "the certificate lacks permit-port-forwarding",
    });
  });
});

describe("decideTunnel: remote forwarding (-R)", () => {
  const remote = (certificatePermits = true): TunnelRequest => ({
    kind: "remote",
    host: "localhost",
    port: 8080,
    certificatePermits,
  });

  test("denied by default, by allow and by a destination list", () => {
    for (const forwarding of ["deny", "allow", RULES]) {
      assert.equal(decideTunnel(entryWith(forwarding), remote()).decision, "deny", forwarding);
    }
    assert.equal(
      decideTunnel(entryWith("allow"), remote()).reason,
      "remote forwarding (-R) is not allowed by e",
    );
  });

  test("allowed only with remote: allow, and only with the certificate's permission", () => {
    const entry = entryWith("{ remote: allow }");
    assert.equal(decideTunnel(entry, remote()).decision, "allow");
    assert.equal(decideTunnel(entry, remote(false)).decision, "deny");
    assert.equal(decideTunnel(entry, local("db.internal", 5432)).decision, "deny");
  });
});

describe("forwarding: in policy files", () => {
  test("forms and defaults", () => {
    const withoutKey = policyFrom(
      TARGETS,
      "access:\n  - name: e\n    subjects: { groups: [ops] }\n    targets: { names: [web1] }\n",
    );
    assert.equal(withoutKey.access[0]?.forwarding, "deny");
    const rules = entryWith('{ allow: ["db.internal:5432"], remote: allow }').forwarding;
    assert.ok(typeof rules === "object");
    assert.equal(rules.remote, true);
    assert.deepEqual(
      rules.allow.map((pattern) => [pattern.text, pattern.port]),
      [["db.internal:5432", 5432]],
    );
  });

  test("invalid settings are reported at the offending value", () => {
    const at = (col: number, path: string, message: string) =>
      `10.yaml:6:${col}: access[0].forwarding${path}: ${message}`;
    assert.deepEqual(problemsOf("maybe"), [at(17, "", "expected one of allow, deny")]);
    assert.deepEqual(problemsOf("{}"), [
      at(
        17,
        "",
        "needs allow (destinations) or remote: allow; forwarding: deny forbids all forwarding",
      ),
    ]);
    assert.deepEqual(problemsOf("{ allow: [] }"), [at(26, ".allow", "must not be empty")]);
    assert.deepEqual(problemsOf('{ allow: ["db"] }'), [
      at(
        27,
        ".allow[0]",
        'invalid destination "db": expected host:port (IPv6 as [::1]:22, any port as :*)',
      ),
    ]);
    assert.deepEqual(problemsOf("{ remote: yes }"), [
      at(27, ".remote", "expected one of allow, deny"),
    ]);
    assert.deepEqual(problemsOf("{ allow: [x:1], local: allow }"), [
      at(33, ".local", 'unknown key "local"'),
    ]);
  });

  const invalid: [text: string, message: string][] = [
    ["db:0", "the port must be 1-65535 or *"],
    ["db:65536", "the port must be 1-65535 or *"],
    ["db:http", "the port must be 1-65535 or *"],
    ["::1:22", "expected host:port (IPv6 as [::1]:22, any port as :*)"],
    [":22", "expected host:port (IPv6 as [::1]:22, any port as :*)"],
    ["bad_host!:22", "the host must be a host name (with * wildcards), an address or a CIDR range"],
    ["127.1:22", "the host must be a host name (with * wildcards), an address or a CIDR range"],
  ];
  for (const [text, message] of invalid) {
    test(`destination ${JSON.stringify(text)} is refused`, () => {
      assert.throws(
        () => parseDestinationPattern(text),
        (error: Error) =>
          error.message === `invalid destination ${JSON.stringify(text)}: ${message}`,
      );
    });
  }
  test("a bad CIDR says so", () => {
    assert.throws(() => parseDestinationPattern("10.0.0.0/33:22"), /prefix must be 0-32/);
  });
});

describe("mayForward: the certificate's permit-port-forwarding", () => {
  const subject = { user: "alice@example.com", groups: ["ops"] };
  for (const [forwarding, expected] of [
    ["deny", false],
    ["allow", true],
    ['{ allow: ["db.internal:5432"] }', true],
    ["{ remote: allow }", true],
    ['{ allow: ["db.internal:5432"], remote: deny }', true],
  ] as const) {
    test(`forwarding: ${forwarding} → ${expected}`, () => {
      assert.equal(mayForward(policyWith(forwarding), subject), expected);
    });
  }
  test("not for other subjects, nor through an entry that denies the session", () => {
    assert.equal(mayForward(policyWith("allow"), { user: "bob@example.com", groups: [] }), false);
    assert.equal(mayForward(policyWith("allow", "    session: deny\n"), subject), false);
  });
});

describe("lint: forwarding that never applies", () => {
  const messages = (policy: Policy) => lintPolicy(policy).map((warning) => warning.message);
  const NO_RULESETS = 'access entry "e" lists no command rulesets: every command will be denied';

  test("a destination covered by an earlier one", () => {
    const cases: [allow: string, shadowed: string, by: string][] = [
      ['"*:5432", "db.internal:5432"', "db.internal:5432", "*:5432"],
      ['"*.internal:*", "db.internal:5432"', "db.internal:5432", "*.internal:*"],
      ['"10.0.0.0/8:443", "10.1.0.0/16:443"', "10.1.0.0/16:443", "10.0.0.0/8:443"],
      ['"db.internal:5432", "DB.internal:5432"', "DB.internal:5432", "db.internal:5432"],
      ['"*:*", "[::1]:22"', "[::1]:22", "*:*"],
    ];
    for (const [allow, later, earlier] of cases) {
      assert.deepEqual(messages(policyWith(`{ allow: [${allow}] }`)), [
        NO_RULESETS,
        `forwarding destination "${later}" of access entry "e" can never match: "${earlier}" always matches first`,
      ]);
    }
  });

  test("look-alikes that are not covered stay quiet", () => {
    for (const allow of [
      '"db.internal:5432", "*:5432"',
      '"*:5432", "db.internal:5433"',
      '"10.1.0.0/16:443", "10.0.0.0/8:443"',
      '"*.internal:22", "internal:22"',
      '"10.0.0.0/8:22", "fd00::/8:22"'.replace("fd00::/8", "[fd00::/8]"),
    ]) {
      assert.deepEqual(messages(policyWith(`{ allow: [${allow}] }`)), [NO_RULESETS], allow);
    }
  });

  test("forwarding on an entry that denies the session", () => {
    assert.deepEqual(messages(policyWith("allow", "    session: deny\n")), [
      'access entry "e" allows forwarding but denies the session: it never applies',
    ]);
  });
});
