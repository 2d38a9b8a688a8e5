// Clock skew detection and durations for people (src/login/clock.ts).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkCertificateClock,
  checkClock,
  checkTokenClock,
  formatDuration,
} from "../../src/login/clock.js";

const NOW = new Date("2026-11-22T08:00:00Z");
const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000);

describe("login clock", () => {
  it("formats durations with at most two units", () => {
    assert.equal(formatDuration(8 * 3_600_000), "8h00m");
    assert.equal(formatDuration(7 * 3_600_000 + 59 * 60_000 + 59_000), "7h59m");
    assert.equal(formatDuration(250_000), "4m10s");
    assert.equal(formatDuration(35_400), "35s");
    assert.equal(formatDuration(-5000), "0s");
  });

  it("accepts up to five minutes of skew and names the direction beyond", () => {
    checkClock(minutes(4), NOW, "the bastion's");
    checkClock(minutes(-4), NOW, "the bastion's");
    assert.throws(() => checkClock(minutes(-90), NOW, "the bastion's"), {
      code: "ERR_LOGIN_CLOCK_SKEW",
      message:
        "this machine's clock (2026-11-22T08:00:00.000Z) is about 1h30m ahead of the bastion's: fix this machine's clock (e.g. enable NTP) and run portcullis login again",
    });
    assert.throws(() => checkTokenClock(minutes(10).getTime() / 1000, NOW), {
      message: /is about 10m00s behind the identity provider's/,
    });
  });

  it("says which way the clock is off when a fresh certificate is not valid here", () => {
    checkCertificateClock(minutes(-1), minutes(480), NOW);
    assert.throws(() => checkCertificateClock(minutes(30), minutes(510), NOW), {
      code: "ERR_LOGIN_CLOCK_SKEW",
      message: /about 30m00s behind the bastion's/,
    });
    assert.throws(() => checkCertificateClock(minutes(-600), minutes(-120), NOW), {
      message: /about 2h00m ahead of the bastion's/,
    });
  });
});
