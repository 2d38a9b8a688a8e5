// Tests for src/recording/json-text.ts: whatever bytes arrive, split however,
// the JSON literals decode to exactly what Buffer#toString gives for the whole
// stream (U+FFFD for invalid sequences), and escapes are the JSON ones.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { jsonStringBytes, Utf8Joiner } from "../../src/recording/json-text.js";

/** Decodes a stream split into chunks the way the recorder does. */
function encodeSplit(chunks: Buffer[]): string {
  const joiner = new Utf8Joiner();
  const texts = [...chunks.map((chunk) => joiner.write(chunk)), joiner.end()];
  return texts
    .filter((text) => text !== undefined)
    .map((text) => JSON.parse(jsonStringBytes(text).toString("utf8")) as string)
    .join("");
}

/** Bytes that are mostly UTF-8 text, with stray bytes mixed in. */
const streamBytes = fc.array(
  fc.oneof(
    fc.string({ unit: "binary" }).map((text) => Buffer.from(text)),
    fc.uint8Array({ maxLength: 4 }).map((bytes) => Buffer.from(bytes)),
  ),
  { maxLength: 20 },
);

test("any bytes, split anywhere, decode like the whole stream would", () => {
  fc.assert(
    fc.property(streamBytes, fc.array(fc.nat(), { maxLength: 10 }), (parts, cuts) => {
      const whole = Buffer.concat(parts);
      const points = [...new Set(cuts.map((cut) => cut % (whole.length + 1)))].sort(
        (a, b) => a - b,
      );
      const chunks = [0, ...points].map((start, i) =>
        whole.subarray(start, points[i] ?? whole.length),
      );
      assert.equal(encodeSplit(chunks), whole.toString("utf8"));
    }),
    { numRuns: 2000 },
  );
});

test("a character split byte by byte is carried until complete", () => {
  const joiner = new Utf8Joiner();
  const fox = Buffer.from("🦊");
  assert.equal(joiner.write(fox.subarray(0, 1)), undefined);
  assert.equal(joiner.write(fox.subarray(1, 3)), undefined);
  assert.equal(Buffer.from(joiner.write(fox.subarray(3)) ?? []).toString(), "🦊");
  assert.equal(joiner.end(), undefined);
});

test("quotes, backslashes and control characters get JSON escapes; other bytes are copied", () => {
  const text = 'a"b\\c\u0000\u001b[0m\r\n\u007fé';
  assert.equal(jsonStringBytes(Buffer.from(text)).toString("utf8"), JSON.stringify(text));
});

test("the literal of any text is byte for byte what JSON.stringify writes", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (text) => {
      assert.equal(jsonStringBytes(Buffer.from(text)).toString("utf8"), JSON.stringify(text));
    }),
    { numRuns: 2000 },
  );
});
