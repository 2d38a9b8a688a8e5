// Durations and sizes as written in portcullis.yaml and policies.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseDuration, parseSize } from "../../src/util/units.js";

describe("parseDuration", () => {
  const valid: [string, number][] = [
    ["500ms", 500],
    ["90s", 90_000],
    ["10m", 600_000],
    ["8h", 28_800_000],
    ["1h30m", 5_400_000],
    ["1d12h", 129_600_000],
    ["2m30s250ms", 150_250],
    ["0s", 0],
  ];
  for (const [text, ms] of valid)
    test(`${text} = ${ms} ms`, () => assert.equal(parseDuration(text), ms));

  for (const text of ["", "8", "8x", "h", "1.5h", "30m1h", "1h1h", "-5m", " 5m", "5 m", "5M"]) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseDuration(text), {
        name: "RangeError",
        message: `invalid duration ${JSON.stringify(text)}: expected a duration such as 500ms, 90s, 10m, 8h or 1h30m`,
      });
    });
  }
});

describe("parseSize", () => {
  const valid: [string, number][] = [
    ["10B", 10],
    ["512KB", 512_000],
    ["100MB", 100_000_000],
    ["1GB", 1_000_000_000],
    ["1KiB", 1024],
    ["1GiB", 1_073_741_824],
    ["100mb", 100_000_000],
    ["2 MiB", 2_097_152],
  ];
  for (const [text, bytes] of valid)
    test(`${text} = ${bytes} bytes`, () => assert.equal(parseSize(text), bytes));

  for (const text of ["", "100", "MB", "1.5MB", "10XB", "-1KB", "99999999999TB"]) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseSize(text), {
        name: "RangeError",
        message: `invalid size ${JSON.stringify(text)}: expected a size such as 10B, 512KB, 100MB or 1GiB`,
      });
    });
  }
});
