// The session risk score: the decayed sum (worked example of docs/signals.md),
// its peak, out-of-order times, the one-time threshold crossing, and a
// property check against the formula Σ sᵢ·2^(−(t−tᵢ)/halfLife).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { crossed, RiskScore } from "../../src/signals/score.js";
import { MINUTE } from "./fixtures.js";

const HALF_LIFE = 30 * MINUTE;

describe("RiskScore", () => {
  test("the worked example: each signal halves every half-life", () => {
    const score = new RiskScore(HALF_LIFE);
    assert.equal(score.at(0), 0);
    assert.equal(score.add(0, 40), 40);
    assert.equal(score.at(30 * MINUTE), 20);
    assert.equal(score.add(30 * MINUTE, 30), 50);
    assert.equal(score.at(90 * MINUTE), 12.5);
    assert.equal(score.add(90 * MINUTE, 20), 32.5);
    assert.equal(score.peak, 50);
  });

  test("signals at the same moment add up without decay", () => {
    const score = new RiskScore(HALF_LIFE);
    score.add(1000, 20);
    assert.equal(score.add(1000, 30), 50);
    assert.equal(score.peak, 50);
  });

  test("a time before the latest signal counts as that signal's time", () => {
    const score = new RiskScore(HALF_LIFE);
    score.add(10 * MINUTE, 40);
    assert.equal(score.at(0), 40);
    assert.equal(score.add(5 * MINUTE, 10), 50);
    assert.equal(score.at(40 * MINUTE), 25);
  });

  test("the half-life must be positive", () => {
    assert.throws(() => new RiskScore(0), /half-life must be positive/);
    assert.throws(() => new RiskScore(Number.NaN), /half-life must be positive/);
  });

  test("matches the sum formula for any signals in time order", () => {
    const signal = fc.record({
      gap: fc.integer({ min: 0, max: 4 * HALF_LIFE }),
      score: fc.integer({ min: 1, max: 100 }),
    });
    fc.assert(
      fc.property(
        fc.array(signal, { minLength: 1, maxLength: 20 }),
        fc.nat(HALF_LIFE),
        (signals, after) => {
          const score = new RiskScore(HALF_LIFE);
          let time = 0;
          const added = signals.map((s) => {
            time += s.gap;
            return { time, score: s.score, sum: score.add(time, s.score) };
          });
          const formula = (t: number) =>
            added.reduce((sum, s) => sum + s.score * 2 ** (-(t - s.time) / HALF_LIFE), 0);
          const end = time + after;
          assert.ok(Math.abs(score.at(end) - formula(end)) < 1e-9);
          assert.ok(Math.abs(score.peak - Math.max(...added.map((s) => s.sum))) < 1e-9);
        },
      ),
    );
  });
});

describe("crossed", () => {
  test("true once: when the score first reaches the threshold", () => {
    const threshold = 50;
    const score = new RiskScore(HALF_LIFE);
    const signal = (at: number, points: number) => {
      const peakBefore = score.peak;
      return crossed(peakBefore, score.add(at, points), threshold);
    };
    assert.equal(signal(0, 30), false);
    assert.equal(signal(0, 19), false, "49 is below");
    assert.equal(signal(0, 1), true, "50 reaches it");
    assert.equal(signal(MINUTE, 10), false, "already crossed");
    assert.equal(signal(10 * HALF_LIFE, 60), false, "decayed and risen again: still once");
  });

  test("a jump from below to far above crosses", () => {
    assert.equal(crossed(0, 120, 100), true);
    assert.equal(crossed(99.9, 100, 100), true);
    assert.equal(crossed(100, 150, 100), false);
    assert.equal(crossed(10, 99.9, 100), false);
  });
});
