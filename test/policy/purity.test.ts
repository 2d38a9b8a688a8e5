// src/policy stays pure: no file in it (or anything it imports, followed
// transitively) may import fs, net, child_process, ssh2 or the database.
// Exceptions: load.ts reads the policy directory (fs, path), and cidr.ts may
// import BlockList, and only BlockList, from node:net. (index.ts re-exports
// load.ts: the scan does not descend into the loader.)
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const POLICY_DIR = join(ROOT, "src/policy");
const FORBIDDEN = /^(?:node:)?(?:fs|fs\/promises|net|child_process)$|^ssh2$|^better-sqlite3$/;
const IMPORT =
  /\b(?:import|export)\s*(?:[\w*\s{},]*?\s*from\s*)?["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;
const LOADER = join(POLICY_DIR, "load.ts");
const ALLOWED_NET_IMPORT = 'import { BlockList } from "node:net";';

interface ImportUse {
  readonly specifier: string;
  readonly statement: string;
}

function importsOf(source: string): ImportUse[] {
  return [...source.matchAll(IMPORT)].map((match) => ({
    specifier: match[1] ?? match[2] ?? "",
    statement: match[0],
  }));
}

/** Forbidden imports of `file` and of every module it reaches through relative imports. */
function forbiddenImports(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file) || file === LOADER) return [];
  seen.add(file);
  const source = readFileSync(file, "utf8");
  const name = relative(ROOT, file);
  return importsOf(source).flatMap(({ specifier, statement }) => {
    if (specifier.startsWith(".")) {
      return forbiddenImports(resolve(dirname(file), specifier.replace(/\.js$/, ".ts")), seen);
    }
    if (!FORBIDDEN.test(specifier)) return [];
    const isAllowedNet = name === "src/policy/cidr.ts" && `${statement};` === ALLOWED_NET_IMPORT;
    return isAllowedNet ? [] : [`${name}: ${statement}`];
  });
}

describe("src/policy purity", () => {
  test("the import scanner finds static, re-exported and dynamic imports", () => {
    const found = importsOf(
      'import { readFileSync } from "node:fs";\nimport type { X } from "./x.js";\nexport * from "ssh2";\nconst m = await import("child_process");\nimport "better-sqlite3";',
    ).map((use) => use.specifier);
    assert.deepEqual(found, ["node:fs", "./x.js", "ssh2", "child_process", "better-sqlite3"]);
  });

  const files = readdirSync(POLICY_DIR).filter(
    (name) => name.endsWith(".ts") && name !== "load.ts",
  );
  for (const name of files) {
    test(`${name} imports no I/O module`, () => {
      assert.deepEqual(forbiddenImports(join(POLICY_DIR, name)), []);
    });
  }

  test("cidr.ts imports exactly BlockList from node:net", () => {
    const source = readFileSync(join(POLICY_DIR, "cidr.ts"), "utf8");
    const netImports = importsOf(source).filter((use) => /^(?:node:)?net$/.test(use.specifier));
    assert.deepEqual(
      netImports.map((use) => `${use.statement};`),
      [ALLOWED_NET_IMPORT],
    );
  });
});
