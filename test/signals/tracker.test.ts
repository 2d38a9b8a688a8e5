// Behavioural signals while a session runs, fed lines decided by the real
// extractor and matcher: denial streaks, privileged bursts, approval fan-out,
// denials overridden, download volume. Each fires at count and not at
// count−1, counts events exactly `within` ago, fires once and re-arms.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BehaviourSettings } from "../../src/policy/types.js";
import { BehaviourTracker } from "../../src/signals/behaviour.js";
import type { Baseline } from "../../src/signals/types.js";
import { ALL_OFF, baselineOf, DEFAULTS, decided, MINUTE, past, USER } from "./fixtures.js";

const SECOND = 1000;

/** A tracker with only the given signals on; `run` feeds it lines and returns the names fired. */
function session(settings: Partial<BehaviourSettings>, baseline: Baseline = baselineOf([])) {
  const tracker = new BehaviourTracker({ ...ALL_OFF, ...settings }, baseline, USER);
  return {
    tracker,
    hits: (atMs: number, line: string, kept = line) => tracker.line(atMs, decided(line), kept),
    run: (atMs: number, line: string) =>
      tracker.line(atMs, decided(line), line).map((hit) => hit.rule),
  };
}

describe("denial-streak (3 within 2 minutes)", () => {
  const streak = { denial_streak: DEFAULTS.denial_streak };

  test("fires on the third denial, the first exactly 2 minutes earlier", () => {
    const { run, hits } = session(streak);
    assert.deepEqual(run(0, "cat /etc/shadow"), []);
    assert.deepEqual(run(30 * SECOND, "ls"), [], "allowed lines neither count nor break it");
    assert.deepEqual(run(MINUTE, "shutdown -h now"), []);
    assert.deepEqual(hits(2 * MINUTE, "cat /etc/shadow", "cat /etc/sh****"), [
      {
        rule: "denial-streak",
        source: "behaviour",
        score: 30,
        reason: "alice@example.com had 3 lines denied within 2 minutes",
        evidence: { line: "cat /etc/sh****", denials: 3, count: 3, withinMs: 2 * MINUTE },
      },
    ]);
  });

  test("does not fire when the first denial left the window", () => {
    const { run } = session(streak);
    run(0, "cat /etc/shadow");
    run(MINUTE, "cat /etc/shadow");
    assert.deepEqual(run(2 * MINUTE + 1, "cat /etc/shadow"), []);
    assert.deepEqual(run(2 * MINUTE + 2, "cat /etc/shadow"), ["denial-streak"]);
  });

  test("fires once per streak; re-arms after a whole window without denials", () => {
    const { run } = session(streak);
    for (const at of [0, 10, 20]) run(at * SECOND, "shutdown");
    assert.deepEqual(run(90 * SECOND, "shutdown"), [], "the streak goes on");
    assert.deepEqual(run(200 * SECOND, "shutdown"), [], "90 s earlier: still the same streak");
    const later = 200 * SECOND + 2 * MINUTE + 1;
    assert.deepEqual(run(later, "shutdown"), []);
    assert.deepEqual(run(later + 1, "shutdown"), []);
    assert.deepEqual(run(later + 2, "shutdown"), ["denial-streak"]);
  });
});

describe("privileged-burst (5 commands of risk ≥ 30 within 1 minute)", () => {
  const burst = { privileged_burst: DEFAULTS.privileged_burst };

  test("fires on the fifth risky command, not the fourth", () => {
    const { run, hits } = session(burst);
    for (let i = 0; i < 4; i++) assert.deepEqual(run(i * 15 * SECOND, "journalctl -u ssh"), []);
    assert.deepEqual(run(MINUTE, "cat /var/log/syslog ; id"), [], "risk 10 and 0 do not count");
    assert.deepEqual(hits(MINUTE, "journalctl -k"), [
      {
        rule: "privileged-burst",
        source: "behaviour",
        score: 30,
        reason: "alice@example.com ran 5 commands with risk 30 or more within 1 minute",
        evidence: { line: "journalctl -k", commands: 5, count: 5, minRisk: 30, withinMs: MINUTE },
      },
    ]);
    assert.deepEqual(run(MINUTE + 1, "journalctl -k"), [], "once per burst");
  });

  test("counts commands, not lines; a denied line ran none of them", () => {
    const { run } = session(burst);
    assert.deepEqual(run(0, "journalctl -f; journalctl -k"), []);
    assert.deepEqual(run(SECOND, "cat /etc/shadow ; shutdown"), [], "denied");
    assert.deepEqual(run(2 * SECOND, "journalctl"), []);
    assert.deepEqual(run(3 * SECOND, "journalctl; journalctl -k"), ["privileged-burst"]);
  });

  test("not when the first command is more than a minute old", () => {
    const { run } = session(burst);
    for (let i = 0; i < 4; i++) run(i * 20 * SECOND, "journalctl");
    assert.deepEqual(run(MINUTE + 1, "journalctl"), []);
  });
});

describe("approval-fanout (5 lines of the approved program within 15 minutes)", () => {
  const fanout = { approval_fanout: DEFAULTS.approval_fanout };

  test("fires on the fifth line after the request, the last exactly 15 minutes later", () => {
    const { run, hits } = session(fanout);
    assert.deepEqual(run(-MINUTE, "systemctl status nginx"), [], "before the request");
    assert.deepEqual(run(0, "sudo systemctl restart nginx"), []);
    for (let i = 1; i <= 4; i++) assert.deepEqual(run(i * MINUTE, "systemctl status nginx"), []);
    assert.deepEqual(run(14 * MINUTE, "journalctl -u nginx"), [], "another program");
    assert.deepEqual(hits(15 * MINUTE, "sudo /usr/bin/systemctl stop nginx"), [
      {
        rule: "approval-fanout",
        source: "behaviour",
        score: 25,
        reason:
          "alice@example.com ran systemctl 5 more times within 15 minutes after requesting approval for it",
        evidence: {
          program: "systemctl",
          approvedLine: "sudo systemctl restart nginx",
          line: "sudo /usr/bin/systemctl stop nginx",
          count: 5,
          withinMs: 15 * MINUTE,
        },
      },
    ]);
    assert.deepEqual(run(15 * MINUTE, "systemctl status nginx"), [], "once per request");
  });

  test("not when the fifth line comes after the window", () => {
    const { run } = session(fanout);
    run(0, "systemctl restart nginx");
    for (let i = 1; i <= 4; i++) run(i * MINUTE, "systemctl status nginx");
    assert.deepEqual(run(15 * MINUTE + 1, "systemctl status nginx"), []);
  });

  test("wrappers are not the program: `sudo ls` does not follow `sudo systemctl restart`", () => {
    const { run } = session(fanout);
    run(0, "sudo systemctl restart nginx");
    for (let i = 1; i <= 5; i++) assert.deepEqual(run(i * MINUTE, "sudo ls /srv"), []);
  });

  test("a new request after the window watches again", () => {
    const { run } = session(fanout);
    run(0, "systemctl restart nginx");
    for (let i = 1; i <= 5; i++) run(i * MINUTE, "systemctl status nginx");
    assert.deepEqual(run(20 * MINUTE, "systemctl restart nginx"), []);
    for (let i = 1; i <= 4; i++) run(20 * MINUTE + i, "systemctl status nginx");
    assert.deepEqual(run(21 * MINUTE, "systemctl status nginx"), ["approval-fanout"]);
  });
});

describe("denial-override (a denied program run again within 10 minutes)", () => {
  const override = { denial_override: DEFAULTS.denial_override };

  test("fires when the program runs again allowed, exactly 10 minutes later", () => {
    const { run, hits } = session(override);
    run(0, "sudo cat /etc/shadow");
    assert.deepEqual(run(MINUTE, "sudo ls"), [], "another program; sudo is a wrapper");
    assert.deepEqual(hits(10 * MINUTE, "cat /etc/hosts"), [
      {
        rule: "denial-override",
        source: "behaviour",
        score: 20,
        reason:
          "alice@example.com ran cat 10 minutes after a line running it was denied, and this time it was allowed",
        evidence: {
          program: "cat",
          deniedLine: "sudo cat /etc/shadow",
          line: "cat /etc/hosts",
          decision: "allow",
          afterMs: 10 * MINUTE,
          withinMs: 10 * MINUTE,
        },
      },
    ]);
    assert.deepEqual(run(11 * MINUTE, "cat /etc/hosts"), [], "once per denial");
  });

  test("warned and approval-requested lines override too", () => {
    const warned = session(override);
    warned.run(0, "cat /etc/shadow");
    const [hit] = warned.hits(MINUTE, "cat /var/log/auth.log");
    assert.equal(hit?.evidence.decision, "warn");
    assert.match(hit?.reason ?? "", /this time it was allowed with a warning$/);

    const approved = session(override);
    approved.run(0, "systemctl stop auditd");
    const [request] = approved.hits(MINUTE, "systemctl restart auditd");
    assert.equal(request?.evidence.decision, "approve");
    assert.match(request?.reason ?? "", /this time it was sent for approval$/);
  });

  test("only the denied commands' programs are marked", () => {
    const { run } = session(override);
    run(0, "journalctl -u auditd ; shutdown");
    assert.deepEqual(run(MINUTE, "journalctl -k"), [], "journalctl was not denied");
    assert.deepEqual(run(2 * MINUTE, "shutdown -c"), [], "denied again: no override");
  });

  test("not after the window, nor when the line is denied again", () => {
    const { run } = session(override);
    run(0, "cat /etc/shadow");
    assert.deepEqual(run(10 * MINUTE + 1, "cat /etc/hosts"), []);
    run(20 * MINUTE, "cat /etc/shadow");
    assert.deepEqual(run(21 * MINUTE, "cat /etc/shadow"), []);
    assert.deepEqual(run(22 * MINUTE, "cat notes.txt"), ["denial-override"]);
  });
});

describe("download-volume (above max(100 MB, 10 × the 90th percentile))", () => {
  const volume = { download_volume: DEFAULTS.download_volume };
  const heavy = baselineOf([
    past("2026-11-16T09:00:00Z", { bytesDown: 20e6 }),
    past("2026-11-17T09:00:00Z", { bytesDown: 1e6 }),
  ]);

  test("fires once when the session's total exceeds 10 × the user's p90", () => {
    const { tracker } = session(volume, heavy);
    assert.deepEqual(tracker.transfer(200e6), [], "equal is not above");
    assert.deepEqual(tracker.transfer(200e6 + 1), [
      {
        rule: "download-volume",
        source: "behaviour",
        score: 40,
        reason:
          "alice@example.com downloaded 200,000,001 bytes in this session, above 200,000,000 bytes (10 × their 90th percentile of 20,000,000 bytes per session in 30 days, at least 100,000,000 bytes)",
        evidence: {
          bytes: 200e6 + 1,
          limit: 200e6,
          downloadP90: 20e6,
          factor: 10,
          floor: 100e6,
        },
      },
    ]);
    assert.deepEqual(tracker.transfer(900e6), [], "once per session");
  });

  test("the floor holds without history or with a small one", () => {
    for (const baseline of [
      baselineOf([]),
      baselineOf([past("2026-11-16T09:00:00Z", { bytesDown: 1e6 })]),
    ]) {
      const { tracker } = session(volume, baseline);
      assert.deepEqual(tracker.transfer(100e6), []);
      assert.deepEqual(
        tracker.transfer(100e6 + 1).map((hit) => hit.evidence.limit),
        [100e6],
      );
    }
  });
});

describe("a score of 0 turns a signal off", () => {
  test("nothing fires with every score 0", () => {
    const { tracker, run } = session({});
    const lines = [
      "systemctl restart nginx",
      ...Array(6).fill("cat /etc/shadow"),
      ...Array(6).fill("journalctl"),
      ...Array(6).fill("systemctl status nginx"),
      "cat /etc/hosts",
    ];
    assert.deepEqual(
      lines.flatMap((line, i) => run(i, line)),
      [],
    );
    assert.deepEqual(tracker.transfer(1e12), []);
  });
});
