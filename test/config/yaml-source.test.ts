// YAML sources: locating paths (keys, values, list items, empty values,
// aliases), path formatting, and zod issues turned into located problems.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import {
  formatYamlPath,
  parseYaml,
  validateYaml,
  type YamlSource,
} from "../../src/util/yaml-source.js";

function source(text: string): YamlSource {
  const parsed = parseYaml("f.yaml", text);
  assert.ok(parsed.ok);
  return parsed.value;
}

const TEXT = `base: &base { user: alice }
access:
  - name: one
    subjects:
      groups: [ops, dev]
  - name: two
    empty:
    copy: *base
`;

describe("YamlSource.locate", () => {
  const yaml = source(TEXT);
  const cases: [string, (string | number)[], "key" | "value", string][] = [
    ["a value", ["access", 0, "name"], "value", "3:11"],
    ["a key", ["access", 0, "name"], "key", "3:5"],
    ["a list item", ["access", 1], "value", "6:5"],
    ["an item of a flow list", ["access", 0, "subjects", "groups", 1], "value", "5:21"],
    ["an empty value is located at its key", ["access", 1, "empty"], "value", "7:5"],
    ["through an alias, at the anchored node", ["access", 1, "copy", "user"], "value", "1:21"],
    ["a missing key, at its parent", ["access", 0, "when", "tz"], "value", "3:5"],
    ["the root", [], "value", "1:1"],
  ];
  for (const [name, path, anchor, expected] of cases) {
    test(name, () => {
      const { line, col } = yaml.locate(path, anchor);
      assert.equal(`${line}:${col}`, expected);
    });
  }

  test("the document's data", () => {
    assert.deepEqual(yaml.value, {
      base: { user: "alice" },
      access: [
        { name: "one", subjects: { groups: ["ops", "dev"] } },
        { name: "two", empty: null, copy: { user: "alice" } },
      ],
    });
  });

  test("an empty document has no data", () => {
    assert.equal(source("# only a comment\n").value, undefined);
  });
});

test("formatYamlPath", () => {
  assert.equal(formatYamlPath(["access", 2, "subjects", "groups"]), "access[2].subjects.groups");
  assert.equal(formatYamlPath([0, "a"]), "[0].a");
  assert.equal(formatYamlPath([]), "");
});

describe("parseYaml problems", () => {
  const problems = (text: string) => {
    const parsed = parseYaml("f.yaml", text);
    assert.ok(!parsed.ok);
    return parsed.problems.map((problem) => problem.text);
  };

  test("duplicate keys", () =>
    assert.deepEqual(problems("a: 1\nb: 2\na: 3\n"), ["f.yaml:3:1: Map keys must be unique"]));
  test("several documents", () => {
    assert.deepEqual(problems("a: 1\n---\nb: 2\n"), [
      "f.yaml:2:1: Source contains multiple documents; please use YAML.parseAllDocuments()",
    ]);
  });
  test("unknown tags", () =>
    assert.deepEqual(problems("a: !secret x\n"), ["f.yaml:1:4: Unresolved tag: !secret"]));
});

describe("validateYaml", () => {
  const schema = z.strictObject({
    items: z.array(
      z.strictObject({
        n: z.number(),
        kind: z.union([z.literal("a"), z.strictObject({ re: z.string() })]),
      }),
    ),
  });
  const problems = (text: string) => {
    const result = validateYaml(source(text), schema);
    assert.ok(!result.ok);
    return result.problems.map((problem) => problem.text);
  };

  test("problems come sorted by position, unknown keys one per key", () => {
    assert.deepEqual(problems("items:\n  - { n: x, kind: a, p: 1, q: 2 }\nzz: 1\n"), [
      "f.yaml:2:10: items[0].n: expected a number, got a string",
      'f.yaml:2:22: items[0].p: unknown key "p"',
      'f.yaml:2:28: items[0].q: unknown key "q"',
      'f.yaml:3:1: zz: unknown key "zz"',
    ]);
  });

  test("a union reports the branch that matched the input's type", () => {
    assert.deepEqual(problems("items:\n  - { n: 1, kind: { re: 5 } }\n"), [
      "f.yaml:2:25: items[0].kind.re: expected a string, got an integer",
    ]);
  });

  test("missing keys are located at their map", () => {
    assert.deepEqual(problems("items:\n  - { kind: a }\n"), [
      "f.yaml:2:5: items[0].n: is required",
    ]);
  });
});
