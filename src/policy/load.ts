// Reads a policy directory (the only I/O in src/policy): every `*.yaml` /
// `*.yml` file except policy tests (`*.test.yaml`, `*.test.yml`) and hidden
// files, in lexical order of their names, parsed by parsePolicyFiles.
// Problems name files as `dir` joined with the file name (as given).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, errorMessage } from "../util/errors.js";
import { parsePolicyFiles } from "./parse.js";
import type { Policy } from "./types.js";

const POLICY_FILE = /^[^.].*\.ya?ml$/;
const POLICY_TEST_FILE = /\.test\.ya?ml$/;

export function loadPolicyDir(dir: string): Policy {
  const files = policyFileNames(dir).map((name) => {
    const path = join(dir, name);
    try {
      return { name: path, text: readFileSync(path, "utf8") };
    } catch (error) {
      throw new ConfigError([`${path}: cannot read policy file: ${errorMessage(error)}`]);
    }
  });
  return parsePolicyFiles(files);
}

/** Policy file names in `dir`, sorted by UTF-16 code units (locale-independent). */
function policyFileNames(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : errorMessage(error);
    throw new ConfigError([`policy directory ${dir}: ${reason}`]);
  }
  return names
    .filter((name) => POLICY_FILE.test(name) && !POLICY_TEST_FILE.test(name))
    .filter((name) => statSync(join(dir, name), { throwIfNoEntry: false })?.isFile() === true)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
