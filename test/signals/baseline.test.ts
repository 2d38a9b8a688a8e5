// Behavioural baselines from a synthetic history: targets and their current
// labels, IPv4 /24 and IPv6 /64 networks, start hours in a DST-observing zone
// or UTC, and the nearest-rank 90th percentile of downloads.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { localClock } from "../../src/policy/schedule.js";
import { networkOf, percentile } from "../../src/signals/baseline.js";
import { baselineOf, DAY, past } from "./fixtures.js";

describe("networkOf", () => {
  const cases: readonly (readonly [string, string | undefined])[] = [
    ["10.1.2.3", "10.1.2.0/24"],
    ["10.1.2.255", "10.1.2.0/24"],
    ["::ffff:10.1.2.3", "10.1.2.0/24"],
    ["::ffff:a01:203", "10.1.2.0/24"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:0DB8:0001:0002::abcd", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8::/64"],
    ["2001:db8:0:0:1::1", "2001:db8::/64"],
    ["::1", "::/64"],
    ["fe80::1%eth0", undefined],
    ["web1.internal", undefined],
    ["", undefined],
  ];
  for (const [ip, network] of cases) {
    test(`${ip || "(empty)"} → ${network}`, () => assert.equal(networkOf(ip), network));
  }
});

describe("percentile", () => {
  test("nearest rank: the smallest value at or above 90% of the values", () => {
    assert.equal(percentile([], 0.9), 0);
    assert.equal(percentile([5], 0.9), 5);
    assert.equal(percentile([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 0.9), 9);
    assert.equal(
      percentile(
        [...Array(11).keys()].map((i) => i + 1),
        0.9,
      ),
      10,
    );
    assert.equal(
      percentile(
        [...Array(20).keys()].map((i) => i + 1),
        0.9,
      ),
      18,
    );
    assert.equal(
      percentile(
        [...Array(70).keys()].map((i) => i + 1),
        0.9,
      ),
      63,
    );
  });
});

describe("buildBaseline", () => {
  const history = [
    past("2026-01-15T07:30:00Z", { bytesDown: 1000 }),
    past("2026-07-15T06:30:00Z", { target: "db1", sourceIp: "2001:db8:1:2::9", bytesDown: 5000 }),
    past("2026-07-16T12:00:00Z", { target: "retired", sourceIp: "10.1.2.99" }),
    past("2026-07-17T12:00:00Z", { target: undefined, sourceIp: undefined }),
  ];

  test("counts sessions and collects targets, their current labels and networks", () => {
    const baseline = baselineOf(history);
    assert.equal(baseline.sessions, 4);
    assert.deepEqual([...baseline.targets].sort(), ["db1", "retired", "web1"]);
    assert.deepEqual(
      [...baseline.labels].sort(),
      ["env=prod", "env=staging", "team=data", "team=web"],
      "a target gone from the policy has no labels",
    );
    assert.deepEqual([...baseline.networks].sort(), ["10.1.2.0/24", "2001:db8:1:2::/64"]);
    assert.equal(baseline.lookbackMs, 30 * DAY);
  });

  test("start hours in the zone: 08:30 in Berlin both in winter (CET) and summer (CEST)", () => {
    const hours = baselineOf(history.slice(0, 2), "Europe/Berlin").startHours;
    assert.equal(hours.length, 24);
    assert.equal(hours[8], 2);
    assert.equal(
      hours.reduce((a, b) => a + b, 0),
      2,
    );
  });

  test("start hours in UTC without a zone", () => {
    const hours = baselineOf(history.slice(0, 2)).startHours;
    assert.equal(hours[7], 1);
    assert.equal(hours[6], 1);
  });

  test("downloadP90 over sessions, 0 without history", () => {
    assert.equal(baselineOf(history).downloadP90, 5000);
    assert.equal(baselineOf([]).downloadP90, 0);
    assert.equal(baselineOf([]).sessions, 0);
  });
});

describe("localClock", () => {
  test("weekday, hour and minute in a zone, across a DST change", () => {
    assert.deepEqual(localClock(new Date("2026-03-28T23:30:00Z"), "Europe/Berlin"), {
      weekday: "Sun",
      hour: 0,
      minute: 30,
    });
    assert.deepEqual(localClock(new Date("2026-03-29T01:30:00Z"), "Europe/Berlin"), {
      weekday: "Sun",
      hour: 3,
      minute: 30,
    });
    assert.deepEqual(localClock(new Date("2026-03-29T01:30:00Z")), {
      weekday: "Sun",
      hour: 1,
      minute: 30,
    });
  });
});
