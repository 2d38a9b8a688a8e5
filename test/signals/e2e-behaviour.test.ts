// Behavioural signals end to end (docs/signals.md "Behavioural signals"):
// each user's synthetic history is written into the audit index before the
// bastion starts on it, then real sessions through the bastion to a real
// sshd raise each signal with the score the policy's `signals.behaviour`
// sets and a reason naming the evidence. Several lines of one session go
// over one multiplexed SSH connection. Commands that run are harmless
// (`true`, `uname`, `touch` in a private directory).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestBastion, type TestBastion } from "../harness/bastion.js";
import { sftpBatch } from "../sftp/helpers.js";
import {
  type AuditEvent,
  DAY,
  databaseAt,
  execLine,
  type MuxConnection,
  openMux,
  type PastSession,
  ruleScores,
  sessionEnd,
  signalsOf,
  signUser,
  type TestUser,
  writeHistory,
} from "./e2e-helpers.js";

const NOW = new Date();
const NOW_HOUR = NOW.getUTCHours();
/** Business hours: two hours at least three hours away from now (UTC), so now is off hours. */
const BUSINESS_START = NOW_HOUR >= 12 ? NOW_HOUR - 6 : NOW_HOUR + 3;
const hh = (hour: number) => `${String(hour).padStart(2, "0")}:00`;

const SCORES = {
  first_target: 21,
  first_label: 31,
  new_network: 22,
  off_hours: 16,
  unusual_hour: 17,
  denial_streak: 33,
  privileged_burst: 34,
  download_volume: 41,
  approval_fanout: 26,
  denial_override: 23,
};

/** Sessions come from 127.0.0.1: the "VPN pool" it is in spans 256 /24s. */
const VPN_POOL = "127.0.0.0/16";

const POLICY = `signals:
  business_hours: { hours: "${hh(BUSINESS_START)}-${hh(BUSINESS_START + 2)}", tz: UTC }
  behaviour:
    first_target: ${SCORES.first_target}
    first_label: ${SCORES.first_label}
    new_network: { score: ${SCORES.new_network}, networks: [${VPN_POOL}] }
    off_hours: ${SCORES.off_hours}
    unusual_hour: { score: ${SCORES.unusual_hour}, min_history: 10 }
    denial_streak: { count: 3, within: 2m, score: ${SCORES.denial_streak} }
    privileged_burst: { count: 3, within: 1m, min_risk: 30, score: ${SCORES.privileged_burst} }
    download_volume: { factor: 10, floor: 1KB, score: ${SCORES.download_volume} }
    approval_fanout: { count: 3, within: 15m, score: ${SCORES.approval_fanout} }
    denial_override: { within: 10m, score: ${SCORES.denial_override} }
rulesets:
  e2e-behave:
    default: deny
    rules:
      - allow: ["true", "echo"]
      - deny: "touch */locked*"
        reason: locked files
      - approve: "touch */held*"
        reason: held files
        approvers: { users: [approver@example.com] }
      - allow: "touch"
      - warn: "uname"
        reason: uname is watched
        risk: 40
access:
  - name: behave
    subjects: { groups: [behave] }
    targets: { names: [web1, db1] }
    commands: [e2e-behave]
    file_transfer: allow
`;

/** `count` past sessions of `user`, one a day from yesterday back, at `hour` UTC. */
function pastSessions(
  user: string,
  count: number,
  options: { target?: string; sourceIp?: (n: number) => string; hour?: number; bytesDown?: number },
): PastSession[] {
  return Array.from({ length: count }, (_, n) => {
    const day = new Date(NOW.getTime() - (n + 1) * DAY);
    day.setUTCHours(options.hour ?? NOW_HOUR, 5, 0, 0);
    return {
      user,
      target: options.target ?? "web1",
      sourceIp: options.sourceIp?.(n) ?? "127.0.0.1",
      startedAt: day,
      ...(options.bytesDown === undefined ? {} : { bytesDown: options.bytesDown }),
    };
  });
}

const HISTORY = [
  ...pastSessions("newcomer@example.com", 3, {}),
  ...pastSessions("roamer@example.com", 3, { sourceIp: (n) => `10.9.8.${n + 10}` }),
  ...pastSessions("vpn@example.com", 3, { sourceIp: (n) => `127.0.${n + 10}.9` }),
  ...pastSessions("owl@example.com", 10, { hour: (NOW_HOUR + 12) % 24 }),
  ...pastSessions("hoarder@example.com", 3, { bytesDown: 5000 }),
];

describe("behavioural signals through the bastion", () => {
  let bastion: TestBastion;
  let dataDir: string;
  let work: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "portcullis-signals-history-"));
    work = mkdtempSync(join(tmpdir(), "portcullis-signals-work-"));
    const database = join(dataDir, "portcullis.db");
    writeHistory(database, HISTORY);
    bastion = await startTestBastion({ extraPolicy: POLICY, configEdit: databaseAt(database) });
  });
  after(async () => {
    await bastion?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  const user = (name: string) => signUser(bastion, `${name}@example.com`, ["behave"]);

  /** Runs `true` as a whole session on `target`; its signals once it ended. */
  const startSignalsOf = async (who: TestUser, target = "web1") => {
    const { code, session } = await execLine(bastion, who, "true", target);
    assert.equal(code, 0);
    await sessionEnd(bastion, session);
    return signalsOf(bastion, session);
  };

  /** The one signal of `rule` among `signals`. */
  const only = (signals: AuditEvent[], rule: string): AuditEvent => {
    const found = signals.filter((e) => e.rule === rule);
    assert.equal(found.length, 1, `one ${rule} signal in ${JSON.stringify(signals)}`);
    return found[0] as AuditEvent;
  };

  /** Runs `lines` one after the other; each must exit with `code`. */
  const runLines = async (mux: MuxConnection, code: number, lines: readonly string[]) => {
    for (const line of lines) {
      const result = await mux.exec(line);
      assert.equal(result.code, code, `${line}: ${result.stderr}`);
    }
  };

  /**
   * Lines over one connection; the session's signals (a line's are audited
   * before its exec ends; a session whose lines were all denied never
   * reaches the target, so it has no start or end).
   */
  const muxSession = async (who: TestUser, body: (mux: MuxConnection) => Promise<void>) => {
    const mux = await openMux(bastion, who);
    try {
      await body(mux);
    } finally {
      await mux.close();
    }
    const first = bastion.auditEvents().find((e) => e.event === "command" && e.user === who.user);
    const session = String(first?.session);
    const lines = bastion.auditEvents().filter((e) => e.event === "command" && e.user === who.user);
    assert.ok(
      lines.every((e) => e.session === session),
      "every line went over the one connection",
    );
    return signalsOf(bastion, session);
  };

  it("first-target and first-label: a target and labels the user's history has not seen", async () => {
    const signals = await startSignalsOf(await user("newcomer"), "db1");
    const novelty = signals.filter((e) => e.rule !== "off-hours");
    assert.deepEqual(ruleScores(novelty, "behaviour"), [
      `first-label +${SCORES.first_label}`,
      `first-label +${SCORES.first_label}`,
      `first-target +${SCORES.first_target}`,
    ]);
    const target = only(signals, "first-target");
    assert.equal(
      target.reason,
      "newcomer@example.com has not accessed db1 in 30 days (3 sessions)",
    );
    assert.deepEqual(target.evidence, { target: "db1", sessions: 3, lookbackMs: 30 * DAY });
    const labels = signals.filter((e) => e.rule === "first-label");
    assert.deepEqual(labels.map((e) => (e.evidence as AuditEvent).label).sort(), [
      "env=prod",
      "team=data",
    ]);
    assert.match(
      String(labels[0]?.reason),
      /has not accessed a target labelled (env=prod|team=data) in 30 days/,
    );
  });

  it("new-network: a source network the user's history has not seen", async () => {
    const signals = await startSignalsOf(await user("roamer"));
    const novelty = signals.filter((e) => e.rule !== "off-hours");
    assert.deepEqual(ruleScores(novelty, "behaviour"), [`new-network +${SCORES.new_network}`]);
    const signal = only(signals, "new-network");
    assert.equal(
      signal.reason,
      `roamer@example.com connected from ${VPN_POOL}, a network not used in 30 days (3 sessions)`,
    );
    assert.equal((signal.evidence as AuditEvent).network, VPN_POOL);
  });

  it("new-network: not for another /24 of a VPN pool the user has used", async () => {
    const signals = await startSignalsOf(await user("vpn"));
    assert.deepEqual(ruleScores(signals, "behaviour"), [`off-hours +${SCORES.off_hours}`]);
  });

  it("unusual-hour: no session of the user started near this hour", async () => {
    const signals = await startSignalsOf(await user("owl"));
    const signal = only(signals, "unusual-hour");
    assert.equal(signal.score, SCORES.unusual_hour);
    const usual = hh((NOW_HOUR + 12) % 24);
    assert.match(
      String(signal.reason),
      new RegExp(
        `^owl@example\\.com started a session at \\d\\d:\\d\\d UTC; in 30 days their sessions started between ${usual} and ${usual.slice(0, 2)}:59$`,
      ),
    );
    assert.equal((signal.evidence as AuditEvent).sessions, 10);
    assert.equal(
      signals.some((e) => e.rule === "first-target" || e.rule === "new-network"),
      false,
    );
  });

  it("off-hours: a session outside signals.business_hours", async () => {
    const signals = await startSignalsOf(await user("nightshift"));
    const signal = only(signals, "off-hours");
    assert.equal(signal.score, SCORES.off_hours);
    assert.equal(signal.source, "behaviour");
    assert.match(
      String(signal.reason),
      new RegExp(
        `^nightshift@example\\.com started a session at \\d\\d:\\d\\d UTC, outside business hours \\(every day ${hh(BUSINESS_START)}-${hh(BUSINESS_START + 2)}\\)$`,
      ),
    );
    assert.equal((signal.evidence as AuditEvent).outside, "hours");
  });

  it("denial-streak: three denied lines within two minutes", async () => {
    const who = await user("streaker");
    const signals = await muxSession(who, async (mux) => {
      await runLines(
        mux,
        126,
        [1, 2, 3].map((n) => `touch ${join(work, `locked-${n}`)}`),
      );
    });
    const signal = only(signals, "denial-streak");
    assert.equal(signal.score, SCORES.denial_streak);
    assert.equal(signal.reason, "streaker@example.com had 3 lines denied within 2 minutes");
    assert.equal((signal.evidence as AuditEvent).line, `touch ${join(work, "locked-3")}`);
  });

  it("privileged-burst: three commands of risk 30 or more within a minute", async () => {
    const who = await user("burster");
    const signals = await muxSession(who, async (mux) => {
      await runLines(mux, 0, ["uname -s", "uname -r", "uname -m"]);
    });
    const signal = only(signals, "privileged-burst");
    assert.equal(signal.score, SCORES.privileged_burst);
    assert.equal(
      signal.reason,
      "burster@example.com ran 3 commands with risk 30 or more within 1 minute",
    );
    assert.equal((signal.evidence as AuditEvent).line, "uname -m");
  });

  it("approval-fanout: an approved line, then more lines running the same program", async () => {
    const who = await user("fanner");
    const held = `touch ${join(work, "held")}`;
    const signals = await muxSession(who, async (mux) => {
      const waiting = mux.spawnExec(held);
      let stderr = "";
      waiting.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk;
      });
      const exited = new Promise<number | null>((resolve) => waiting.on("close", resolve));
      const requested = await bastion.waitForAudit(
        (e) => e.event === "approval.requested" && e.user === who.user,
      );
      const approved = await bastion.cli([
        "approve",
        String(requested.id),
        "--as",
        "approver@example.com",
      ]);
      assert.equal(approved.code, 0, approved.stderr);
      assert.equal(await exited, 0, stderr);
      await runLines(
        mux,
        0,
        [1, 2, 3].map((n) => `touch ${join(work, `fanned-${n}`)}`),
      );
    });
    const signal = only(signals, "approval-fanout");
    assert.equal(signal.score, SCORES.approval_fanout);
    assert.equal(
      signal.reason,
      "fanner@example.com ran touch 3 more times within 15 minutes after requesting approval for it",
    );
    assert.equal((signal.evidence as AuditEvent).approvedLine, held);
  });

  it("denial-override: a denied program run again, allowed, soon after", async () => {
    const who = await user("overrider");
    const signals = await muxSession(who, async (mux) => {
      await runLines(mux, 126, [`touch ${join(work, "locked-x")}`]);
      await runLines(mux, 0, [`touch ${join(work, "unlocked-x")}`]);
    });
    const signal = only(signals, "denial-override");
    assert.equal(signal.score, SCORES.denial_override);
    assert.match(
      String(signal.reason),
      /^overrider@example\.com ran touch (\d+ ms|\d+ seconds?) after a line running it was denied, and this time it was allowed$/,
    );
    assert.equal((signal.evidence as AuditEvent).deniedLine, `touch ${join(work, "locked-x")}`);
  });

  it("download-volume: far more downloaded than the user's usual", async () => {
    const who = await user("hoarder");
    const file = join(work, "export.bin");
    writeFileSync(file, Buffer.alloc(200_000, 7));
    const result = await sftpBatch(bastion, who, [`get ${file} ${join(work, "export-copy.bin")}`]);
    assert.equal(result.code, 0, result.stderr);
    const transfer = await bastion.waitForAudit(
      (e) => e.event === "file.transfer" && e.user === who.user,
    );
    const session = String(transfer.session);
    await sessionEnd(bastion, session);
    const signal = only(signalsOf(bastion, session), "download-volume");
    assert.equal(signal.score, SCORES.download_volume);
    assert.deepEqual(signal.evidence, {
      bytes: 200_000,
      limit: 50_000,
      downloadP90: 5000,
      factor: 10,
      floor: 1000,
    });
    assert.equal(
      signal.reason,
      "hoarder@example.com downloaded 200,000 bytes in this session, above 50,000 bytes (10 × their 90th percentile of 5,000 bytes per session in 30 days, at least 1,000 bytes)",
    );
  });

  it("sessions of users without history raise no novelty signals", async () => {
    const who = await user("fresh");
    const { session } = await execLine(bastion, who, "echo fresh");
    await sessionEnd(bastion, session);
    assert.deepEqual(
      signalsOf(bastion, session).map((e) => e.rule),
      ["off-hours"],
    );
  });
});
