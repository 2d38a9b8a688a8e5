// Shared helpers for the table-driven extractor tests: a compact rendering
// of an extraction (one string per command: words joined by `·`, a dynamic
// word as `?`, ` [dynamic]` when the command itself is dynamic) and a runner.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Extraction } from "../../../src/policy/command-types.js";
import { extractCommands } from "../../../src/policy/shell/index.js";

export type Expected = readonly string[] | "incomplete" | "error";
export type Case = readonly [line: string, expected: Expected];

export function render(extraction: Extraction): Expected {
  if (extraction.status !== "complete") return extraction.status;
  return extraction.commands.map((command) => {
    const words = command.argv.map((word) => ("literal" in word ? word.literal : "?")).join("·");
    return command.dynamic === undefined ? words : `${words} [dynamic]`;
  });
}

export function table(name: string, cases: readonly Case[]): void {
  describe(name, () => {
    for (const [line, expected] of cases) {
      test(JSON.stringify(line), () => {
        assert.deepEqual(render(extractCommands(line)), expected);
      });
    }
  });
}
