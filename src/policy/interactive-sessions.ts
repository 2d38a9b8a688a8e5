// Commands that start a session the bastion cannot see into (see
// docs/interactive-policy.md): nested interactive shells and interpreter
// prompts, root and other-user shells, remote shells, terminal multiplexers
// and container terminals. Lines typed there never reach the gate. Wrappers
// (`sudo`, `env`, `exec`, …) are already unwrapped by the extractor, so each
// command is judged on its own argv.

import type { ArgWord, ExtractedCommand } from "./command-types.js";
import {
  ASSIGNMENT_SOURCE,
  hasOption,
  literalOf,
  type OptionSyntax,
  scanOptions,
  syntax,
} from "./shell/options.js";
import {
  DOAS,
  INLINE_CODE,
  INTERPRETER,
  SHELLS,
  SUDO,
  shellOptions,
  VERSION_ONLY,
} from "./shell/wrappers.js";

type Detector = (program: string, args: readonly ArgWord[]) => string | undefined;

/** Shells the extractor does not model (their `-c` is not parsed) but that open sessions alike. */
const OTHER_SHELLS = new Set(["fish", "tcsh", "csh", "elvish", "nu", "xonsh", "osh", "ysh"]);
const INFO_ONLY = new Set(["--version", "--help"]);

/** Programs whose every invocation attaches to or starts a terminal session. */
const TERMINAL_PROGRAMS: ReadonlyMap<string, string> = new Map([
  ["tmux", "a terminal multiplexer"],
  ["screen", "a terminal multiplexer"],
  ["byobu", "a terminal multiplexer"],
  ["zellij", "a terminal multiplexer"],
  ["tmate", "a terminal multiplexer"],
  ["dtach", "a detachable terminal session"],
  ["abduco", "a detachable terminal session"],
  ["script", "a shell in a recorded terminal"],
  ["telnet", "a remote terminal"],
  ["rlogin", "a remote terminal"],
  ["newgrp", "a shell with another group"],
]);

/** The program's name without its directory (`/bin/bash` → `bash`). */
export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function isShell(program: string): boolean {
  return SHELLS.has(program) || OTHER_SHELLS.has(program);
}

/** `bash`, `zsh -l`, `sh -i`, `bash -s x`: a shell reading commands from the terminal. */
function shellSession(program: string, args: readonly ArgWord[]): string | undefined {
  if (args.some((word) => INFO_ONLY.has(literalOf(word) ?? ""))) return undefined;
  const options = shellOptions(args);
  if (options === undefined) return `a shell (${program}) with options computed at run time`;
  if (options.command || (options.operands.length > 0 && !options.stdin)) return undefined;
  return `a nested shell (${program})`;
}

/** `python3`, `node -i`: an interpreter prompt (no script, no inline code). */
function interpreterPrompt(program: string, args: readonly ArgWord[]): string | undefined {
  const texts = args.map(literalOf);
  const prompt = texts.every(
    (text) => text?.startsWith("-") === true && !INLINE_CODE.has(text) && !VERSION_ONLY.has(text),
  );
  return prompt ? `an interpreter prompt (${program})` : undefined;
}

function onlyAssignments(words: readonly ArgWord[]): boolean {
  return words.every((word) =>
    ASSIGNMENT_SOURCE.test("literal" in word ? word.literal : word.dynamic),
  );
}

/** `sudo -i`, `sudo -s`, `doas -s` without a command. */
function rootShell(spec: OptionSyntax, shellOptionNames: readonly string[]): Detector {
  return (program, args) => {
    const scan = scanOptions(args, spec);
    if ("dynamic" in scan) return `${program} with options computed at run time`;
    if (!hasOption(scan, ...shellOptionNames) || !onlyAssignments(scan.rest)) return undefined;
    const given = scan.options.filter((option) => shellOptionNames.includes(option.name));
    return `a root shell (${program} ${given.map((option) => option.name).join(" ")})`;
  };
}

const SU_COMMAND = /^(?:-c|--command|--session-command)(?:=|$)|^-[A-Za-z]*c$/;

/** `su`, `su -`, `su - bob` (no `-c`), `runuser` without `-u … COMMAND`. */
function otherUserShell(program: string, args: readonly ArgWord[]): string | undefined {
  const texts = args.map(literalOf);
  if (texts.some((text) => text === undefined)) {
    return `${program} with arguments computed at run time`;
  }
  if (texts.some((text) => SU_COMMAND.test(text ?? ""))) return undefined;
  if (program === "runuser" && texts.some((text) => text === "-u" || text?.startsWith("--user"))) {
    return undefined;
  }
  return `a shell as another user (${program})`;
}

const SSH = syntax("-B -b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -P -Q -R -S -W -w");
const AUTOSSH = syntax("-B -b -c -D -E -e -F -I -i -J -L -l -m -M -O -o -p -P -Q -R -S -W -w");
const RSH = syntax("-l");
const SSH_NO_SHELL = ["-N", "-W", "-O", "-G", "-V", "-Q"];

/**
 * `ssh host` (no remote command), also with options after the destination
 * (`ssh host -p 22`), and `ssh host bash`: the remote command opening a
 * session itself. A remote command computed at run time is not judged here.
 */
function remoteLogin(spec: OptionSyntax): Detector {
  return (program, args) => {
    const before = scanOptions(args, spec);
    if ("dynamic" in before) return `${program} with options computed at run time`;
    const [host, ...rest] = before.rest;
    if (host === undefined || hasOption(before, ...SSH_NO_SHELL)) return undefined;
    const after = scanOptions(rest, spec);
    if ("dynamic" in after) return `${program} with options computed at run time`;
    if (hasOption(after, ...SSH_NO_SHELL)) return undefined;
    const target = `${program} ${literalOf(host) ?? "…"}`;
    if (after.rest.length === 0) return `a remote shell (${target})`;
    const remote = sessionOfWords(after.rest);
    return remote === undefined ? undefined : `${remote} on a remote host (${target})`;
  };
}

/** `mosh host` unless a command follows `--`. */
function mosh(program: string, args: readonly ArgWord[]): string | undefined {
  const dashDash = args.findIndex((word) => literalOf(word) === "--");
  if (dashDash !== -1 && dashDash < args.length - 1)
    return sessionOfWords(args.slice(dashDash + 1));
  return `a remote shell (${program})`;
}

const CONTAINER_SESSIONS = new Set(["attach", "shell", "login", "console", "ssh"]);
const CONTAINER_RUNS = new Set(["exec", "run", "debug"]);

/** `-it`, `-i -t`, `--interactive --tty`, `--stdin --tty`: a terminal wired to the user. */
function interactiveTty(texts: readonly (string | undefined)[]): boolean {
  const short = texts.filter((text) => /^-[A-Za-z]+$/.test(text ?? "")).join("");
  const long = new Set(texts.map((text) => text?.replace(/=.*$/, "")));
  const input = short.includes("i") || long.has("--interactive") || long.has("--stdin");
  return input && (short.includes("t") || long.has("--tty"));
}

/**
 * `docker exec -it c bash`, `kubectl exec -it p -- sh`, `docker run -it img`,
 * `docker attach c`, `lxc shell c`, `machinectl login`, `vagrant ssh`.
 */
function containerSession(program: string, args: readonly ArgWord[]): string | undefined {
  const texts = args.map(literalOf);
  const session = texts.find((text) => CONTAINER_SESSIONS.has(text ?? ""));
  if (session !== undefined) return `a terminal session (${program} ${session})`;
  const runs = texts.find((text) => CONTAINER_RUNS.has(text ?? ""));
  if (runs === undefined) return undefined;
  const shellAt = texts.findIndex((text) => text !== undefined && isShell(basename(text)));
  if (shellAt !== -1) {
    const inner = shellSession(basename(texts[shellAt] ?? ""), args.slice(shellAt + 1));
    if (inner !== undefined) return `${inner} in a container (${program} ${runs})`;
    return undefined;
  }
  if (interactiveTty(texts)) return `an interactive terminal in a container (${program} ${runs})`;
  return undefined;
}

const NAMESPACE_TOOLS: ReadonlyMap<string, OptionSyntax> = new Map([
  ["nsenter", syntax("-t -S -G -w -r --target --setuid --setgid --wd --root")],
  ["unshare", syntax("-S -G -R -w --setuid --setgid --root --wd --propagation --setgroups")],
]);

/** `nsenter -t 1 -a`, `unshare -r`: without a command they start the user's shell. */
function namespaceShell(program: string, args: readonly ArgWord[]): string | undefined {
  const scan = scanOptions(args, NAMESPACE_TOOLS.get(program) ?? syntax(""));
  if ("dynamic" in scan) return `${program} with options computed at run time`;
  if (scan.rest.length === 0) return `a shell in other namespaces (${program})`;
  return sessionOfWords(scan.rest);
}

/** `chroot DIR` alone starts a shell (with a command, the extractor unwraps it). */
function chrootShell(program: string, args: readonly ArgWord[]): string | undefined {
  const operands = args.filter((word) => !literalOf(word)?.startsWith("-"));
  return operands.length === 1 ? `a shell in another root (${program})` : undefined;
}

function systemdRunShell(program: string, args: readonly ArgWord[]): string | undefined {
  const texts = args.map(literalOf);
  return texts.includes("--shell") || texts.includes("-S")
    ? `a shell in a transient unit (${program} --shell)`
    : undefined;
}

const DETECTORS: ReadonlyMap<string, Detector> = new Map<string, Detector>([
  ["sudo", rootShell(SUDO, ["-i", "-s", "--login", "--shell"])],
  ["doas", rootShell(DOAS, ["-s"])],
  ["su", otherUserShell],
  ["runuser", otherUserShell],
  ["ssh", remoteLogin(SSH)],
  ["slogin", remoteLogin(SSH)],
  ["autossh", remoteLogin(AUTOSSH)],
  ["rsh", remoteLogin(RSH)],
  ["mosh", mosh],
  ...["docker", "podman", "nerdctl", "kubectl", "oc", "lxc", "incus", "machinectl", "virsh"].map(
    (tool): [string, Detector] => [tool, containerSession],
  ),
  ["vagrant", containerSession],
  ["nsenter", namespaceShell],
  ["unshare", namespaceShell],
  ["chroot", chrootShell],
  ["systemd-run", systemdRunShell],
]);

function sessionOfWords(argv: readonly ArgWord[]): string | undefined {
  const first = literalOf(argv[0]);
  if (first === undefined) return undefined;
  const program = basename(first);
  const args = argv.slice(1);
  if (isShell(program)) return shellSession(program, args);
  if (INTERPRETER.test(program)) return interpreterPrompt(program, args);
  const terminal = TERMINAL_PROGRAMS.get(program);
  if (terminal !== undefined) return `${terminal} (${program})`;
  return DETECTORS.get(program)?.(program, args);
}

/**
 * Why running `command` starts a session whose lines the bastion cannot
 * check (the text reads after "starts "), or undefined. A shell the
 * extractor found reading literal code (`bash <<'EOF'`, `bash <<< ls`) is
 * not a session: that code was extracted and is checked.
 */
export function nestedSession(command: ExtractedCommand): string | undefined {
  const program = basename(literalOf(command.argv[0]) ?? "");
  if (SHELLS.has(program) && command.dynamic === undefined) return undefined;
  return sessionOfWords(command.argv);
}
