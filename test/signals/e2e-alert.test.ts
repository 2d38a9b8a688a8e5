// Session risk scores and alerts end to end (docs/signals.md "Scoring",
// "Alerts"): signals raised in one session through a real bastion add up
// with the documented decay (score(t) = Σ sᵢ · 2^(−(t − tᵢ) / half_life)),
// the index shows the session's score (`recordings list --min-risk`,
// `signals --session … --json`), and a real local HTTP receiver gets exactly
// one `signal.alert` POST, with the summary and the session's link, when the
// score crosses `signals.threshold`. Benign sessions (read-only commands, a
// normal sftp put and get) raise no signal and no alert, with the default
// pack loaded.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startTestBastion, type TestBastion } from "../harness/bastion.js";
import { eventually } from "../harness/eventually.js";
import { receiver } from "../harness/webhook-receiver.js";
import { sftpBatch } from "../sftp/helpers.js";
import {
  type AuditEvent,
  execLine,
  openMux,
  sessionEnd,
  sessionOfLine,
  signalsOf,
  signUser,
} from "./e2e-helpers.js";

const HALF_LIFE_MS = 20_000;
const THRESHOLD = 100;
const PUBLIC_URL = "https://bastion.example.test";

const EXTRA_POLICY = `signals:
  rules:
    - name: e2e-watched
      commands: ["echo watched-a", "echo watched-pair"]
      score: 40
      reason: a watched marker
    - name: e2e-paired
      commands: "echo watched-pair"
      score: 20
      reason: the paired marker
    - name: e2e-severe
      commands: "echo severe"
      score: 70
      reason: the severe marker
rulesets:
  read-only:
    default: deny
    rules:
      - allow: ["echo", "ls", "df", "ps", "cat /etc/hostname", "systemctl status", "uptime", "id", "free", "uname", "hostname", "date"]
access:
  - name: scored
    subjects: { groups: [scored] }
    targets: { names: [web1] }
    commands: [read-only]
    file_transfer: allow
`;

/** Read-only lines an operator types every day. */
const BENIGN_LINES = [
  "ls -la /tmp",
  "df -h",
  "ps aux",
  "cat /etc/hostname",
  "systemctl status ssh",
  "uptime",
  "id",
  "free -m",
  "uname -a",
  "hostname",
  "date",
  "echo deploy done",
];

/** The sum of scores with the documented decay, as of `at` (ms). */
function decayedSum(signals: readonly AuditEvent[], at: number): number {
  return signals.reduce((sum, e) => {
    const age = at - Date.parse(String(e.time));
    return sum + Number(e.score) * 2 ** (-age / HALF_LIFE_MS);
  }, 0);
}

const hook = await receiver();

describe("session risk scores and alerts through the bastion", () => {
  let bastion: TestBastion;
  let work: string;
  let risky: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "portcullis-signal-alerts-"));
    bastion = await startTestBastion({
      extraPolicy: EXTRA_POLICY,
      configEdit: (yaml) =>
        `${yaml}signals:\n  threshold: ${THRESHOLD}\n  half_life: ${HALF_LIFE_MS / 1000}s\n  webhook: "${hook.url}"\nhttp:\n  public_url: ${PUBLIC_URL}\n`,
    });
  });
  after(async () => {
    await bastion?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("adds signals with decay and alerts once when the score crosses the threshold", async () => {
    const who = await signUser(bastion, "risky@example.com", ["scored"]);
    const mux = await openMux(bastion, who);
    try {
      assert.equal((await mux.exec("echo watched-a")).code, 0);
      await sleep(1500);
      assert.equal((await mux.exec("echo watched-pair")).code, 0);
      assert.equal((await mux.exec("echo severe")).code, 0);
      assert.equal((await mux.exec("echo watched-a")).code, 0);
    } finally {
      await mux.close();
    }
    risky = await sessionOfLine(bastion, who.user, "echo severe");
    await sessionEnd(bastion, risky);
    const signals = signalsOf(bastion, risky);
    assert.deepEqual(
      signals.map((e) => `${String(e.rule)} +${String(e.score)}`),
      ["e2e-watched +40", "e2e-watched +40", "e2e-paired +20", "e2e-severe +70", "e2e-watched +40"],
    );
    signals.forEach((signal, n) => {
      const expected = decayedSum(signals.slice(0, n + 1), Date.parse(String(signal.time)));
      assert.ok(
        Math.abs(Number(signal.session_score) - expected) <= 0.3,
        `signal ${n}: session_score ${String(signal.session_score)}, decayed sum ${expected}`,
      );
    });
    const [, pairFirst, pairSecond] = signals;
    const apart = Date.parse(String(pairSecond?.time)) - Date.parse(String(pairFirst?.time));
    assert.ok(apart >= 0 && apart <= 20, "one line raises its signals together");
    assert.ok(Number(pairFirst?.session_score) < 80, "the first signal decayed by then");
    assert.ok(Number(signals[2]?.session_score) < THRESHOLD);
    assert.ok(Number(signals[3]?.session_score) >= THRESHOLD);

    const alerts = bastion.auditEvents().filter((e) => e.event === "signal.alert");
    assert.equal(alerts.length, 1, "one alert audited");
    assert.equal(alerts[0]?.session, risky);
    assert.equal(alerts[0]?.score, signals[3]?.session_score);
    assert.equal(alerts[0]?.threshold, THRESHOLD);
    assert.equal(alerts[0]?.signals, 4);

    await hook.count(1);
    await sleep(1000); // a second delivery would have come by now
    assert.equal(hook.deliveries.length, 1, "exactly one alert POST");
    const delivery = hook.deliveries[0];
    assert.equal(delivery?.headers["x-portcullis-event"], "signal.alert");
    assert.equal(delivery?.headers["user-agent"], "portcullis-signals");
    const body = JSON.parse(String(delivery?.body)) as {
      text: string;
      event: string;
      alert: Record<string, unknown>;
    };
    const url = `${PUBLIC_URL}/sessions/${risky}`;
    assert.equal(body.event, "signal.alert");
    assert.equal(
      body.text,
      `:rotating_light: Session ${risky} of risky@example.com on ${bastion.sshd.login}@web1 reached risk ${Math.round(Number(alerts[0]?.score))} (threshold ${THRESHOLD}): e2e-severe (+70), e2e-watched (+40), e2e-watched (+40). ${url}`,
    );
    assert.deepEqual(
      { ...body.alert, time: undefined },
      {
        session: risky,
        user: "risky@example.com",
        target: "web1",
        login: bastion.sshd.login,
        source_ip: "127.0.0.1",
        score: alerts[0]?.score,
        threshold: THRESHOLD,
        time: undefined,
        signals: signals.slice(0, 4).map(({ rule, score, reason }) => ({ rule, score, reason })),
        url,
      },
    );
  });

  it("shows the session's risk score in the index through the CLI", async () => {
    const peak = Math.max(...signalsOf(bastion, risky).map((e) => Number(e.session_score)));
    await eventually(async () => {
      const listed = await bastion.cli(["recordings", "list", "--min-risk", String(THRESHOLD)]);
      assert.equal(listed.code, 0, listed.stderr);
      const lines = listed.stdout.trim().split("\n");
      assert.equal(lines.length, 1, listed.stdout);
      assert.ok(lines[0]?.startsWith(`${risky}  `), listed.stdout);
      assert.ok(lines[0]?.includes(`  score=${peak}  `), `peak ${peak}: ${listed.stdout}`);
    });
    const above = await bastion.cli([
      "recordings",
      "list",
      "--min-risk",
      String(Math.ceil(peak) + 1),
    ]);
    assert.equal(above.stdout, "", "a session below the minimum is left out");

    const shown = await bastion.cli(["signals", "--session", risky, "--json"]);
    assert.equal(shown.code, 0, shown.stderr);
    const rows = JSON.parse(shown.stdout) as Record<string, unknown>[];
    const audited = signalsOf(bastion, risky).reverse();
    assert.deepEqual(
      rows.map((row) => [row.rule, row.source, row.score, row.session_score, row.session]),
      audited.map((e) => [e.rule, "policy", e.score, e.session_score, risky]),
    );
  });

  it("raises no signal and no alert for benign sessions", async () => {
    const who = await signUser(bastion, "benign@example.com", ["scored"]);
    const sessions = await Promise.all(
      BENIGN_LINES.map(async (line) => {
        const result = await execLine(bastion, who, line);
        assert.notEqual(result.code, 126, `${line} was allowed: ${result.stderr}`);
        assert.doesNotMatch(result.stderr, /portcullis:/, line);
        return result.session;
      }),
    );
    const remote = join(work, "remote");
    mkdirSync(remote);
    writeFileSync(join(work, "report.csv"), "day,count\nmon,3\n");
    const transfer = await sftpBatch(bastion, who, [
      `put ${join(work, "report.csv")} ${remote}/report.csv`,
      `get ${remote}/report.csv ${join(work, "report-back.csv")}`,
    ]);
    assert.equal(transfer.code, 0, transfer.stderr);
    assert.equal(readFileSync(join(work, "report-back.csv"), "utf8"), "day,count\nmon,3\n");
    const sftp = await bastion.waitForAudit(
      (e) => e.event === "file.transfer" && e.user === who.user && e.direction === "download",
    );
    sessions.push(String(sftp.session));
    for (const session of sessions) await sessionEnd(bastion, session);
    const raised = sessions.flatMap((session) => signalsOf(bastion, session));
    assert.deepEqual(raised, [], "benign sessions raised signals");
    const alerted = bastion
      .auditEvents()
      .filter((e) => e.event === "signal.alert" && sessions.includes(String(e.session)));
    assert.deepEqual(alerted, []);
    assert.equal(hook.deliveries.length, 1, "no alert beyond the risky session's");
  });
});
