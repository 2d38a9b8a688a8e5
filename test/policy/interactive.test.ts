// Lines typed in an interactive shell (src/policy/interactive.ts): the shell
// facts from the R marker, alias expansion, the unverified classes (nested
// sessions, tampering with the integration, startup functions) and how
// `on_unverified` combines with the command's own decision.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell `${…}` syntax in test data
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  decideInteractiveLine,
  NO_SHELL_FACTS,
  parseShellFacts,
  type ShellFacts,
} from "../../src/policy/interactive.js";
import type { AccessEntry, RuleAction } from "../../src/policy/types.js";
import { decideSessionLine, decideShellLine } from "../../src/session/command-check.js";
import { policyFrom, targetYaml } from "./fixtures.js";
import { accessEntry } from "./matcher-helpers.js";

const POLICY = policyFrom(`
rulesets:
  base:
    default: allow
    rules:
      - deny: "rm -rf"
        reason: recursive delete
      - deny: "vim /etc/shadow"
        reason: shadow file
      - warn: screen
        reason: screen is noted
      - deny: { writes: "/etc/*" }
        reason: writes under /etc
`);

/** on_dynamic allow, so only on_unverified can refuse what the rules allow. */
function entry(onUnverified: RuleAction = "deny"): AccessEntry {
  return { ...accessEntry(["base"], "allow"), on_unverified: onUnverified };
}

const FACTS = parseShellFacts(
  [
    "alias ll='ls -alF'",
    "alias del='rm -rf'",
    "alias ls='ls --color=auto'",
    "alias l='ll'",
    "alias a='b'",
    "alias b='a x'",
    "alias root='sudo -i'",
    "alias prompt='PS1=x'",
    "alias open='echo \"'",
    "alias -g G='| grep'",
    "alias -s txt=vim",
  ].join("\n"),
  "nvm  mkcd\n",
);

function decide(line: string, facts: ShellFacts = FACTS, onUnverified: RuleAction = "deny") {
  return decideInteractiveLine(POLICY, entry(onUnverified), line, facts);
}

function assertUnverified(line: string, reason?: RegExp): void {
  const verdict = decide(line);
  assert.equal(verdict.decision, "deny", `${line}: ${verdict.reason}`);
  assert.equal(verdict.rule, "on_unverified", `${line}: ${verdict.reason}`);
  if (reason !== undefined) assert.match(verdict.reason ?? "", reason);
}

function assertVerified(line: string): void {
  const verdict = decide(line);
  assert.equal(verdict.decision, "allow", `${line}: ${verdict.rule} ${verdict.reason}`);
}

function classTable(name: string, unverified: readonly string[], verified: readonly string[]) {
  describe(name, () => {
    for (const line of unverified) test(`unverified: ${line}`, () => assertUnverified(line));
    for (const line of verified) test(`verified: ${line}`, () => assertVerified(line));
  });
}

describe("parseShellFacts", () => {
  test("reads bash `alias -p` and zsh `alias -L` text, quotes included", () => {
    const facts = parseShellFacts(
      "alias ll='ls -alF'\nalias q='it'\\''s'\nalias -- -='cd -'\nalias -g G='| grep'\nalias -s txt=vim",
      "",
    );
    assert.equal(facts.aliases.get("ll"), "ls -alF");
    assert.equal(facts.aliases.get("q"), "it's");
    assert.equal(facts.aliases.get("-"), "cd -");
    assert.equal(facts.aliases.get("G"), "| grep");
    assert.deepEqual([...(facts.globalAliases ?? [])], ["G"]);
    assert.equal(facts.suffixAliases?.get("txt"), "vim");
    assert.equal(facts.aliases.has("txt"), false);
  });

  test("splits function names on any whitespace", () => {
    assert.deepEqual([...parseShellFacts("", " nvm\tmkcd \n").functions], ["nvm", "mkcd"]);
  });

  test("keeps the lines that parse when another does not, and the raw value of the broken one", () => {
    const facts = parseShellFacts("alias ok='ls'\nalias broken=echo )", "");
    assert.equal(facts.aliases.get("ok"), "ls");
    assert.equal(facts.aliases.get("broken"), "echo )");
    const verdict = decideInteractiveLine(POLICY, entry(), "broken", facts);
    assert.equal(verdict.rule, "on_unverified");
  });

  test("a value spanning lines is read as the shell wrote it", () => {
    const facts = parseShellFacts("alias two='echo a\necho b'\nalias ok=ls", "");
    assert.equal(facts.aliases.get("two"), "echo a\necho b");
    assert.equal(facts.aliases.get("ok"), "ls");
  });

  test("never throws on arbitrary text", () => {
    for (const text of ["", "((((", "alias", "alias =x", "\u0000\u001b]", "alias $(x)=y"]) {
      assert.doesNotThrow(() => parseShellFacts(text, text));
    }
  });
});

classTable(
  "nested sessions",
  [
    "bash",
    "bash -i",
    "bash -l",
    "sh -s arg",
    "zsh --login",
    "dash",
    "fish",
    "/bin/bash",
    "env -i bash --norc",
    "echo ls | bash",
    "sudo -i",
    "sudo -s",
    "sudo -u bob -i",
    "sudo su",
    "sudo su -",
    "su",
    "su - bob",
    "doas -s",
    "ssh host",
    "ssh -p 2222 -i key host",
    "ssh host -t bash",
    "mosh host",
    "tmux",
    "tmux attach -t 0",
    "byobu",
    "script -q /dev/null",
    "docker exec -it web bash",
    "podman exec -it web sh",
    "kubectl exec -it pod -- bash",
    "docker run -it ubuntu",
    "docker attach web",
    "lxc shell c1",
    "nsenter -t 1 -a",
    "python3",
    "exec zsh",
  ],
  [
    "bash deploy.sh",
    "bash -c 'ls -l'",
    "sh -c uptime",
    "bash <<< 'ls'",
    "zsh --version",
    "sudo ls",
    "sudo -u bob id",
    "su -c id bob",
    "ssh host uptime",
    "ssh -N -L 8080:db:5432 host",
    "ssh host -- df -h",
    "mosh host -- uptime",
    "docker exec web ls",
    "docker ps",
    "kubectl exec pod -- sh -c 'ls /'",
    "python3 script.py",
    "python3 --version",
  ],
);

classTable(
  "tampering with the integration",
  [
    "PS1=x",
    "PS0='' ls",
    "PROMPT_COMMAND=x cmd",
    "precmd_functions+=(f)",
    "preexec_functions=()",
    "READLINE_LINE=x",
    "for PS1 in a; do :; done",
    "export PS0",
    "unset PROMPT_COMMAND",
    "read PS2",
    "printf -v PS0 %s x",
    "declare -n ref=x",
    "declare -p",
    "set",
    "set -H",
    "set -o histexpand",
    "set +o emacs",
    "set -x",
    "setopt bang_hist",
    "setopt BANG_HIST",
    "unsetopt zle",
    "setopt no_zle",
    "shopt -s extdebug",
    "bind -x '\"\\C-m\": true'",
    "builtin bind -r '\\C-m'",
    "bindkey '^M' accept-line",
    "bindkey -v -M main",
    "zle -N my-widget",
    "trap 'echo' DEBUG",
    "trap 'echo' RETURN",
    "echo $__pc_n",
    "unset -f __pc_gate",
    "typeset -f __pc_gate",
    "alias x=y",
    "alias -g X=y",
    "fc -s",
    "r",
    "history -s 'rm -rf /'",
    "print -s ls",
    "source ~/.bashrc",
    ". venv/bin/activate",
    "exec > /dev/null",
    "enable -n read",
    "zmodload zsh/system",
    "emulate sh",
    "autoload -Uz foo",
    "complete -C 'rm x' ls",
    "read() { :; }",
    "function precmd { :; }",
    "eval $'\\x50S1=x'",
    "((PS0 = 1))",
    "let PS1=3",
    "echo ${PS0}",
    "echo $PROMPT_COMMAND",
    'export "$name"',
  ],
  [
    "FOO=1 ls",
    "x=1",
    "echo $PS1",
    "set -o vi",
    "bindkey -v",
    "bindkey -e",
    "set -e",
    "set -- a b",
    "setopt NO_BANG_HIST",
    "unsetopt bang_hist",
    "shopt -s globstar",
    "trap - INT",
    "trap 'rm -f /tmp/x' EXIT",
    "alias",
    "alias ll",
    "export PATH=$PATH:/opt/bin",
    "local x=1",
    "read -r line",
    "mapfile -t lines",
    "unalias ll",
    "stty -echo",
    "grep -- PS1 ~/.bashrc",
    "history",
    "declare -f",
    "f() { ls; }",
    "export -n FOO",
  ],
);

describe("aliases", () => {
  test("checks the command as typed and expanded", () => {
    const verdict = decide("ll /etc");
    assert.equal(verdict.decision, "allow");
    const argvs = verdict.commands.map((command) => command.argv.join(" "));
    assert.deepEqual(argvs, ["ll /etc", "ls -alF /etc", "ls --color=auto -alF /etc"]);
  });

  test("an alias to a denied command is denied", () => {
    const verdict = decide("del /tmp/x");
    assert.equal(verdict.decision, "deny");
    assert.equal(verdict.rule, "base#1");
    assert.equal(verdict.reason, "recursive delete");
  });

  test("the expansion's first command gets the alias's redirections and writes", () => {
    const verdict = decide("ll > /etc/motd");
    const decisions = verdict.commands.map((command) => [command.argv.join(" "), command.decision]);
    assert.deepEqual(decisions, [
      ["ll", "deny"],
      ["ls -alF", "deny"],
      ["ls --color=auto -alF", "deny"],
    ]);
  });

  test("expands aliases of aliases, after `;`, `|` and inside substitutions", () => {
    for (const line of ["l; del /", "echo x | del /", "echo $(del /)", "sudo del /"]) {
      assert.equal(decide(line).decision, "deny", line);
    }
  });

  test("stops at an alias that refers to itself or loops back", () => {
    const argvs = decide("a").commands.map((command) => command.argv.join(" "));
    assert.deepEqual(argvs, ["a", "b", "a x"]);
  });

  test("an expansion deeper than the limit is unverified", () => {
    const chain = Array.from({ length: 20 }, (_, i) => `alias c${i}='c${i + 1}'`).join("\n");
    const verdict = decide("c0", parseShellFacts(chain, ""));
    assert.equal(verdict.rule, "on_unverified");
    assert.match(verdict.reason ?? "", /nested too deeply/);
  });

  test("aliases that multiply stop at a budget instead of growing exponentially", () => {
    const chain = Array.from({ length: 16 }, (_, i) => `alias m${i}='m${i + 1};m${i + 1}'`);
    const started = process.hrtime.bigint();
    const verdict = decide("m0", parseShellFacts(chain.join("\n"), ""));
    assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
    assert.equal(verdict.rule, "on_unverified");
    assert.match(verdict.reason ?? "", /nested too deeply/);
  });

  test("an alias whose expansion does not parse is unverified", () => {
    assertUnverified("open x", /cannot be expanded safely/);
  });

  test("the expansion is classified too", () => {
    assertUnverified("root", /root shell/);
    assertUnverified("prompt", /PS1/);
  });

  test("keeps the redirections of the command it replaces", () => {
    const facts = parseShellFacts("alias v='vim'", "");
    assert.equal(decide("v < /etc/shadow", facts).decision, "deny");
  });

  test("a zsh global alias is unverified, a suffix alias is expanded", () => {
    assertUnverified("ls G x", /global alias G/);
    const verdict = decide("/etc/shadow.txt");
    assert.deepEqual(
      verdict.commands.map((command) => command.argv.join(" ")),
      ["/etc/shadow.txt", "vim /etc/shadow.txt"],
    );
  });

  test("without facts nothing is expanded", () => {
    assert.deepEqual(
      decide("del /tmp/x", NO_SHELL_FACTS).commands.map((c) => c.argv.join(" ")),
      ["del /tmp/x"],
    );
  });
});

describe("startup functions", () => {
  test("calling one is unverified", () => {
    assertUnverified("nvm use 18", /nvm, a function from the startup files/);
    assertUnverified("cd /tmp && mkcd x");
  });

  test("a program with the same name by path, or another name, is not", () => {
    assertVerified("/usr/local/bin/nvm use 18");
    assertVerified("mkdir x");
  });
});

describe("on_unverified", () => {
  const cases: ReadonlyArray<readonly [RuleAction, RuleAction]> = [
    ["allow", "allow"],
    ["warn", "warn"],
    ["approve", "approve"],
    ["deny", "deny"],
  ];
  for (const [action, expected] of cases) {
    test(`${action}: tmux gets ${expected}`, () => {
      const verdict = decide("tmux", FACTS, action);
      assert.equal(verdict.decision, expected);
      assert.equal(verdict.rule, "on_unverified");
      assert.match(verdict.reason ?? "", /starts a terminal multiplexer \(tmux\)/);
      assert.equal(verdict.commands[0]?.rule, "on_unverified");
    });
  }

  test("the command's own more severe decision wins", () => {
    const verdict = decide("screen -r", FACTS, "allow");
    assert.equal(verdict.decision, "warn");
    assert.equal(verdict.rule, "base#3");
  });

  test("a more severe on_unverified wins over the rule", () => {
    const verdict = decide("screen -r", FACTS, "deny");
    assert.equal(verdict.decision, "deny");
    assert.equal(verdict.rule, "on_unverified");
  });

  test("a line with a denied command and a nested shell is denied", () => {
    for (const action of ["allow", "warn", "deny"] as const) {
      const verdict = decide("rm -rf /tmp/x; bash", FACTS, action);
      assert.equal(verdict.decision, "deny", action);
      assert.deepEqual(
        verdict.commands.map((command) => command.rule),
        ["base#1", "on_unverified"],
      );
    }
  });

  test("a line-level finding is reported as its own entry", () => {
    const verdict = decide("PS1=x; ls", FACTS, "warn");
    assert.equal(verdict.decision, "warn");
    assert.deepEqual(verdict.commands.at(-1), {
      argv: [],
      decision: "warn",
      rule: "on_unverified",
      reason: "changes PS1, which the shell integration relies on",
      risk: 30,
    });
  });
});

describe("line status", () => {
  test("an incomplete or broken line is denied as for exec", () => {
    assert.equal(decide('echo "').status, "incomplete");
    assert.equal(decide('echo "').decision, "deny");
    assert.equal(decide("ls )").status, "error");
  });

  test("an empty line is allowed", () => {
    assert.equal(decide("").decision, "allow");
  });
});

describe("decideShellLine", () => {
  const policy = policyFrom(`
targets:
${targetYaml("web1")}
rulesets:
  base:
    default: allow
access:
  - name: ops
    subjects: { users: [alice@example.com] }
    targets: { names: [web1] }
    commands: [base]
`);

  test("applies the facts and on_unverified of the named entry", () => {
    assert.equal(decideShellLine(policy, "ops", "ls", FACTS).decision, "allow");
    assert.equal(decideShellLine(policy, "ops", "bash", FACTS).decision, "deny");
    assert.equal(decideShellLine(policy, "ops", "nvm ls", FACTS).rule, "on_unverified");
    assert.equal(decideSessionLine(policy, "ops", "nvm ls").decision, "allow");
  });

  test("fails closed when the entry is gone or evaluation throws", () => {
    assert.match(decideShellLine(policy, "gone", "ls", FACTS).reason ?? "", /no longer/);
    const broken: ShellFacts = {
      aliases: {
        get() {
          throw new Error("boom");
        },
      } as unknown as ReadonlyMap<string, string>,
      functions: new Set(),
    };
    const verdict = decideShellLine(policy, "ops", "ls", broken);
    assert.equal(verdict.decision, "deny");
    assert.match(verdict.reason ?? "", /cannot evaluate the command: boom/);
  });
});
