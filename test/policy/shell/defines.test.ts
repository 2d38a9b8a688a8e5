// The names a line defines (Extraction.defines): variables given a value by
// assignment words or `for`/`select`, and functions, nested code included.
// Exec policy ignores them; interactive shells check them.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell `${…}` syntax in test data
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { extractCommands } from "../../../src/policy/shell/index.js";

function defines(line: string) {
  const extraction = extractCommands(line);
  assert.equal(extraction.status, "complete", line);
  return extraction.status === "complete" ? extraction.defines : undefined;
}

const cases: ReadonlyArray<readonly [string, readonly string[], readonly string[]]> = [
  ["PS1=x", ["PS1"], []],
  ["A=1 B=$(id) cmd", ["A", "B"], []],
  ["a[0]=1", ["a"], []],
  ["a+=(x y)", ["a"], []],
  ["for i in 1 2; do echo $i; done", ["i"], []],
  ["select opt in a b; do :; done", ["opt"], []],
  ["f() { X=1; }", ["X"], ["f"]],
  ["function g { :; }", [], ["g"]],
  ["eval 'Y=1'", ["Y"], []],
  ["echo $(Z=1 true)", ["Z"], []],
  ["echo `W=1`", ["W"], []],
  ["echo ${x:-$(V=1)}", ["V"], []],
];

describe("names a line defines", () => {
  for (const [line, variables, functions] of cases) {
    test(JSON.stringify(line), () => {
      assert.deepEqual(defines(line), { variables, functions });
    });
  }
  for (const line of ["ls -l", "echo x=1", "P\\S1=x", "env A=1 ls", "declare X=1"]) {
    test(`${JSON.stringify(line)} defines nothing by assignment words`, () => {
      assert.equal(defines(line), undefined);
    });
  }
  test("an incomplete or broken line reports no names", () => {
    assert.equal(extractCommands('PS1="x').status, "incomplete");
    assert.equal(extractCommands("X=1 )").status, "error");
  });
});
