// Behavioural signals at session start, each firing and not firing at its
// edges: first target, first label, new network (IPv4, IPv6, a VPN pool and
// prefixes from the policy), min_history, off-hours against business hours,
// unusual hour in a DST-observing zone.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseCidr } from "../../src/policy/cidr.js";
import { parseHours, type Schedule } from "../../src/policy/schedule.js";
import type { BehaviourSettings, SessionFacts } from "../../src/policy/types.js";
import { startSignals, usualHours } from "../../src/signals/behaviour.js";
import type { Baseline } from "../../src/signals/types.js";
import { ALL_OFF, baselineOf, DEFAULTS, facts, past } from "./fixtures.js";

const BERLIN = "Europe/Berlin";
const BUSINESS_HOURS: Schedule = {
  days: ["mon", "tue", "wed", "thu", "fri"],
  hours: parseHours("08:00-18:00"),
  tz: BERLIN,
};
/** Monday 23 Nov 2026, 10:00 in Berlin (CET, UTC+1). */
const MONDAY_10_BERLIN = "2026-11-23T09:00:00Z";

/** Three sessions to web1 from 10.1.2.0/24 at 10:00 Berlin. */
const THREE = baselineOf(
  [
    past("2026-11-16T09:00:00Z"),
    past("2026-11-17T09:00:00Z"),
    past("2026-11-18T09:00:00Z", { sourceIp: "2001:db8:1:2::5" }),
  ],
  BERLIN,
);

function only(settings: Partial<BehaviourSettings>): BehaviourSettings {
  return { ...ALL_OFF, ...settings };
}

function signals(
  settings: BehaviourSettings,
  session: SessionFacts,
  baseline: Baseline = THREE,
  businessHours: Schedule | "none" = BUSINESS_HOURS,
) {
  return startSignals(
    settings,
    businessHours === "none" ? undefined : businessHours,
    session,
    baseline,
  );
}

function rules(hits: ReturnType<typeof signals>): string[] {
  return hits.map((hit) => hit.rule);
}

describe("first-target", () => {
  const settings = only({ first_target: DEFAULTS.first_target });

  test("fires for a target not used in the lookback", () => {
    assert.deepEqual(signals(settings, facts(MONDAY_10_BERLIN, { target: "db1" })), [
      {
        rule: "first-target",
        source: "behaviour",
        score: 20,
        reason: "alice@example.com has not accessed db1 in 30 days (3 sessions)",
        evidence: { target: "db1", sessions: 3, lookbackMs: 30 * 86_400_000 },
      },
    ]);
  });

  test("does not fire for a target used", () => {
    assert.deepEqual(signals(settings, facts(MONDAY_10_BERLIN)), []);
  });

  test("needs min_history sessions: fires at 3, not at 2", () => {
    const session = facts(MONDAY_10_BERLIN, { target: "db1" });
    const two = baselineOf([past("2026-11-16T09:00:00Z"), past("2026-11-17T09:00:00Z")]);
    assert.deepEqual(signals(settings, session, two), []);
    assert.deepEqual(rules(signals(settings, session, THREE)), ["first-target"]);
    assert.deepEqual(rules(signals({ ...settings, min_history: 0 }, session, baselineOf([]))), [
      "first-target",
    ]);
  });

  test("a score of 0 turns it off", () => {
    assert.deepEqual(signals(ALL_OFF, facts(MONDAY_10_BERLIN, { target: "db1" })), []);
  });
});

describe("first-label", () => {
  const settings = only({ first_label: DEFAULTS.first_label });

  test("one hit per label no used target had: web2 is env=prod (new), team=web (known)", () => {
    const hits = signals(settings, facts(MONDAY_10_BERLIN, { target: "web2" }));
    assert.deepEqual(hits, [
      {
        rule: "first-label",
        source: "behaviour",
        score: 30,
        reason:
          "alice@example.com has not accessed a target labelled env=prod in 30 days (3 sessions)",
        evidence: { label: "env=prod", target: "web2", sessions: 3, lookbackMs: 30 * 86_400_000 },
      },
    ]);
  });

  test("every new label fires: db1 is env=prod and team=data", () => {
    const hits = signals(settings, facts(MONDAY_10_BERLIN, { target: "db1" }));
    assert.deepEqual(
      hits.map((hit) => hit.evidence.label),
      ["env=prod", "team=data"],
    );
  });

  test("a label another used target had is not new", () => {
    const baseline = baselineOf([
      past("2026-11-16T09:00:00Z"),
      past("2026-11-17T09:00:00Z"),
      past("2026-11-18T09:00:00Z", { target: "db1" }),
    ]);
    assert.deepEqual(signals(settings, facts(MONDAY_10_BERLIN, { target: "web2" }), baseline), []);
  });

  test("needs min_history sessions", () => {
    const two = baselineOf([past("2026-11-16T09:00:00Z"), past("2026-11-17T09:00:00Z")]);
    assert.deepEqual(signals(settings, facts(MONDAY_10_BERLIN, { target: "db1" }), two), []);
  });
});

describe("new-network", () => {
  const settings = only({ new_network: DEFAULTS.new_network });
  const from = (sourceIp: string) => signals(settings, facts(MONDAY_10_BERLIN, { sourceIp }));

  test("fires for an IPv4 /24 not used", () => {
    assert.deepEqual(from("10.1.3.4"), [
      {
        rule: "new-network",
        source: "behaviour",
        score: 20,
        reason:
          "alice@example.com connected from 10.1.3.0/24, a network not used in 30 days (3 sessions)",
        evidence: {
          sourceIp: "10.1.3.4",
          network: "10.1.3.0/24",
          sessions: 3,
          lookbackMs: 30 * 86_400_000,
        },
      },
    ]);
  });

  test("another address of a known /24 or /64 is not new", () => {
    assert.deepEqual(from("10.1.2.250"), []);
    assert.deepEqual(from("::ffff:10.1.2.250"), []);
    assert.deepEqual(from("2001:db8:1:2:ffff::1"), []);
  });

  test("fires for an IPv6 /64 not used", () => {
    assert.deepEqual(
      from("2001:db8:1:3::1").map((hit) => hit.evidence.network),
      ["2001:db8:1:3::/64"],
    );
  });

  test("a source that is not an address raises nothing", () => {
    assert.deepEqual(from("unknown"), []);
  });

  test("needs min_history sessions", () => {
    const two = baselineOf([past("2026-11-16T09:00:00Z"), past("2026-11-17T09:00:00Z")]);
    assert.deepEqual(
      signals(settings, facts(MONDAY_10_BERLIN, { sourceIp: "192.0.2.1" }), two),
      [],
    );
  });
});

describe("new-network, grouped as the policy says", () => {
  /** A VPN pool spanning many /24s, with an admin /24 of its own; other IPv4 addresses by /16. */
  const grouping = {
    ...DEFAULTS.new_network,
    networks: [parseCidr("10.8.0.0/16"), parseCidr("10.8.250.0/24")],
    ipv4_prefix: 16,
  };
  const settings = only({ new_network: grouping });
  /** Three sessions over the VPN, each given an address in another /24 of the pool. */
  const vpnUser = baselineOf(
    ["10.8.1.5", "10.8.2.6", "10.8.3.7"].map((sourceIp, day) =>
      past(`2026-11-1${6 + day}T09:00:00Z`, { sourceIp }),
    ),
    BERLIN,
    grouping,
  );
  const officeUser = baselineOf(
    [past("2026-11-16T09:00:00Z"), past("2026-11-17T09:00:00Z"), past("2026-11-18T09:00:00Z")],
    BERLIN,
    grouping,
  );
  const from = (sourceIp: string, baseline: Baseline) =>
    signals(settings, facts(MONDAY_10_BERLIN, { sourceIp }), baseline);

  test("another /24 of a VPN pool the user has used is not new", () => {
    assert.deepEqual(from("10.8.77.1", vpnUser), []);
    assert.deepEqual(from("::ffff:10.8.200.9", vpnUser), []);
  });

  test("the first connection over the VPN at all fires, naming the pool", () => {
    assert.deepEqual(from("10.8.77.1", officeUser), [
      {
        rule: "new-network",
        source: "behaviour",
        score: 20,
        reason:
          "alice@example.com connected from 10.8.0.0/16, a network not used in 30 days (3 sessions)",
        evidence: {
          sourceIp: "10.8.77.1",
          network: "10.8.0.0/16",
          sessions: 3,
          lookbackMs: 30 * 86_400_000,
        },
      },
    ]);
  });

  test("a listed network inside another is a network of its own", () => {
    assert.deepEqual(
      from("10.8.250.3", vpnUser).map((hit) => hit.evidence.network),
      ["10.8.250.0/24"],
    );
  });

  test("other addresses are grouped by the prefix", () => {
    assert.deepEqual(from("10.1.99.1", officeUser), [], "10.1.2.x and 10.1.99.x share a /16");
    assert.deepEqual(
      from("10.2.0.1", officeUser).map((hit) => hit.evidence.network),
      ["10.2.0.0/16"],
    );
  });
});

describe("off-hours", () => {
  const settings = only({ off_hours: DEFAULTS.off_hours });
  const at = (time: string) => rules(signals(settings, facts(time)));

  test("inside business hours: from 08:00 up to 17:59 Berlin on a weekday", () => {
    assert.deepEqual(at("2026-11-23T07:00:00Z"), [], "08:00");
    assert.deepEqual(at("2026-11-23T16:59:59Z"), [], "17:59:59");
  });

  test("fires just outside the hours, DST-aware", () => {
    assert.deepEqual(at("2026-11-23T06:59:00Z"), ["off-hours"], "07:59 CET");
    assert.deepEqual(at("2026-11-23T17:00:00Z"), ["off-hours"], "18:00 CET: the end is exclusive");
    assert.deepEqual(at("2026-07-20T06:00:00Z"), [], "08:00 CEST");
    assert.deepEqual(at("2026-07-20T05:59:00Z"), ["off-hours"], "07:59 CEST");
  });

  test("the reason names the local time, the zone and the business hours", () => {
    assert.deepEqual(signals(settings, facts("2026-11-23T21:15:00Z")), [
      {
        rule: "off-hours",
        source: "behaviour",
        score: 15,
        reason:
          "alice@example.com started a session at 22:15 Europe/Berlin, outside business hours (mon,tue,wed,thu,fri 08:00-18:00)",
        evidence: { localTime: "22:15", weekday: "Mon", timeZone: BERLIN, outside: "hours" },
      },
    ]);
  });

  test("a weekend day is outside, and the reason says which day", () => {
    const [hit] = signals(settings, facts("2026-11-28T09:00:00Z"));
    assert.equal(
      hit?.reason,
      "alice@example.com started a session at 10:00 Europe/Berlin on Sat, outside business hours (mon,tue,wed,thu,fri 08:00-18:00)",
    );
    assert.equal(hit?.evidence.outside, "days");
  });

  test("never without business hours, and needs no history", () => {
    const night = facts("2026-11-23T01:00:00Z");
    assert.deepEqual(signals(settings, night, THREE, "none"), []);
    assert.deepEqual(rules(signals(settings, night, baselineOf([]))), ["off-hours"]);
  });
});

describe("unusual-hour", () => {
  const settings = only({ unusual_hour: DEFAULTS.unusual_hour });
  /** Ten sessions starting between 09:00 and 17:59 Berlin, in summer (CEST). */
  const days = ["01", "02", "03", "06", "07", "08", "09", "10", "13", "14"];
  const utcHours = ["07", "08", "09", "10", "11", "12", "13", "14", "15", "15"];
  const summer = days.map((day, i) => past(`2026-07-${day}T${utcHours[i]}:30:00Z`));
  const berlin = baselineOf(summer, BERLIN);

  test("fires when no session started within an hour of this one's hour", () => {
    assert.deepEqual(signals(settings, facts("2026-11-23T02:12:00Z"), berlin), [
      {
        rule: "unusual-hour",
        source: "behaviour",
        score: 15,
        reason:
          "alice@example.com started a session at 03:12 Europe/Berlin; in 30 days their sessions started between 09:00 and 17:59",
        evidence: {
          localTime: "03:12",
          timeZone: BERLIN,
          usualHours: "09:00-17:59",
          sessions: 10,
          lookbackMs: 30 * 86_400_000,
        },
      },
    ]);
  });

  test("edges: 08:xx and 18:xx are within an hour of the usual, 07:59 and 19:00 are not", () => {
    const at = (time: string) => rules(signals(settings, facts(time), berlin));
    assert.deepEqual(at("2026-11-23T07:00:00Z"), [], "08:00 CET");
    assert.deepEqual(at("2026-11-23T17:59:00Z"), [], "18:59 CET");
    assert.deepEqual(at("2026-11-23T06:59:00Z"), ["unusual-hour"], "07:59 CET");
    assert.deepEqual(at("2026-11-23T18:00:00Z"), ["unusual-hour"], "19:00 CET");
  });

  test("hours are local: the history's 09:00-17:59 CEST is the winter session's 09:00-17:59 CET", () => {
    // With a fixed UTC+1 the summer history would be 08:00-16:59 and 07:59 CET would not fire.
    assert.deepEqual(rules(signals(settings, facts("2026-11-23T06:59:00Z"), berlin)), [
      "unusual-hour",
    ]);
  });

  test("hours are counted in business_hours' zone, or UTC without one", () => {
    const afterMidnight = days.map((day) => past(`2026-07-${day}T22:30:00Z`));
    const session = facts("2026-11-23T00:30:00Z");
    assert.deepEqual(
      signals(settings, session, baselineOf(afterMidnight, BERLIN)),
      [],
      "00:30 CEST and 01:30 CET",
    );
    const [hit] = signals(settings, session, baselineOf(afterMidnight), "none");
    assert.equal(
      hit?.reason,
      "alice@example.com started a session at 00:30 UTC; in 30 days their sessions started between 22:00 and 22:59",
    );
  });

  test("needs unusual_hour.min_history sessions: 10 fire, 9 do not", () => {
    const night = facts("2026-11-23T02:12:00Z");
    assert.deepEqual(signals(settings, night, baselineOf(summer.slice(1), BERLIN)), []);
    assert.deepEqual(rules(signals(settings, night, berlin)), ["unusual-hour"]);
  });

  test("never without any history, whatever min_history says", () => {
    const zero = only({ unusual_hour: { score: 15, min_history: 0 } });
    assert.deepEqual(signals(zero, facts("2026-11-23T02:12:00Z"), baselineOf([])), []);
  });
});

describe("usualHours", () => {
  const hours = (...starts: number[]) => {
    const counts = new Array<number>(24).fill(0);
    for (const hour of starts) counts[hour] = (counts[hour] ?? 0) + 1;
    return usualHours(counts);
  };

  test("the shortest stretch of the day holding every start, wrapping past midnight", () => {
    assert.equal(hours(9, 12, 17), "09:00-17:59");
    assert.equal(hours(5), "05:00-05:59");
    assert.equal(hours(22, 23, 0, 1), "22:00-01:59");
    assert.equal(hours(...Array(24).keys()), "00:00-23:59");
  });
});

describe("startSignals", () => {
  test("everything new at once, in order", () => {
    const session = facts("2026-11-28T02:00:00Z", { target: "db1", sourceIp: "192.0.2.1" });
    assert.deepEqual(
      rules(signals({ ...DEFAULTS, unusual_hour: { score: 15, min_history: 3 } }, session)),
      ["first-target", "first-label", "first-label", "new-network", "off-hours", "unusual-hour"],
    );
  });
});
