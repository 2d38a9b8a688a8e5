// The files a command writes by redirection (ExtractedCommand.writes): every
// write operator with and without a descriptor, what is not a write (reads,
// duplications, heredocs, /dev/null and the descriptors' aliases, process
// substitutions), compound commands' redirections inherited recursively,
// wrappers and code strings; then the same lines run by bash in an empty
// directory, whose created files must be exactly the extracted writes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { ArgWord } from "../../../src/policy/command-types.js";
import { extractCommands } from "../../../src/policy/shell/index.js";

const text = (word: ArgWord) => ("literal" in word ? word.literal : "?");

/** One string per command: its words, then `> ` and what it writes, if anything. */
function writes(line: string): string[] {
  const extraction = extractCommands(line);
  assert.equal(extraction.status, "complete", line);
  if (extraction.status !== "complete") return [];
  return extraction.commands.map((command) => {
    const words = command.argv.map(text).join(" ");
    return command.writes.length === 0 ? words : `${words} > ${command.writes.map(text).join(",")}`;
  });
}

function table(name: string, cases: readonly (readonly [string, readonly string[]])[]) {
  describe(name, () => {
    for (const [line, expected] of cases) {
      test(JSON.stringify(line), () => assert.deepEqual(writes(line), expected));
    }
  });
}

table("write operators", [
  ["ls > f", ["ls > f"]],
  ["ls >> f", ["ls > f"]],
  ["ls >| f", ["ls > f"]],
  ["ls &> f", ["ls > f"]],
  ["ls &>> f", ["ls > f"]],
  ["ls <> f", ["ls > f"]],
  ["ls 2> f", ["ls > f"]],
  ["ls 3>> f", ["ls > f"]],
  ["ls {out}> f", ["ls > f"]],
  ["ls >& f", ["ls > f"]],
  ["ls 1>&f", ["ls > f"]],
  ["ls >f 2>>g", ["ls > f,g"]],
  ['ls > "/etc/a b"', ["ls > /etc/a b"]],
  ["> f", [": > f"]],
  ["x=1 >> f", [": > f"]],
]);

table("not writes", [
  ["ls < f", ["ls"]],
  ["ls 2>&1", ["ls"]],
  ["ls >&2", ["ls"]],
  ["ls >&-", ["ls"]],
  ["ls 3<&0", ["ls"]],
  ["cat <<< x", ["cat"]],
  ["cat <<EOF\nx\nEOF", ["cat"]],
  ["ls > /dev/null 2>/dev/null", ["ls"]],
  ["ls &> /dev//null", ["ls"]],
  ["ls > /dev/stdout 2> /dev/stderr 3<> /dev/tty", ["ls"]],
  ["ls > /dev/fd/3", ["ls"]],
  ["ls > >(tee f)", ["tee f", "ls"]],
  ["ls /etc/passwd", ["ls /etc/passwd"]],
]);

table("dynamic targets", [
  ["ls > $F", ["ls > ?"]],
  ["ls > ~/x", ["ls > ?"]],
  ['ls > "$HOME/x"', ["ls > ?"]],
  ["ls > /tmp/$(date +%s)", ["date +%s", "ls > ?"]],
]);

table("compound commands pass their redirections to every command in them", [
  ["{ a; b; } > f", ["a > f", "b > f"]],
  ["(a; b) >> f", ["a > f", "b > f"]],
  ["for x in 1 2; do a $x; done > f", ["a ? > f"]],
  ["if a; then b; elif c; then d; else e; fi >> f", ["a > f", "b > f", "c > f", "d > f", "e > f"]],
  ["while read x; do a; done < in > out", ["read x > out", "a > out"]],
  ["until a; do b; done 2> f", ["a > f", "b > f"]],
  ["case $x in y) a;; *) b;; esac > f", ["a > f", "b > f"]],
  ["select x in a; do b; done > f", ["b > f"]],
  ["{ a | b; } > f", ["a > f", "b > f"]],
  ["{ { a; } > f; b; } > g", ["a > f,g", "b > g"]],
  ["{ a > f; } 2> g", ["a > f,g"]],
  ["( { a; } ) > f", ["a > f"]],
  ["time { a; } > f", ["a > f"]],
  ["! { a; } > f", ["a > f"]],
  ["f() { a; } > log", ["a > log"]],
  ["function f { a; } >> log", ["a > log"]],
  ["{ a; } > $F", ["a > ?"]],
  ["{ a; } > $(b)", ["a > ?", "b"]],
  ["{ a; } 2>&1 > /dev/null", ["a"]],
  ["{ a; } > f; b", ["a > f", "b"]],
  ["x=$( { a; } > f )", ["a > f"]],
  ["{ echo $(a); } > f", ["a > f", "echo ? > f"]],
]);

table("wrappers and code strings write where their output goes", [
  ["sudo tee x > y", ["sudo tee x > y", "tee x > y"]],
  ["env A=1 nice ls > f", ["env A=1 nice ls > f", "nice ls > f", "ls > f"]],
  ["bash -c 'a > f' > g", ["bash -c a > f > g", "a > f,g"]],
  ["eval a > f", ["eval a > f", "a > f"]],
  [
    "sudo sh -c 'cat >> /root/.ssh/authorized_keys'",
    [
      "sudo sh -c cat >> /root/.ssh/authorized_keys",
      "sh -c cat >> /root/.ssh/authorized_keys",
      "cat > /root/.ssh/authorized_keys",
    ],
  ],
]);

test("a compound's redirections are positional arguments of its commands, after their own", () => {
  const extraction = extractCommands("{ cat 2>/tmp/err; } > /etc/x");
  assert.equal(extraction.status, "complete");
  if (extraction.status !== "complete") return;
  assert.deepEqual(extraction.commands[0]?.redirects, [
    { literal: "/tmp/err" },
    { literal: "/etc/x" },
  ]);
  assert.deepEqual(extraction.commands[0]?.writes, [
    { literal: "/tmp/err" },
    { literal: "/etc/x" },
  ]);
  const loop = extractCommands("while read -r line; do echo $line; done < /etc/shadow");
  assert.equal(loop.status, "complete");
  if (loop.status !== "complete") return;
  for (const command of loop.commands)
    assert.deepEqual(command.redirects, [{ literal: "/etc/shadow" }], command.source);
});

/**
 * Lines whose every command runs (with `true` and `echo`), writing relative
 * names only: what bash creates in an empty directory must be exactly the
 * union of the extracted writes.
 */
const RUN_BY_BASH = [
  "true > a",
  "true >> a 2> b",
  "true &> a",
  "true <> a",
  "true {fd}> a",
  "true >& a",
  "true > /dev/null 2>&1 >&-",
  "{ true; echo x; } > a",
  "(true) 2>> a",
  "for x in 1; do true; done > a",
  "if true; then echo; fi >> a",
  "while false; do echo; done > a",
  "{ { true; } > a; true; } > b",
  "{ true > a; } 2> b",
  "bash -c 'true > a' > b",
  "> a",
  "cat < /dev/null > a",
];

describe("bash creates exactly the files extracted as writes", () => {
  for (const line of RUN_BY_BASH) {
    test(JSON.stringify(line), () => {
      const dir = mkdtempSync(join(tmpdir(), "portcullis-writes-"));
      try {
        const run = spawnSync("bash", ["--norc", "--noprofile", "-c", line], {
          cwd: dir,
          env: { PATH: "/usr/bin:/bin" },
          timeout: 5000,
        });
        assert.equal(run.status, 0, String(run.stderr));
        const extraction = extractCommands(line);
        assert.equal(extraction.status, "complete");
        if (extraction.status !== "complete") return;
        const extracted = new Set(extraction.commands.flatMap((c) => c.writes.map(text)));
        assert.deepEqual(readdirSync(dir).sort(), [...extracted].sort());
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
