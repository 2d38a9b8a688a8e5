// Tests for the shell side of the interactive gate (src/interactive/integration.ts):
// the bootstrap command starts real bash and zsh in a pty (and once through a
// real sshd), with per-test startup files in a private HOME; a stand-in
// bastion reads the OSC 6973 markers and answers every gate request. What ran
// is asserted through files the typed commands create.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pty from "node-pty";
import { integrationCommand } from "../../src/interactive/integration.js";
import { decodeAnsiC } from "../../src/policy/shell/ansi-c.js";
import { generateTestKey } from "../harness/keys.js";
import { startSshd } from "../harness/sshd.js";

const NONCE = randomBytes(16).toString("hex");
const WAIT_MS = 10_000;
/** Long enough for zle/readline to take a lone ESC as a key (zsh KEYTIMEOUT is 400 ms). */
const ESC_PAUSE_MS = 100;
const ESC = "\x1b";
const BEL = "\x07";
/** Both readline and zle switch bracketed paste on when they start reading a line (raw mode). */
const PASTE_ON = "\x1b[?2004h";
const MARKER = new RegExp(`${ESC}\\]6973;([0-9a-f]{32});([A-Z])(?:;([^${BEL}]*))?${BEL}`, "g");

interface Marker {
  readonly kind: string;
  readonly fields: string;
  /** Length of the output when the marker arrived. */
  readonly at: number;
}

/** Reads one shell-quoted word (`'…'`, `$'…'`, `\c`, bare text) up to an unquoted `;`. */
function readWord(text: string): { value: string; rest: string } {
  let value = "";
  let i = 0;
  while (i < text.length && text[i] !== ";") {
    if (text[i] === "'" || text.startsWith("$'", i)) {
      const ansiC = text[i] === "$";
      const start = i + (ansiC ? 2 : 1);
      let end = start;
      while (text[end] !== "'") {
        if (end >= text.length) throw new Error(`unterminated quote in ${JSON.stringify(text)}`);
        end += ansiC && text[end] === "\\" ? 2 : 1;
      }
      value += ansiC ? decodeAnsiC(text.slice(start, end)) : text.slice(start, end);
      i = end + 1;
    } else if (text[i] === "\\") {
      value += text[i + 1] ?? "";
      i += 2;
    } else {
      value += text[i];
      i += 1;
    }
  }
  return { value, rest: text.slice(i + 1) };
}

/** Plays the bastion: collects markers, answers `G` with `A<r>` or (for denied lines) `D<r>`. */
class StandInBastion {
  readonly markers: Marker[] = [];
  readonly gates: string[] = [];
  output = "";
  exited = false;
  deny: (line: string) => boolean = (line) => line.includes("forbidden");
  private pending = "";
  private readonly waiters = new Set<() => void>();
  private readonly term: pty.IPty;

  constructor(file: string, args: string[], env: Record<string, string>) {
    this.term = pty.spawn(file, args, { name: "xterm-256color", cols: 120, rows: 30, env });
    this.term.onData((data) => this.receive(data));
    this.term.onExit(() => {
      this.exited = true;
      this.wake();
    });
  }

  type(keys: string): void {
    this.term.write(keys);
  }

  /** Hangs up the terminal; kills the process if it is still there after a while. */
  async close(): Promise<void> {
    if (this.exited) return;
    this.term.kill("SIGHUP");
    await this.until(() => this.exited, "exit after SIGHUP", 2000).catch(() =>
      this.term.kill("SIGKILL"),
    );
  }

  count(kind: string, from = 0): number {
    return this.markers.slice(from).filter((marker) => marker.kind === kind).length;
  }

  /** Waits for a `kind` marker after index `from`; returns the index just past it. */
  async next(kind: string, from: number): Promise<number> {
    await this.until(
      () => this.markers.findIndex((m, i) => i >= from && m.kind === kind) >= 0,
      `${kind} marker`,
    );
    return this.markers.findIndex((m, i) => i >= from && m.kind === kind) + 1;
  }

  /** Types `keys` and waits for the next primary prompt marker; returns the markers in between. */
  async line(keys: string): Promise<string> {
    const from = this.markers.length;
    this.type(keys);
    const prompt = await this.next("P", from);
    await this.editing(prompt);
    return this.kinds(from);
  }

  /** Waits until the line editor reads keys again after marker `index` (it turns on bracketed paste). */
  editing(index: number): Promise<void> {
    const at = this.markers[index - 1]?.at ?? 0;
    return this.until(() => this.output.indexOf(PASTE_ON, at) >= 0, "the line editor");
  }

  kinds(from: number): string {
    return this.markers
      .slice(from)
      .map((marker) => marker.kind)
      .join("");
  }

  lastGate(): string | undefined {
    return this.gates.at(-1);
  }

  until(predicate: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `timed out waiting for ${what}; output:\n${JSON.stringify(this.output.slice(-1500))}`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (!predicate() && !this.exited) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        if (predicate()) resolve();
        else
          reject(
            new Error(
              `exited while waiting for ${what}; output:\n${JSON.stringify(this.output.slice(-1500))}`,
            ),
          );
      };
      this.waiters.add(check);
    });
  }

  private receive(data: string): void {
    this.output += data;
    this.pending += data;
    let consumed = 0;
    const base = this.output.length - this.pending.length;
    for (const match of this.pending.matchAll(MARKER)) {
      consumed = match.index + match[0].length;
      if (match[1] !== NONCE) continue;
      this.onMarker({ kind: match[2] ?? "", fields: match[3] ?? "", at: base + consumed });
    }
    const rest = this.pending.slice(consumed);
    const start = rest.lastIndexOf("\x1b]");
    this.pending = start === -1 ? "" : rest.slice(start);
    this.wake();
  }

  private onMarker(marker: Marker): void {
    this.markers.push(marker);
    if (marker.kind !== "G") return;
    const challenge = marker.fields.slice(0, 16);
    assert.match(marker.fields, /^[0-9a-f]{16};/);
    const line = readWord(marker.fields.slice(17)).value;
    this.gates.push(line);
    // As the real bastion does: a deny inside a multi-line construct is followed
    // by Ctrl-C in the same write, which discards the whole construct.
    const previous = this.markers.at(-2)?.kind;
    const verdict = this.deny(line)
      ? `D${challenge}${previous === "S" ? "\x03" : ""}`
      : `A${challenge}`;
    this.term.write(verdict);
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

interface ShellCase {
  readonly name: "bash" | "zsh";
  readonly path: string;
  readonly startupFiles: Readonly<Record<string, string>>;
  readonly viMode: string;
  readonly emacsMode: string;
  readonly startupCheck: string;
  readonly isearchPrompt: string;
}

const SHELLS: readonly ShellCase[] = [
  {
    name: "bash",
    path: "/bin/bash",
    startupFiles: {
      ".bash_profile": ". ~/.bashrc\n",
      ".profile": "touch ~/profile-was-read\n",
      ".bashrc": [
        "alias ll='ls -l'",
        "myfunc() { :; }",
        "PS1='$ '",
        "PROMPT_COMMAND='user_pc=1'",
        "bashrc_read=1",
        "set -a",
        "",
      ].join("\n"),
    },
    viMode: "set -o vi",
    emacsMode: "set -o emacs",
    startupCheck: "echo $bashrc_read$user_pc",
    isearchPrompt: "reverse-i-search",
  },
  {
    name: "zsh",
    path: "/usr/bin/zsh",
    startupFiles: {
      ".zshenv": "zshenv_read=1\n",
      ".zprofile": "zprofile_read=1\n",
      ".zshrc": [
        "alias ll='ls -l'",
        "myfunc() { :; }",
        "PROMPT='%% '",
        "autoload -Uz edit-command-line",
        "zle -N edit-command-line",
        "bindkey '^X^E' edit-command-line",
        "setopt allexport",
        "zshrc_read=1",
        "",
      ].join("\n"),
      ".zlogin": "zlogin_read=1\n",
    },
    viMode: "bindkey -v",
    emacsMode: "bindkey -e",
    startupCheck: "echo $zshenv_read$zprofile_read$zshrc_read$zlogin_read",
    isearchPrompt: "bck-i-search",
  },
];

function shellEnv(shellPath: string, home: string, tmp: string): Record<string, string> {
  return {
    HOME: home,
    SHELL: shellPath,
    TMPDIR: tmp,
    TERM: "xterm-256color",
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    LANG: "C.UTF-8",
    EDITOR: join(home, "editor.sh"),
  };
}

function writeHome(home: string, files: Readonly<Record<string, string>>, work: string): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(home, name), text);
  writeFileSync(join(home, "editor.sh"), `#!/bin/sh\ntouch ${work}/editor-ran\n`, { mode: 0o755 });
}

for (const shell of SHELLS) {
  describe(`integration: ${shell.name} in a pty`, () => {
    let root: string;
    let home: string;
    let tmp: string;
    let work: string;
    let bastion: StandInBastion;
    const file = (name: string) => join(work, name);

    before(async () => {
      root = mkdtempSync(join(tmpdir(), `pc-integration-${shell.name}-`));
      [home, tmp, work] = ["home", "tmp", "work"].map((dir) => join(root, dir)) as [
        string,
        string,
        string,
      ];
      for (const dir of [home, tmp, work]) mkdirSync(dir);
      writeHome(home, shell.startupFiles, work);
      const command = integrationCommand(NONCE, "auto");
      bastion = new StandInBastion("/bin/sh", ["-c", command], shellEnv(shell.path, home, tmp));
      await bastion.editing(await bastion.next("P", 0));
    });

    after(async () => {
      await bastion.close();
      rmSync(root, { recursive: true, force: true });
    });

    it("reports R with the startup files' aliases and functions, then P; the rc files are gone", () => {
      assert.deepEqual(
        bastion.markers.slice(0, 2).map((m) => m.kind),
        ["R", "P"],
      );
      const r = bastion.markers[0]?.fields ?? "";
      assert.ok(r.startsWith(`${shell.name};`));
      const aliases = readWord(r.slice(shell.name.length + 1));
      const functions = readWord(aliases.rest).value.split(" ");
      assert.match(aliases.value, /^alias ll='ls -l'$/m);
      assert.ok(functions.includes("myfunc"), functions.join(" "));
      assert.ok(!functions.some((name) => name.startsWith("__pc_")), functions.join(" "));
      assert.deepEqual(readdirSync(tmp), []);
    });

    it("ran every startup file of a login shell (and only the first bash profile)", async () => {
      await bastion.line(`${shell.startupCheck} > ${file("startup")}\r`);
      assert.equal(
        readFileSync(file("startup"), "utf8"),
        shell.name === "bash" ? "11\n" : "1111\n",
      );
      assert.equal(existsSync(join(home, "profile-was-read")), false);
    });

    it("runs an allowed line after its gate, with C before the next P", async () => {
      const kinds = await bastion.line(`touch ${file("ok1")}\r`);
      assert.equal(kinds, "GCP");
      assert.equal(bastion.lastGate(), `touch ${file("ok1")}`);
      assert.ok(existsSync(file("ok1")));
    });

    it("does not run a denied line; the empty line gives P and no C", async () => {
      const kinds = await bastion.line(`touch ${file("forbidden1")}\r`);
      assert.equal(kinds, "GP");
      assert.equal(existsSync(file("forbidden1")), false);
    });

    it("gates an empty line as '' and gives P and no C", async () => {
      const kinds = await bastion.line("\r");
      assert.equal(kinds, "GP");
      assert.equal(bastion.lastGate(), "");
    });

    it("gates a recalled history line (arrow up) with the recalled text", async () => {
      await bastion.line(`echo h >> ${file("hist")}\r`);
      const kinds = await bastion.line("\x1b[A\r");
      assert.equal(kinds, "GCP");
      assert.equal(bastion.lastGate(), `echo h >> ${file("hist")}`);
      assert.equal(readFileSync(file("hist"), "utf8"), "h\nh\n");
    });

    it("gates Enter and \\C-o after a Ctrl-R search with the found line", async () => {
      for (const [key, runs] of [
        ["\r", 3],
        ["\x0f", 4],
      ] as const) {
        const shown = bastion.output.length;
        bastion.type("\x12echo h");
        await bastion.until(
          () => bastion.output.slice(shown).includes(shell.isearchPrompt),
          "isearch prompt",
        );
        assert.equal(await bastion.line(key), "GCP");
        assert.equal(bastion.lastGate(), `echo h >> ${file("hist")}`);
        assert.equal(readFileSync(file("hist"), "utf8"), "h\n".repeat(runs));
      }
      await bastion.line("\x01\x0b\r");
    });

    it("gates \\C-j and \\C-o", async () => {
      await bastion.line(`touch ${file("ok-cj")}\n`);
      await bastion.line(`touch ${file("forbidden-cj")}\n`);
      await bastion.line(`touch ${file("ok-co")}\x0f`);
      await bastion.line(`\x01\x0btouch ${file("forbidden-co")}\x0f`);
      assert.deepEqual(bastion.gates.slice(-4), [
        `touch ${file("ok-cj")}`,
        `touch ${file("forbidden-cj")}`,
        `touch ${file("ok-co")}`,
        `touch ${file("forbidden-co")}`,
      ]);
      assert.ok(existsSync(file("ok-cj")) && existsSync(file("ok-co")));
      assert.equal(existsSync(file("forbidden-cj")) || existsSync(file("forbidden-co")), false);
      await bastion.line("\x01\x0b\r");
    });

    it("gates Enter in vi insert and vi command mode (bash: `v` does not edit-and-execute)", async () => {
      await bastion.line(`${shell.viMode}\r`);
      await bastion.line(`touch ${file("vi-insert")}\r`);
      for (const name of ["vi-command", "forbidden-vi-command"]) {
        bastion.type(`touch ${file(name)}\x1b`);
        await sleep(ESC_PAUSE_MS);
        await bastion.line("\r");
        assert.equal(bastion.lastGate(), `touch ${file(name)}`);
      }
      if (shell.name === "bash") {
        bastion.type(`touch ${file("vi-v")}\x1b`);
        await sleep(ESC_PAUSE_MS);
        await bastion.line("v0D\r");
        assert.equal(bastion.lastGate(), "");
        assert.equal(existsSync(file("vi-v")) || existsSync(file("editor-ran")), false);
      }
      await bastion.line(`${shell.emacsMode}\r`);
      assert.ok(existsSync(file("vi-insert")) && existsSync(file("vi-command")));
      assert.equal(existsSync(file("forbidden-vi-command")), false);
    });

    if (shell.name === "zsh") {
      it("gates accept-and-hold (ESC a) and keeps the line", async () => {
        const kinds = await bastion.line(`touch ${file("held")}\x1ba`);
        assert.equal(kinds, "GCP");
        assert.ok(existsSync(file("held")));
        await bastion.line(`\x01\x0btouch ${file("forbidden-held")}\x1ba`);
        assert.equal(existsSync(file("forbidden-held")), false);
        await bastion.line("\x01\x0b\r");
      });
    }

    it("gates a bracketed paste of two lines once, as one buffer", async () => {
      const gates = bastion.gates.length;
      const paste = (a: string, b: string) =>
        `\x1b[200~touch ${file(a)}\ntouch ${file(b)}\x1b[201~`;
      bastion.type(paste("paste1", "forbidden-paste2"));
      await bastion.line("\r");
      bastion.type(paste("paste3", "paste4"));
      await bastion.line("\r");
      assert.deepEqual(bastion.gates.slice(gates), [
        `touch ${file("paste1")}\ntouch ${file("forbidden-paste2")}`,
        `touch ${file("paste3")}\ntouch ${file("paste4")}`,
      ]);
      assert.equal(existsSync(file("paste1")) || existsSync(file("forbidden-paste2")), false);
      assert.ok(existsSync(file("paste3")) && existsSync(file("paste4")));
    });

    for (const [name, firstLine] of [
      ["an open quote", (path: string) => `touch ${path} "a`],
      ["a backslash continuation", (path: string) => `touch ${path} \\`],
    ] as const) {
      it(`aborts ${name} denied on its second line (deny and Ctrl-C in one write)`, async () => {
        const from = bastion.markers.length;
        bastion.type(`${firstLine(file("continued"))}\r`);
        const afterFirst = await bastion.next("S", from);
        bastion.type('forbidden"\r');
        await bastion.editing(await bastion.next("P", afterFirst));
        assert.match(bastion.kinds(from), /^GSGS*P+$/);
        assert.equal(bastion.lastGate(), 'forbidden"');
        assert.equal(existsSync(file("continued")), false);
      });
    }

    it("does not expand history (!!)", async () => {
      await bastion.line(`echo !! > ${file("bang")}\r`);
      assert.equal(readFileSync(file("bang"), "utf8"), "!!\n");
    });

    it("reports control and non-ASCII characters in the line exactly, and runs them", async () => {
      await bastion.line(`printf 'é a\x16\x07b' > ${file("bel")}\r`);
      assert.equal(bastion.lastGate(), `printf 'é a\x07b' > ${file("bel")}`);
      assert.equal(readFileSync(file("bel"), "utf8"), "é a\x07b");
    });

    it("does not run anything on \\C-x\\C-e (edit-and-execute / edit-command-line)", async () => {
      await bastion.line(`touch ${file("edited")}\x18\x05\x01\x0btrue\r`);
      assert.equal(bastion.lastGate(), "true");
      assert.equal(existsSync(file("edited")) || existsSync(file("editor-ran")), false);
    });

    it("leaves no other key that accepts a line without the gate", async () => {
      const keys =
        shell.name === "bash"
          ? `#touch ${file("uncommented")}\x1b1\x1b#`
          : `touch ${file("helped")}\x1bh\x1bx\x1b?`;
      const kinds = await bastion.line(`${keys}\x01\x0btrue\r`);
      assert.equal(kinds, "GCP");
      assert.equal(bastion.lastGate(), "true");
      assert.equal(existsSync(file("uncommented")) || existsSync(file("helped")), false);
    });

    it("keeps the nonce out of the environment of commands", async () => {
      await bastion.line(`env > ${file("env")}\r`);
      assert.ok(readFileSync(file("env"), "utf8").includes(`HOME=${home}`));
      assert.equal(readFileSync(file("env"), "utf8").includes(NONCE), false);
    });
  });
}

describe("integration: fallbacks", () => {
  let root: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), "pc-integration-fallback-"));
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  it("starts a plain login shell without R when the login shell is neither bash nor zsh", async () => {
    const bastion = new StandInBastion("/bin/sh", ["-c", integrationCommand(NONCE, "auto")], {
      ...shellEnv("/bin/sh", root, root),
      PS1: "fallback$ ",
    });
    try {
      bastion.type(`touch ${join(root, "plain")}\r`);
      await bastion.until(() => existsSync(join(root, "plain")), "the command to run");
      assert.deepEqual(bastion.markers, []);
    } finally {
      await bastion.close();
    }
  });

  it("forces bash when asked, whatever the login shell", async () => {
    const bastion = new StandInBastion(
      "/bin/sh",
      ["-c", integrationCommand(NONCE, "bash")],
      shellEnv("/bin/sh", root, root),
    );
    try {
      await bastion.next("P", 0);
      assert.ok(bastion.markers[0]?.fields.startsWith("bash;"));
    } finally {
      await bastion.close();
    }
  });

  it("refuses a nonce that is not 32 lowercase hex characters", () => {
    assert.throws(() => integrationCommand("ABC", "auto"), { code: "ERR_INTERACTIVE_NONCE" });
  });
});

describe("integration: through a real sshd", () => {
  it("installs as `$SHELL -c` under sshd with a pty and gates lines", async () => {
    const root = mkdtempSync(join(tmpdir(), "pc-integration-sshd-"));
    const key = generateTestKey(root);
    const sshd = await startSshd({ authorizedKeys: [key.publicLine] });
    const bastion = new StandInBastion(
      "ssh",
      [
        ...["-tt", "-i", key.privatePath, "-p", String(sshd.port), "-o", "BatchMode=yes"],
        ...[
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-o",
          "LogLevel=ERROR",
        ],
        `${sshd.login}@${sshd.host}`,
        integrationCommand(NONCE, "auto"),
      ],
      { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "xterm-256color", HOME: root },
    );
    try {
      await bastion.next("P", 0);
      assert.equal(bastion.markers[0]?.kind, "R");
      await bastion.line(`touch ${join(root, "ssh-ok")}\r`);
      await bastion.line(`touch ${join(root, "ssh-forbidden")}\r`);
      assert.ok(existsSync(join(root, "ssh-ok")));
      assert.equal(existsSync(join(root, "ssh-forbidden")), false);
      bastion.type("exit\r");
      await bastion.until(() => bastion.exited, "ssh to exit");
    } finally {
      await bastion.close();
      await sshd.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
