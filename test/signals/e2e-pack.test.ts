// The default signal pack (policies/signals.yaml, copied in by `portcullis
// init`) through a real bastion to a real sshd: every case of
// policies/signals.test.yaml that expects signals is typed as an ssh exec,
// and its session's `signal` events must be exactly those rules, with the
// pack's scores, actions and reasons. The lines run under a ruleset that
// denies everything (`default: deny`): they are real attack commands and the
// sshd login is this machine's. Transfer rules (`paths:`) are exercised with
// a real `sftp -b` get of harmless files at such paths in a temp directory.
// Last, every rule of the pack must have been exercised.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { startTestBastion, type TestBastion } from "../harness/bastion.js";
import { sftpBatch } from "../sftp/helpers.js";
import {
  type AuditEvent,
  execLine,
  sessionEnd,
  signalsOf,
  signUser,
  type TestUser,
} from "./e2e-helpers.js";

interface PackRule {
  name: string;
  score: number;
  action?: string;
  reason?: string;
  commands?: unknown;
  paths?: string[];
  direction?: string;
}

interface PackCase {
  name: string;
  user: string;
  command: string;
  signals?: string[];
}

const GROUP = "signal-pack";
/** Sessions typed at once. */
const BATCH = 6;

const EXTRA_POLICY = `rulesets:
  deny-everything:
    default: deny
    rules: []
access:
  - name: signal-pack
    subjects: { groups: [${GROUP}] }
    targets: { names: [web1] }
    commands: [deny-everything]
    file_transfer: allow
`;

/**
 * A file name a glob matches, under `root` for globs starting with `*`
 * (`*`/`?` become letters, `[!b]` a letter not listed); undefined for
 * absolute globs (system files this test must not read).
 */
function samplePath(glob: string, root: string): string | undefined {
  if (!glob.startsWith("*/")) return undefined;
  const concrete = glob
    .slice(1)
    .replace(/\[!([^\]]*)\]/g, (_, listed: string) => (listed.includes("z") ? "y" : "z"))
    .replace(/\[([^\]])[^\]]*\]/g, "$1")
    .replace(/[*?]/g, "x");
  return `${root}${concrete}`;
}

/** Splits `cases` into batches in which no two cases share a user and a line. */
function batches(cases: readonly PackCase[]): PackCase[][] {
  const result: PackCase[][] = [];
  for (const testCase of cases) {
    const key = (c: PackCase) => `${c.user}\n${c.command}`;
    const fits = result.find(
      (batch) => batch.length < BATCH && !batch.some((other) => key(other) === key(testCase)),
    );
    if (fits) fits.push(testCase);
    else result.push([testCase]);
  }
  return result;
}

describe("the default signal pack through the bastion", () => {
  let bastion: TestBastion;
  let rules: Map<string, PackRule>;
  let cases: PackCase[];
  let work: string;
  const exercised = new Set<string>();
  const users = new Map<string, Promise<TestUser>>();

  before(async () => {
    bastion = await startTestBastion({ extraPolicy: EXTRA_POLICY });
    work = mkdtempSync(join(tmpdir(), "portcullis-signal-pack-"));
    const policies = join(bastion.dir, "policies");
    const pack = parse(readFileSync(join(policies, "signals.yaml"), "utf8")) as {
      signals: { rules: PackRule[] };
    };
    rules = new Map(pack.signals.rules.map((rule) => [rule.name, rule]));
    const tests = parse(readFileSync(join(policies, "signals.test.yaml"), "utf8")) as {
      tests: PackCase[];
    };
    cases = tests.tests.filter((testCase) => (testCase.signals ?? []).length > 0);
  });
  after(async () => {
    await bastion?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** One certificate per user of the cases (in the pack's group only). */
  const userFor = (user: string) => {
    let signed = users.get(user);
    if (signed === undefined) {
      signed = signUser(bastion, user, [GROUP]);
      users.set(user, signed);
    }
    return signed;
  };

  /** Asserts a policy signal event is the pack's rule as written. */
  const assertPackSignal = (event: AuditEvent, where: string) => {
    const rule = rules.get(String(event.rule));
    assert.ok(rule, `${where}: ${String(event.rule)} is a rule of the pack`);
    assert.equal(event.score, rule.score, `${where}: score of ${rule.name}`);
    assert.equal(event.action, rule.action, `${where}: action of ${rule.name}`);
    if (rule.reason !== undefined) assert.equal(event.reason, rule.reason, where);
  };

  const runCase = async (testCase: PackCase) => {
    const who = await userFor(testCase.user);
    const result = await execLine(bastion, who, testCase.command);
    const where = `case "${testCase.name}" (${testCase.command})`;
    assert.equal(result.code, 126, `${where}: the line was refused; ${result.stderr}`);
    const fired = signalsOf(bastion, result.session).filter((e) => e.source === "policy");
    assert.deepEqual(
      fired.map((e) => e.rule).sort(),
      [...new Set(testCase.signals)].sort(),
      `${where}: the signals fired`,
    );
    for (const event of fired) {
      assertPackSignal(event, where);
      assert.equal(typeof (event.evidence as AuditEvent).command, "string", where);
      exercised.add(String(event.rule));
    }
  };

  it("raises exactly the expected rules for every case of signals.test.yaml", async () => {
    assert.ok(cases.length > 0, "signals.test.yaml has cases expecting signals");
    for (const batch of batches(cases)) await Promise.all(batch.map(runCase));
    const decisions = bastion
      .auditEvents()
      .filter((e) => e.event === "command" && e.access === "signal-pack");
    assert.ok(
      decisions.every((e) => e.decision === "deny"),
      "nothing of the pack's cases ran on the target",
    );
  });

  it("raises the transfer rules on real sftp downloads, and not for a public key", async () => {
    const who = await signUser(bastion, "downloader@example.com", [GROUP]);
    const transferRules = [...rules.values()].filter((rule) => rule.paths !== undefined);
    assert.ok(transferRules.length > 0, "the pack has transfer rules");
    const root = join(work, "home");
    const expected: { rule: PackRule; path: string }[] = [];
    for (const rule of transferRules) {
      for (const glob of rule.paths ?? []) {
        const path = samplePath(glob, root);
        if (path === undefined || expected.some((e) => e.path === path)) continue;
        expected.push({ rule, path });
      }
    }
    const publicKey = join(root, ".ssh", "id_ed25519.pub");
    for (const path of [...expected.map((e) => e.path), publicKey]) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, "not a secret\n");
    }
    const local = join(work, "downloaded");
    mkdirSync(local);
    const gets = [...expected.map((e) => e.path), publicKey].map(
      (path, n) => `get ${path} ${join(local, String(n))}`,
    );
    const result = await sftpBatch(bastion, who, gets);
    assert.equal(result.code, 0, result.stderr);
    const transfer = await bastion.waitForAudit(
      (e) => e.event === "file.transfer" && e.user === who.user,
    );
    const session = String(transfer.session);
    await sessionEnd(bastion, session);
    const fired = signalsOf(bastion, session).filter((e) => e.source === "policy");
    assert.deepEqual(
      fired.map((e) => `${String(e.rule)} ${String((e.evidence as AuditEvent).path)}`).sort(),
      expected.map(({ rule, path }) => `${rule.name} ${path}`).sort(),
    );
    for (const event of fired) {
      assertPackSignal(event, `download of ${String((event.evidence as AuditEvent).path)}`);
      assert.equal((event.evidence as AuditEvent).direction, "download");
      exercised.add(String(event.rule));
    }
  });

  it("has exercised every rule of the pack", () => {
    const missing = [...rules.keys()].filter((name) => !exercised.has(name));
    assert.deepEqual(missing, [], "rules of signals.yaml no case or download exercised");
  });
});
