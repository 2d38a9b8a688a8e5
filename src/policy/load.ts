// Reads a policy directory (the only I/O in src/policy): every `*.yaml` /
// `*.yml` file except policy tests (`*.test.yaml`, `*.test.yml`) and hidden
// files, in lexical order of their names, parsed by parsePolicyFiles; and,
// separately, the policy tests, parsed by parsePolicyTestFiles.
// Problems name files as `dir` joined with the file name (as given).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, errorMessage } from "../util/errors.js";
import { type PolicyFileText, parsePolicyFiles } from "./parse.js";
import { type PolicyTestCase, parsePolicyTestFiles } from "./test-file.js";
import type { Policy } from "./types.js";

const POLICY_FILE = /^[^.].*\.ya?ml$/;
const POLICY_TEST_FILE = /\.test\.ya?ml$/;

export function loadPolicyDir(dir: string): Policy {
  const names = yamlFileNames(dir).filter((name) => !POLICY_TEST_FILE.test(name));
  return parsePolicyFiles(readFiles(dir, names, "policy file"));
}

/** Every case of every `*.test.yaml` / `*.test.yml` file in `dir`, files in name order. */
export function loadPolicyTestCases(dir: string): PolicyTestCase[] {
  const names = yamlFileNames(dir).filter((name) => POLICY_TEST_FILE.test(name));
  return parsePolicyTestFiles(readFiles(dir, names, "policy test file"));
}

function readFiles(dir: string, names: readonly string[], kind: string): PolicyFileText[] {
  return names.map((name) => {
    const path = join(dir, name);
    try {
      return { name: path, text: readFileSync(path, "utf8") };
    } catch (error) {
      throw new ConfigError([`${path}: cannot read ${kind}: ${errorMessage(error)}`]);
    }
  });
}

/** Visible YAML file names in `dir`, sorted by UTF-16 code units (locale-independent). */
function yamlFileNames(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : errorMessage(error);
    throw new ConfigError([`policy directory ${dir}: ${reason}`]);
  }
  return names
    .filter((name) => POLICY_FILE.test(name))
    .filter((name) => statSync(join(dir, name), { throwIfNoEntry: false })?.isFile() === true)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
