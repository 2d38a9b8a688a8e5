// Incomplete input (more lines needed), syntax errors (denied as "cannot
// parse"), and a fuzz test: random strings and bytes never make the
// extractor throw and always give one of the three statuses.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { extractCommands } from "../../../src/policy/shell/index.js";
import { type Case, table } from "./table.js";

const incomplete: Case[] = [
  ["echo 'abc", "incomplete"],
  ['echo "abc', "incomplete"],
  ["echo abc\\", "incomplete"],
  ["echo $'abc", "incomplete"],
  ['echo $"abc', "incomplete"],
  ["echo $(ls", "incomplete"],
  ["echo $(ls; (a)", "incomplete"],
  ["echo `ls", "incomplete"],
  ["echo ${x", "incomplete"],
  ["echo $((1 + 2", "incomplete"],
  ["cat <<EOF", "incomplete"],
  ["cat <<EOF\nbody", "incomplete"],
  ["cat <<EOF\nbody\nEOFX", "incomplete"],
  ["cat <<-EOF\nbody\n  EOF", "incomplete"],
  ["if true; then", "incomplete"],
  ["if true; then a; else", "incomplete"],
  ["if true", "incomplete"],
  ["while true; do a", "incomplete"],
  ["for x in a b", "incomplete"],
  ["for x in a b; do", "incomplete"],
  ["case x in", "incomplete"],
  ["case x in a) b;;", "incomplete"],
  ["case x", "incomplete"],
  ["{ a;", "incomplete"],
  ["{ a; b", "incomplete"],
  ["(a", "incomplete"],
  ["(a;", "incomplete"],
  ["a |", "incomplete"],
  ["a | ", "incomplete"],
  ["a &&", "incomplete"],
  ["a ||", "incomplete"],
  ["a &&\n", "incomplete"],
  ["f() {", "incomplete"],
  ["function f", "incomplete"],
  ["[[ -f x", "incomplete"],
  ["(( 1 + 2", "incomplete"],
  ["arr=(1 2", "incomplete"],
  ['echo "$(ls)', "incomplete"],
  ["echo '$(ls)", "incomplete"],
  ["bash -c 'ls", "incomplete"],
  ["echo a &&\\\n", "incomplete"],
  ["if a; then b; fi; if", "incomplete"],
];

const errors: Case[] = [
  [";;", "error"],
  [";", "error"],
  ["a ;; b", "error"],
  [")", "error"],
  ["a )", "error"],
  ["a | | b", "error"],
  ["| a", "error"],
  ["a && && b", "error"],
  ["&& a", "error"],
  ["& a", "error"],
  ["a; ; b", "error"],
  ["fi", "error"],
  ["then a", "error"],
  ["done", "error"],
  ["esac", "error"],
  ["}", "error"],
  ["a; fi", "error"],
  ["if a; fi", "error"],
  ["if; then a; fi", "error"],
  ["while a; done", "error"],
  ["for x in a; done", "error"],
  ["()", "error"],
  ["{ }", "error"],
  ["a >", "error"],
  ["a > ;", "error"],
  ["a < | b", "error"],
  ["echo (a)", "error"],
  ["echo a(b)", "error"],
  ["(a) b", "error"],
  ["{ a; } b", "error"],
  ["a || ;", "error"],
  ["a\n;", "error"],
  ["case x in a) b;; ;; esac", "error"],
  ["f() a", "error"],
  ["echo $(;)", "error"],
  ["echo \\$(a)", "error"],
  ["echo $(cat <<EOF\nx\nEOF\na; b)", "error"],
];

table("incomplete input", incomplete);
table("syntax errors", errors);

const STATUSES = new Set(["complete", "incomplete", "error"]);
const SHELLISH = [..."abc xyz;&|()<>{}[]$`'\"\\\n\t#!*?~=,.-0123456789"];

function assertNeverThrows(line: string): void {
  const result = extractCommands(line);
  assert.ok(STATUSES.has(result.status), `status ${result.status} for ${JSON.stringify(line)}`);
}

test("fuzz: random unicode strings never throw", () => {
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), assertNeverThrows), {
    numRuns: 3000,
    seed: 1,
  });
});

test("fuzz: random shell-character soup never throws", () => {
  const soup = fc.array(fc.constantFrom(...SHELLISH), { maxLength: 120 }).map((c) => c.join(""));
  fc.assert(fc.property(soup, assertNeverThrows), { numRuns: 5000, seed: 2 });
});

test("fuzz: random bytes decoded as latin1 never throw", () => {
  const bytes = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString("latin1"));
  fc.assert(fc.property(bytes, assertNeverThrows), { numRuns: 3000, seed: 3 });
});

test("deep nesting is an error, not a stack overflow", () => {
  assert.equal(extractCommands(`${"$(".repeat(5000)}a${")".repeat(5000)}`).status, "error");
  assert.equal(extractCommands(`${"( ".repeat(5000)}a${" )".repeat(5000)}`).status, "error");
  assert.equal(extractCommands(`${"{ ".repeat(5000)}a${"; }".repeat(5000)}`).status, "error");
  assert.equal(
    extractCommands(`${"bash -c '".repeat(1)}${"eval ".repeat(3000)}a'`).status,
    "complete",
  );
});
