// Behavioural baselines from a synthetic history: targets and their current
// labels, networks (IPv4 /24 and IPv6 /64 by default, or as `new_network`
// groups them: listed networks, most specific first, and other prefixes),
// start hours in a DST-observing zone or UTC, and the nearest-rank 90th
// percentile of downloads.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseCidr } from "../../src/policy/cidr.js";
import { localClock } from "../../src/policy/schedule.js";
import { type NetworkGrouping, networkOf, percentile } from "../../src/signals/baseline.js";
import { baselineOf, DAY, DEFAULTS, past } from "./fixtures.js";

/** A VPN pool with a /24 of its own, an office range, one written with host bits; other addresses by /20 and /56. */
const GROUPED: NetworkGrouping = {
  networks: ["10.8.0.0/16", "10.8.5.0/24", "192.0.2.0/24", "2001:db8::/48", "10.9.1.0/16"].map(
    parseCidr,
  ),
  ipv4_prefix: 20,
  ipv6_prefix: 56,
};

function casesOf(
  grouping: NetworkGrouping,
  cases: readonly (readonly [string, string | undefined])[],
): void {
  const network = networkOf(grouping);
  for (const [ip, expected] of cases) {
    test(`${ip || "(empty)"} → ${expected}`, () => assert.equal(network(ip), expected));
  }
}

describe("networkOf, by default: the /24 or /64", () => {
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
  casesOf(DEFAULTS.new_network, cases);
});

describe("networkOf, grouped: the most specific listed network, else the prefixes", () => {
  casesOf(GROUPED, [
    ["10.8.200.1", "10.8.0.0/16"],
    ["::ffff:10.8.7.7", "10.8.0.0/16"],
    ["10.8.5.9", "10.8.5.0/24"],
    ["192.0.2.200", "192.0.2.0/24"],
    ["10.9.77.1", "10.9.0.0/16"],
    ["172.16.99.1", "172.16.96.0/20"],
    ["2001:db8:0:ffff::1", "2001:db8::/48"],
    ["2001:db9:1:2ff::1", "2001:db9:1:200::/56"],
    ["unknown", undefined],
  ]);
});

describe("networkOf, prefixes off the group boundaries and at the ends", () => {
  casesOf({ networks: [], ipv4_prefix: 22, ipv6_prefix: 52 }, [
    ["10.1.7.3", "10.1.4.0/22"],
    ["2001:db8:1:2fff::1", "2001:db8:1:2000::/52"],
  ]);
  casesOf({ networks: [], ipv4_prefix: 32, ipv6_prefix: 128 }, [
    ["10.1.7.3", "10.1.7.3/32"],
    ["2001:DB8::1", "2001:db8::1/128"],
  ]);
  casesOf({ networks: [], ipv4_prefix: 0, ipv6_prefix: 0 }, [
    ["10.1.7.3", "0.0.0.0/0"],
    ["2001:db8::1", "::/0"],
  ]);
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

  test("networks as the grouping has them: one VPN pool, however many /24s it handed out", () => {
    const roaming = [
      past("2026-07-15T06:30:00Z", { sourceIp: "10.8.1.5" }),
      past("2026-07-16T06:30:00Z", { sourceIp: "10.8.3.9" }),
      past("2026-07-17T06:30:00Z", { sourceIp: "10.7.3.9" }),
    ];
    assert.deepEqual([...baselineOf(roaming, undefined, GROUPED).networks].sort(), [
      "10.7.0.0/20",
      "10.8.0.0/16",
    ]);
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
