// Word patterns (SPEC §5.4): globs, path normalization, pattern tokenizing,
// and the three-valued match of one pattern against one command.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileGlob, normalizePath } from "../../src/policy/glob.js";
import {
  alternativeOutcome,
  compileWordPattern,
  MAYBE,
  type MatchOutcome,
  NO,
  tokenizePattern,
  viewCommand,
  YES,
} from "../../src/policy/match.js";
import { command } from "./matcher-helpers.js";

describe("compileGlob", () => {
  const cases: [glob: string, word: string, expected: boolean][] = [
    ["rm", "rm", true],
    ["rm", "rmdir", false],
    ["rm*", "rmdir", true],
    ["*", "", true],
    ["*", "/any/path", true],
    ["r?", "rm", true],
    ["r?", "r", false],
    ["[rs]m", "sm", true],
    ["[rs]m", "tm", false],
    ["[!rs]m", "tm", true],
    ["[^rs]m", "rm", false],
    ["[a-c]x", "bx", true],
    ["[a-c]x", "dx", false],
    ["[]]", "]", true],
    ["[", "[", true],
    ["a[b", "a[b", true],
    ["\\*", "*", true],
    ["\\*", "x", false],
    ["a.b", "axb", false],
    ["(x)", "(x)", true],
    ["/var/log/*", "/var/log/a/b.log", true],
    ["*.log", "x.log\n", false],
  ];
  for (const [glob, word, expected] of cases) {
    test(`${JSON.stringify(glob)} ${expected ? "matches" : "does not match"} ${JSON.stringify(word)}`, () => {
      assert.equal(compileGlob(glob).test(word), expected);
    });
  }

  test("reports literals and the lone star", () => {
    assert.equal(compileGlob("a\\*b").literal, "a*b");
    assert.equal(compileGlob("a*b").literal, undefined);
    assert.equal(compileGlob("*").star, true);
    assert.equal(compileGlob("\\*").star, false);
    assert.equal(compileGlob("**").star, false);
  });
});

describe("normalizePath", () => {
  const cases: [string, string][] = [
    ["/", "/"],
    ["//", "/"],
    ["///", "/"],
    ["/./", "/"],
    ["/.", "/"],
    ["/tmp/..", "/"],
    ["/tmp/../", "/"],
    ["/../..", "/"],
    ["/usr//bin/./rm", "/usr/bin/rm"],
    ["/usr/bin/../sbin/", "/usr/sbin"],
    ["./build", "build"],
    ["build/", "build"],
    ["./", "."],
    ["../x", "../x"],
    ["a/../../b", "../b"],
    ["a/b/..", "a"],
    ["rm", "rm"],
    ["..", ".."],
    ["-rf", "-rf"],
  ];
  for (const [path, expected] of cases) {
    test(`${path} → ${expected}`, () => assert.equal(normalizePath(path), expected));
  }
});

describe("tokenizePattern", () => {
  test("splits on any whitespace", () => {
    assert.deepEqual(
      tokenizePattern("  rm\t-rf  /\n").map((token) => token.glob),
      ["rm", "-rf", "/"],
    );
  });

  test("double quotes group words and make them literal", () => {
    assert.deepEqual(tokenizePattern('echo "a b*" x"?"y'), [
      { glob: "echo", quoted: false },
      { glob: "a b\\*", quoted: true },
      { glob: "x\\?y", quoted: false },
    ]);
  });

  test("an empty quoted word is a word", () => {
    assert.deepEqual(tokenizePattern('printf ""'), [
      { glob: "printf", quoted: false },
      { glob: "", quoted: true },
    ]);
  });
});

function outcome(pattern: string, commandText: string, exact = false): MatchOutcome {
  const compiled = compileWordPattern(pattern, exact);
  assert.ok(compiled, `pattern ${pattern} compiles`);
  return alternativeOutcome(compiled, viewCommand(command(commandText)));
}

type Case = [pattern: string, command: string, expected: MatchOutcome];

function table(name: string, cases: readonly Case[], exact = false): void {
  describe(name, () => {
    for (const [pattern, commandText, expected] of cases) {
      const label = ["NO", "MAYBE", "YES"][expected];
      test(`${JSON.stringify(pattern)} vs ${JSON.stringify(commandText)}: ${label}`, () => {
        assert.equal(outcome(pattern, commandText, exact), expected);
      });
    }
  });
}

table("program: basename vs path", [
  ["rm", "rm x", YES],
  ["rm", "/bin/rm x", YES],
  ["rm", "/usr/bin/../bin/rm x", YES],
  ["rm", "./rm", YES],
  ["rm", "rmdir x", NO],
  ["rm", "xrm", NO],
  ["/bin/rm", "/bin/rm x", YES],
  ["/bin/rm", "//bin//rm x", YES],
  ["/bin/rm", "/bin/./rm", YES],
  ["/bin/rm", "/usr/bin/rm x", NO],
  ["/bin/rm", "rm x", NO],
  ["/usr/*/rm", "/usr/local/rm", YES],
  ["/usr/*/rm", "/opt/rm", NO],
  ["r?", "rm", YES],
  ["*", "anything at all", YES],
  ["*", "$CMD x", YES],
  ["rm", "$CMD x", MAYBE],
  ["/bin/rm", "/bin/$X", MAYBE],
  ["python*", "python3.12 -V", YES],
]);

table("options: clusters on both sides", [
  ["rm -rf", "rm -rf /", YES],
  ["rm -rf", "rm -fr /", YES],
  ["rm -rf", "rm -r -f /", YES],
  ["rm -rf", "rm -f -r /", YES],
  ["rm -rf", "rm -rfv /", YES],
  ["rm -rf", "rm -vfr /", YES],
  ["rm -r -f", "rm -rf /", YES],
  ["rm -fr", "rm -r -v -f /", YES],
  ["rm -r", "rm -rf /", YES],
  ["rm -r", "rm -f /", NO],
  ["rm -rf", "rm -r /", NO],
  ["rm -rf", "rm -R -f /", NO],
  ["rm -r", "rm / -r", YES],
  ["rm -r", "rm -- -r", NO],
  ["rm -r", "rm -f $OPTS", MAYBE],
  ["rm -r", "rm -- $X", NO],
  ["rm -r", "rm -f x", NO],
  ["find -delete", "find . -delete", YES],
  ["find -delete", "find . -name x", NO],
]);

table("options: long names and values", [
  ["rm --recursive", "rm --recursive /", YES],
  ["rm --recursive", "rm --rec /", YES],
  ["rm --recursive", "rm --r /", YES],
  ["rm --recursive", "rm --recursively /", NO],
  ["rm --recursive", "rm --force /", NO],
  ["rm --recursive", "rm -r /", NO],
  ["git push --force", "git push --force origin", YES],
  ["git push --force", "git push --force=yes", YES],
  ["git push --force", "git push --force-with-lease", NO],
  ["kubectl --namespace=prod", "kubectl --namespace=prod get", YES],
  ["kubectl --namespace=prod", "kubectl --namespace prod get", YES],
  ["kubectl --namespace=prod", "kubectl --namespace=staging get", NO],
  ["kubectl --namespace=prod", "kubectl --namespace staging get", NO],
  ["kubectl --namespace=prod", "kubectl --namespace", NO],
  ["kubectl --namespace=prod", "kubectl --namespace -x prod", NO],
  ["kubectl --namespace=prod", "kubectl --name=prod get", YES],
  ["kubectl --namespace=prod*", "kubectl --namespace=prod-eu get", YES],
  ["kubectl --namespace=prod", "kubectl --namespace $NS get", MAYBE],
  ["kubectl --namespace=*", "kubectl --namespace $NS get", YES],
  ["kubectl --namespace=prod", "kubectl $ARGS get", MAYBE],
  ["curl --output=/etc/passwd", "curl --output=/etc//passwd x", YES],
  ["curl --output=/etc/passwd", "curl --output /etc/./passwd x", YES],
]);

table("positionals: subsequence", [
  ["systemctl restart *", "systemctl restart nginx", YES],
  ["systemctl restart *", "systemctl restart", NO],
  ["systemctl restart *", "systemctl --now restart nginx", YES],
  ["systemctl restart *", "systemctl status nginx", NO],
  ["systemctl restart", "systemctl -q restart nginx now", YES],
  ["git push origin main", "git push -f origin main", YES],
  ["git push origin main", "git push origin dev main", YES],
  ["git push origin main", "git push main origin", NO],
  ["cp * /etc/sudoers", "cp x /etc/sudoers", YES],
  ["cp * /etc/sudoers", "cp /etc/sudoers", NO],
  ["rm /", "rm -rf $X", MAYBE],
  ["rm /", "rm -rf $X /tmp", MAYBE],
  ["rm /", "rm -rf /tmp $X", MAYBE],
  ["rm /", "rm -rf /tmp", NO],
  ["rm * /", "rm $X", MAYBE],
  ["rm *", "rm $X", YES],
  ["rm", "rm -rf $X", YES],
  ["cat /etc/shadow", "cat /etc/shadow*", MAYBE],
  ["cat /etc/shadow", "cat ~/x", MAYBE],
  ["tee /etc/passwd", "tee -a /etc/passwd", YES],
  ["echo /etc/passwd", "echo x > /etc/passwd", YES],
  ["echo /etc/passwd", "echo x >/etc/./passwd", YES],
  ["echo /etc/passwd", "echo x 2>> /etc/passwd", YES],
  ["cat /etc/passwd", "cat < /etc/passwd", YES],
  ["echo * /etc/passwd", "echo /etc/passwd", NO],
  ["echo /etc/passwd", "echo x > $F", MAYBE],
  ['printf "-x"', "printf -- -x", YES],
  ['printf "-x"', "printf -x", NO],
  ["printf -- -x", "printf -- -x", YES],
]);

table(
  "positionals: exact",
  [
    ["systemctl status *", "systemctl status", YES],
    ["systemctl status *", "systemctl status nginx", YES],
    ["systemctl status *", "systemctl status a b c", YES],
    ["systemctl status *", "systemctl restart nginx", NO],
    ["systemctl status *", "systemctl --no-pager status nginx", YES],
    ["git log", "git log", YES],
    ["git log", "git log --oneline", YES],
    ["git log", "git log x", NO],
    ["git log", "git x log", NO],
    ["cat /var/log/*.log", "cat /var/log/app.log", YES],
    ["cat /var/log/*.log", "cat /var/log/app.log /etc/shadow", NO],
    ["cat /var/log/*.log", "cat /var/log/app.log 2> /dev/null", NO],
    ["cp * /backup", "cp a b /backup", YES],
    ["cp * /backup", "cp /backup", YES],
    ["cp * /backup", "cp a b /backup c", NO],
    ["ls *", "ls $X", YES],
    ["ls", "ls $X", MAYBE],
    ["cat /a", "cat $X", MAYBE],
    ["cat /a /b", "cat $X", MAYBE],
    ["cat /a /b", "cat /a $X", MAYBE],
    ["cat /a /b", "cat $X /c", NO],
    ["cat /a", "cat /b $X", NO],
  ],
  true,
);

table("path normalization of positionals", [
  ["rm -r /", "rm -rf //", YES],
  ["rm -r /", "rm -rf /tmp/../", YES],
  ["rm -r /", "rm -r -f /./", YES],
  ["rm -r /", "rm -rf ///.//", YES],
  ["rm -r /", "rm -rf /usr/..", YES],
  ["rm -r /", "rm -rf ./build", NO],
  ["rm -r /", "rm -rf /tmp", NO],
  ["rm -r /", "rm -rf build/", NO],
  ["rm -r /etc/", "rm -r /etc", YES],
  ["rm -r /etc", "rm -r //etc//", YES],
  ["rm -r /etc", "rm -r /var/../etc/.", YES],
  ["rm -r ./build", "rm -r build", YES],
  ["rm -r /etc", "rm -r etc", NO],
]);

test("empty patterns compile to nothing", () => {
  assert.equal(compileWordPattern("", false), undefined);
  assert.equal(compileWordPattern("  \t", false), undefined);
});

test("the command view splits options, positionals and redirects", () => {
  const view = viewCommand(command("/usr/bin/../bin/rm -rf --one-file-system x -- -y > out $Z"));
  assert.equal(view.path, "/usr/bin/rm");
  assert.equal(view.basename, "rm");
  assert.deepEqual([...view.shorts], ["r", "f"]);
  assert.deepEqual(
    view.longs.map((option) => option.name),
    ["one-file-system"],
  );
  assert.deepEqual(
    view.positionals.map((word) => word.text),
    ["x", "-y", "$Z", "out"],
  );
  assert.equal(view.optionsMaybe, false);
  assert.deepEqual(view.dynamicWords, ["$Z"]);
  assert.equal(view.text, "/usr/bin/../bin/rm -rf --one-file-system x -- -y $Z");
  assert.equal(view.dynamicReason, undefined);
});

test("a dynamic program is the command's dynamic reason", () => {
  const view = viewCommand(command("$EDITOR /etc/hosts"));
  assert.equal(view.path, undefined);
  assert.equal(view.dynamicReason, "dynamic program $EDITOR");
});
