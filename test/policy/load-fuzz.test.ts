// Fuzzing the policy loader (fixed seed, bounded count; PORTCULLIS_FUZZ_RUNS
// for longer runs by hand): random bytes, random YAML documents and
// mutations of the shipped example policy never crash it. Every input ends
// in a policy or in a ConfigError whose problems are `file:line:col: …`.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { parsePolicyFiles } from "../../src/policy/index.js";
import { ConfigError } from "../../src/util/errors.js";

const RUNS = Number(process.env.PORTCULLIS_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.PORTCULLIS_FUZZ_SEED ?? 20261122);
const LOCATED = /^[^:\n]+:\d+:\d+: \S/;

const exampleFiles = readdirSync("policies")
  .filter((name) => name.endsWith(".yaml") && !name.endsWith(".test.yaml"))
  .sort()
  .map((name) => ({ name, text: readFileSync(join("policies", name), "utf8") }));

/** Loads and checks the outcome: a policy, or located problems; anything else fails. */
function loadsCleanly(files: { name: string; text: string }[]): void {
  try {
    parsePolicyFiles(files);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    for (const problem of error.problems) assert.match(problem, LOCATED);
  }
}

const yamlValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(
        fc.constantFrom("targets", "access", "rulesets", "deny", "allow", "rules", "default"),
        fc.string(),
      ),
      tie("value"),
      { maxKeys: 4 },
    ),
  ),
})).value;

describe("policy loader fuzz", () => {
  test("random text never crashes it", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (text) =>
        loadsCleanly([{ name: "00.yaml", text }]),
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("random YAML documents never crash it", () => {
    fc.assert(
      fc.property(yamlValue, (value) =>
        loadsCleanly([{ name: "00.yaml", text: stringify(value) }]),
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("mutations of the example policy never crash it", () => {
    const text = exampleFiles.map((file) => file.text).join("\n");
    fc.assert(
      fc.property(fc.nat(text.length), fc.string({ maxLength: 8 }), (at, insert) => {
        const mutated = text.slice(0, at) + insert + text.slice(at + insert.length);
        loadsCleanly([{ name: "00.yaml", text: mutated }]);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
