// Decision tables for session access (SPEC §5.3): subjects, names and
// labels, logins, `when` in a time zone (wrapping windows, DST), `from`
// (IPv4, IPv6, mapped), deny entries and first-match order across files.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AccessRequest,
  decideSessionAccess,
  reachableTargets,
} from "../../src/policy/access.js";
import { parseTargetSelector } from "../../src/policy/selector.js";
import type { Policy } from "../../src/policy/types.js";
import { policyFrom, targetYaml } from "./fixtures.js";

const TARGETS = [
  "targets:",
  targetYaml("web1", { labels: "{ env: prod, team: web }" }),
  targetYaml("web2", { logins: "[deploy]", labels: "{ env: prod, team: api }" }),
  targetYaml("db1", { logins: "[postgres]", labels: "{ env: staging }" }),
].join("\n");

const ACCESS = `
access:
  - name: block-mallory
    subjects: { users: [mallory@example.com] }
    targets: { labels: { env: prod } }
    session: deny
  - name: web-oncall-prod
    subjects: { groups: [web-ops], users: [alice@example.com] }
    targets: { names: [web1], labels: { env: prod, team: api } }
    logins: [deploy]
    when: { days: [mon, tue, wed, thu, fri], hours: "07:00-20:00", tz: Europe/Berlin }
    from: [10.0.0.0/8, "2001:db8::/32"]
  - name: root-jit
    subjects: { groups: [web-leads] }
    targets: { names: [web1] }
    logins: [root]
    session: approve
    approval: { approvers: { groups: [security] } }
  - name: night-shift
    subjects: { groups: [nightops] }
    targets: { labels: { env: staging } }
    when: { days: [fri], hours: "22:00-06:00", tz: America/New_York }
`;

const LATER_CATCH_ALL = `
access:
  - name: web-ops-any-time
    subjects: { groups: [web-ops] }
    targets: { names: [web1] }
    session: approve
    approval: { approvers: { groups: [leads] } }
`;

/** Monday 23 Nov 2026, 10:00 in Berlin (CET, UTC+1). */
const MONDAY_MORNING_BERLIN = "2026-11-23T09:00:00Z";

interface Case {
  readonly name: string;
  readonly request: Partial<AccessRequest>;
  readonly decision: "allow" | "deny" | "approve";
  readonly entry?: string;
  readonly reason?: string;
  readonly login?: string;
}

function request(overrides: Partial<AccessRequest>): AccessRequest {
  return {
    user: "bob@example.com",
    groups: ["web-ops"],
    target: "web1",
    sourceIp: "10.1.2.3",
    at: new Date(MONDAY_MORNING_BERLIN),
    ...overrides,
  };
}

function at(iso: string): Date {
  return new Date(iso);
}

function runCases(policy: Policy, cases: readonly Case[]): void {
  for (const c of cases) {
    test(c.name, () => {
      const result = decideSessionAccess(policy, request(c.request));
      assert.equal(result.decision, c.decision, result.reason);
      assert.equal(result.entry?.name, c.entry);
      if (c.reason !== undefined) assert.equal(result.reason, c.reason);
      if (c.login !== undefined) assert.equal(result.login, c.login);
    });
  }
}

describe("decideSessionAccess: subjects, targets and logins", () => {
  const policy = policyFrom(TARGETS, ACCESS);
  runCases(policy, [
    {
      name: "listed user",
      request: { user: "alice@example.com", groups: [] },
      decision: "allow",
      entry: "web-oncall-prod",
      login: "deploy",
    },
    {
      name: "listed group",
      request: {},
      decision: "allow",
      entry: "web-oncall-prod",
      reason: "allowed by web-oncall-prod",
    },
    {
      name: "any group of several",
      request: { groups: ["x", "web-ops"] },
      decision: "allow",
      entry: "web-oncall-prod",
    },
    {
      name: "unlisted user and groups",
      request: { groups: ["sales"] },
      decision: "deny",
      reason: "no access entry for web1",
    },
    {
      name: "target by all labels",
      request: { target: "web2" },
      decision: "allow",
      entry: "web-oncall-prod",
    },
    {
      name: "labels must all match",
      request: { target: "db1", login: "postgres" },
      decision: "deny",
      reason: "no access entry for db1",
    },
    {
      name: "unknown target",
      request: { target: "web9" },
      decision: "deny",
      reason: "unknown target",
    },
    {
      name: "explicit default login",
      request: { login: "deploy" },
      decision: "allow",
      entry: "web-oncall-prod",
    },
    {
      name: "login not allowed by the entry",
      request: { login: "root" },
      decision: "deny",
      reason: "login root not permitted by web-oncall-prod",
    },
    {
      name: "login not on the target",
      request: { login: "admin" },
      decision: "deny",
      reason: "login admin not permitted on web1",
    },
    {
      name: "deny entry ends the search",
      request: { user: "mallory@example.com" },
      decision: "deny",
      entry: "block-mallory",
      reason: "denied by block-mallory",
    },
    {
      name: "approve entry",
      request: { groups: ["web-leads"], login: "root" },
      decision: "approve",
      entry: "root-jit",
      reason: "approval required by root-jit",
    },
    {
      name: "later entry after a login near miss",
      request: { groups: ["web-ops", "web-leads"], login: "root" },
      decision: "approve",
      entry: "root-jit",
    },
  ]);
});

describe("decideSessionAccess: from", () => {
  const policy = policyFrom(TARGETS, ACCESS);
  runCases(policy, [
    {
      name: "IPv4 inside",
      request: { sourceIp: "10.255.0.1" },
      decision: "allow",
      entry: "web-oncall-prod",
    },
    {
      name: "IPv4 outside",
      request: { sourceIp: "192.168.1.1" },
      decision: "deny",
      reason: "source address 192.168.1.1 not allowed by web-oncall-prod",
    },
    {
      name: "IPv4-mapped IPv6 inside",
      request: { sourceIp: "::ffff:10.0.0.7" },
      decision: "allow",
      entry: "web-oncall-prod",
    },
    {
      name: "IPv4-mapped IPv6 in hex inside",
      request: { sourceIp: "::ffff:a00:7" },
      decision: "allow",
      entry: "web-oncall-prod",
    },
    {
      name: "IPv4-mapped IPv6 outside",
      request: { sourceIp: "::ffff:192.168.1.1" },
      decision: "deny",
    },
    {
      name: "IPv6 inside",
      request: { sourceIp: "2001:db8:1::5" },
      decision: "allow",
      entry: "web-oncall-prod",
    },
    { name: "IPv6 outside", request: { sourceIp: "2001:db9::5" }, decision: "deny" },
    { name: "not an address", request: { sourceIp: "localhost" }, decision: "deny" },
    { name: "empty address", request: { sourceIp: "" }, decision: "deny" },
  ]);
});

describe("decideSessionAccess: when", () => {
  const policy = policyFrom(TARGETS, ACCESS);
  const night = { groups: ["nightops"], target: "db1" };
  runCases(policy, [
    {
      name: "weekday inside hours",
      request: { at: at("2026-11-23T18:59:00Z") },
      decision: "allow",
      entry: "web-oncall-prod",
    },
    {
      name: "end of window is exclusive",
      request: { at: at("2026-11-23T19:00:00Z") },
      decision: "deny",
      reason: "outside allowed hours for web-oncall-prod",
    },
    {
      name: "start of window is inclusive",
      request: { at: at("2026-11-23T06:00:00Z") },
      decision: "allow",
      entry: "web-oncall-prod",
    },
    {
      name: "Saturday",
      request: { at: at("2026-11-21T09:00:00Z") },
      decision: "deny",
      reason: "outside allowed days for web-oncall-prod",
    },
    // Berlin switches to CEST on 29 Mar 2026: 05:30Z is 06:30 local before, 07:30 after.
    {
      name: "before DST switch, 06:30 local",
      request: { at: at("2026-03-23T05:30:00Z") },
      decision: "deny",
      reason: "outside allowed hours for web-oncall-prod",
    },
    {
      name: "after DST switch, 07:30 local",
      request: { at: at("2026-03-30T05:30:00Z") },
      decision: "allow",
      entry: "web-oncall-prod",
    },
    // night-shift: fri 22:00-06:00 America/New_York (EST, UTC-5 in November).
    {
      name: "wrapping window, Friday 23:00",
      request: { ...night, at: at("2026-11-21T04:00:00Z") },
      decision: "allow",
      entry: "night-shift",
    },
    {
      name: "wrapping window, Saturday 02:00 belongs to Friday",
      request: { ...night, at: at("2026-11-21T07:00:00Z") },
      decision: "allow",
      entry: "night-shift",
    },
    {
      name: "wrapping window, Saturday 23:00",
      request: { ...night, at: at("2026-11-22T04:00:00Z") },
      decision: "deny",
      reason: "outside allowed days for night-shift",
    },
    {
      name: "wrapping window, Friday 02:00 belongs to Thursday",
      request: { ...night, at: at("2026-11-20T07:00:00Z") },
      decision: "deny",
      reason: "outside allowed days for night-shift",
    },
    {
      name: "wrapping window, Friday noon",
      request: { ...night, at: at("2026-11-20T17:00:00Z") },
      decision: "deny",
      reason: "outside allowed hours for night-shift",
    },
  ]);
});

describe("decideSessionAccess: first match across files", () => {
  const saturday = at("2026-11-21T09:00:00Z");
  runCases(policyFrom(TARGETS, ACCESS, LATER_CATCH_ALL), [
    { name: "earlier file's entry wins", request: {}, decision: "allow", entry: "web-oncall-prod" },
    {
      name: "near miss falls through to a later file",
      request: { at: saturday },
      decision: "approve",
      entry: "web-ops-any-time",
    },
  ]);
  runCases(policyFrom(TARGETS, LATER_CATCH_ALL, ACCESS), [
    { name: "file order decides", request: {}, decision: "approve", entry: "web-ops-any-time" },
  ]);
  runCases(policyFrom(TARGETS), [
    { name: "no access entries: deny", request: {}, decision: "deny" },
  ]);
});

describe("reachableTargets", () => {
  const policy = policyFrom(TARGETS, ACCESS);
  const subject = {
    user: "bob@example.com",
    sourceIp: "10.0.0.1",
    at: new Date(MONDAY_MORNING_BERLIN),
  };

  test("lists allowed and approvable targets with their logins, by name", () => {
    const reachable = reachableTargets(policy, { ...subject, groups: ["web-ops", "web-leads"] });
    assert.deepEqual(
      reachable.map((r) => [r.target.name, r.logins, r.decision]),
      [
        ["web1", ["deploy", "root"], "allow"],
        ["web2", ["deploy"], "allow"],
      ],
    );
  });

  test("approval-only logins are reported as approve", () => {
    const reachable = reachableTargets(policy, { ...subject, groups: ["web-leads"] });
    assert.deepEqual(
      reachable.map((r) => [r.target.name, r.logins, r.decision]),
      [["web1", ["root"], "approve"]],
    );
  });

  test("nothing for a stranger", () => {
    assert.deepEqual(reachableTargets(policy, { ...subject, groups: [] }), []);
  });
});

describe("parseTargetSelector", () => {
  const cases: [string, { target: string; login?: string }][] = [
    ["web1", { target: "web1" }],
    ["deploy@web1", { target: "web1", login: "deploy" }],
    ["a@b@web1", { target: "web1", login: "a@b" }],
    ["@web1", { target: "@web1" }],
    ["deploy@", { target: "deploy@" }],
  ];
  for (const [input, expected] of cases) {
    test(input, () => assert.deepEqual(parseTargetSelector(input), expected));
  }
});
