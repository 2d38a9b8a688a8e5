// `portcullis signals` and `portcullis recordings list --min-risk` / `show`
// through the real binary, on an index filled with signal events (new and
// older shapes): one line per signal newest first, every filter, --json, the
// session's score in list and show, and option values refused as usage errors.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openAuditIndex } from "../../src/store/index.js";
import { at, command, connection, event, recordAll, sessionStart } from "../store/helpers.js";
import { assertFailure, type InitializedSetup, initSetup, makeTempDir, removeDir } from "./cli.js";

const alice = connection({ session: "20261122T031600Z-aaaaaaaaaa" });
const bob = connection({
  session: "20261122T032600Z-bbbbbbbbbb",
  user: "bob",
  target: "web1",
  startMs: 600_000,
});

function signal(c: typeof alice, offsetMs: number, fields: Record<string, unknown>) {
  return event(c, "signal", offsetMs, { source: "policy", evidence: {}, ...fields });
}

const records = [
  sessionStart(alice),
  command(alice, 1_000, "auditctl -D", "warn"),
  signal(alice, 1_000, {
    rule: "disable-audit",
    score: 60,
    session_score: 60,
    reason: "auditctl -D deletes the audit rules",
    action: "warn",
    evidence: { line: "auditctl -D" },
  }),
  event(alice, "signal", 2_000, { kind: "unverified", reason: "no markers", action: "warn" }),
  signal(alice, 3_000, {
    rule: "first-target",
    source: "behaviour",
    score: 25,
    session_score: 84.25,
    reason: "alice has never accessed db1 in 30 days",
  }),
  sessionStart(bob),
  signal(bob, 5_000, {
    rule: "credential-access",
    score: 30,
    session_score: 30,
    reason: "reads /etc/shadow",
  }),
];

describe("portcullis signals", () => {
  let parent: string;
  let setup: InitializedSetup;

  before(async () => {
    parent = makeTempDir("signals");
    setup = await initSetup(join(parent, "setup"));
    const index = openAuditIndex({ path: join(setup.dir, "data", "portcullis.db") });
    recordAll(index, records);
    index.close();
  });
  after(() => removeDir(parent));

  it("prints one line per signal, newest first", async () => {
    const result = await setup.cli(["signals"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      [
        `${at(605_000).toISOString()}    +30  score=30  bob  web1  credential-access  reads /etc/shadow  (${bob.session})`,
        `${at(3_000).toISOString()}    +25  score=84.3  alice  db1  first-target  alice has never accessed db1 in 30 days  (${alice.session})`,
        `${at(2_000).toISOString()}     +0  score=0  alice  db1  unverified  no markers  (${alice.session})`,
        `${at(1_000).toISOString()}    +60  score=60  alice  db1  disable-audit  auditctl -D deletes the audit rules  (${alice.session})`,
        "",
      ].join("\n"),
    );
  });

  it("filters by user, session, rule, source, score, time and count", async () => {
    const rules = async (args: string[]) => {
      const result = await setup.cli(["signals", ...args]);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout
        .trim()
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => line.split(/\s+/)[5]);
    };
    assert.deepEqual(await rules(["--user", "bob"]), ["credential-access"]);
    assert.deepEqual(await rules(["--session", alice.session, "--source", "behaviour"]), [
      "first-target",
    ]);
    assert.deepEqual(await rules(["--rule", "unverified"]), ["unverified"]);
    assert.deepEqual(await rules(["--min-score", "30"]), ["credential-access", "disable-audit"]);
    assert.deepEqual(
      await rules(["--since", at(2_000).toISOString(), "--until", at(600_000).toISOString()]),
      ["first-target", "unverified"],
    );
    assert.deepEqual(await rules(["--limit", "1"]), ["credential-access"]);
    assert.deepEqual(
      await rules(["--since", "1h"]),
      [],
      "recorded in 2026-11, not in the last hour",
    );
    assert.deepEqual(await rules(["--until", "1h", "--user", "bob"]), ["credential-access"]);
  });

  it("--json prints one array with the event's fields", async () => {
    const result = await setup.cli(["signals", "--json", "--rule", "disable-audit"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), [
      {
        seq: 3,
        time: at(1_000).toISOString(),
        session: alice.session,
        user: "alice",
        target: "db1",
        offset_ms: 950,
        rule: "disable-audit",
        source: "policy",
        score: 60,
        session_score: 60,
        reason: "auditctl -D deletes the audit rules",
        action: "warn",
        evidence: { line: "auditctl -D" },
      },
    ]);
  });

  it("refuses a bad --min-score, --since or --limit as a usage error", async () => {
    assertFailure(await setup.cli(["signals", "--min-score", "-1"]), {
      code: 2,
      stderr: ["option '--min-score <n>' argument '-1' is invalid. expected a non-negative number"],
    });
    assertFailure(await setup.cli(["signals", "--since", "yesterday"]), {
      code: 2,
      stderr:
        /^portcullis: option '--since <dur\|iso8601>' argument 'yesterday' is invalid\. expected an ISO 8601 time/,
    });
    assertFailure(await setup.cli(["signals", "--since", "3x"]), {
      code: 2,
      stderr:
        /^portcullis: option '--since <dur\|iso8601>' argument '3x' is invalid\. invalid duration "3x"/,
    });
    assertFailure(await setup.cli(["signals", "--limit", "0"]), {
      code: 2,
      stderr: ["option '--limit <n>' argument '0' is invalid. expected a positive whole number"],
    });
  });

  it("recordings list shows each session's score and --min-risk filters on it", async () => {
    const all = await setup.cli(["recordings", "list"]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, new RegExp(`^${bob.session} .* risk=0  score=30  masked=0$`, "m"));
    assert.match(all.stdout, new RegExp(`^${alice.session} .* risk=5  score=84.3  masked=0$`, "m"));
    const risky = await setup.cli(["recordings", "list", "--min-risk", "50"]);
    assert.equal(risky.code, 0, risky.stderr);
    assert.deepEqual(
      risky.stdout
        .trim()
        .split("\n")
        .map((line) => line.split(/\s+/)[0]),
      [alice.session],
    );
  });

  it("recordings show prints the score and the signals among the commands", async () => {
    const result = await setup.cli(["recordings", "show", alice.session]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^risk:\s+5 \(highest command risk\)$/m);
    assert.match(result.stdout, /^score:\s+84\.3 \(peak of 3 signals, decayed\)$/m);
    assert.ok(
      result.stdout.endsWith(
        [
          "     0.9s  warn    auditctl -D (baseline#1)",
          "     0.9s  signal  disable-audit +60 score=60: auditctl -D deletes the audit rules",
          "     1.9s  signal  unverified +0 score=0: no markers",
          "     3.0s  signal  first-target +25 score=84.3: alice has never accessed db1 in 30 days",
          "",
        ].join("\n"),
      ),
      result.stdout,
    );
  });
});
