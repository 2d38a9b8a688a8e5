// Helpers for the end-to-end tests of the `portcullis` command: runs the
// compiled CLI (dist/src/cli/main.js) as a child process with a chosen cwd
// and a clean environment, waits on long-running ones (serve, demo) by their
// output, makes throw-away setups with `portcullis init`, and snapshots
// directories to prove a failed command changed nothing.

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { CommandResult } from "../harness/bastion.js";

export const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Variables that change where the CLI finds its config or vault key: unset unless a test sets them. */
const LOCATING_VARIABLES = ["PORTCULLIS_CONFIG", "PORTCULLIS_VAULT_KEY", "CREDENTIALS_DIRECTORY"];
const DEFAULT_TIMEOUT_MS = 20_000;

export interface CliOptions {
  cwd?: string;
  /** Added to the test's environment (minus the locating variables). */
  env?: NodeJS.ProcessEnv;
}

export function cliEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of LOCATING_VARIABLES) delete env[name];
  return { ...env, ...extra };
}

/** A running `portcullis` process whose output is collected as it arrives. */
export class CliProcess {
  stdout = "";
  stderr = "";
  /** All output has been read and the process has exited. */
  closed = false;
  readonly child: ChildProcess;
  readonly exited: Promise<Pick<CommandResult, "code" | "signal">>;

  constructor(args: readonly string[], options: CliOptions = {}) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: cliEnvironment(options.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout?.on("data", (data) => {
      this.stdout += data;
    });
    this.child.stderr?.on("data", (data) => {
      this.stderr += data;
    });
    this.exited = new Promise((resolve, reject) => {
      this.child.once("error", reject);
      this.child.once("close", (code, signal) => {
        this.closed = true;
        resolve({ code, signal });
      });
    });
  }

  /** Resolves with the first match of `pattern` in the stream; rejects if the process exits first. */
  waitFor(
    stream: "stdout" | "stderr",
    pattern: RegExp,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const source = this.child[stream];
      const timer = setTimeout(() => fail("timed out"), timeoutMs);
      const check = () => {
        const match = pattern.exec(this[stream]);
        if (!match) return false;
        cleanUp();
        resolve(match);
        return true;
      };
      const onExit = () => fail("exited");
      const fail = (why: string) => {
        cleanUp();
        reject(new Error(`portcullis ${why} before ${pattern} on ${stream}; ${this.describe()}`));
      };
      const cleanUp = () => {
        clearTimeout(timer);
        source?.off("data", check);
        this.child.off("close", onExit);
      };
      source?.on("data", check);
      this.child.once("close", onExit);
      if (!check() && this.closed) onExit();
    });
  }

  /** Waits for the exit; a process still running after `timeoutMs` is killed and the wait fails. */
  async result(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CommandResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill("SIGKILL");
        reject(new Error(`portcullis did not exit within ${timeoutMs} ms; ${this.describe()}`));
      }, timeoutMs);
    });
    try {
      const exit = await Promise.race([this.exited, timeout]);
      return { ...exit, stdout: this.stdout, stderr: this.stderr };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the process if it is still running (test clean-up). */
  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }

  private describe(): string {
    return `stdout: ${JSON.stringify(this.stdout)} stderr: ${JSON.stringify(this.stderr)}`;
  }
}

export function runCli(
  args: readonly string[],
  options: CliOptions & { timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new CliProcess(args, options).result(options.timeoutMs);
}

/** A private directory under the system temp dir; remove it with `removeDir`. */
export function makeTempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `portcullis-cli-${label}-`));
}

export function removeDir(dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

export interface InitializedSetup {
  dir: string;
  configPath: string;
  /** Runs `portcullis --config <configPath> ...args`. */
  cli(args: readonly string[], options?: CliOptions): Promise<CommandResult>;
}

/**
 * `portcullis init DIR --listen 127.0.0.1:0`, checked to succeed. Without
 * `keepExamplePolicies` the example policies are removed, so that the
 * test's own policy files are the whole policy.
 */
export async function initSetup(
  dir: string,
  options: { keepExamplePolicies?: boolean } = {},
): Promise<InitializedSetup> {
  const init = await runCli(["init", dir, "--listen", "127.0.0.1:0"]);
  assert.equal(init.code, 0, `portcullis init failed: ${init.stderr}`);
  if (options.keepExamplePolicies !== true) {
    for (const file of readdirSync(join(dir, "policies"))) rmSync(join(dir, "policies", file));
  }
  const configPath = join(dir, "portcullis.yaml");
  return {
    dir,
    configPath,
    cli: (args, cliOptions) => runCli(["--config", configPath, ...args], cliOptions),
  };
}

/**
 * Asserts a failed command: the exit status, nothing on stdout, and stderr
 * exactly the given lines, each prefixed `portcullis: ` (or matching the
 * pattern), without a stack trace.
 */
export function assertFailure(
  result: CommandResult,
  expected: { code: number; stderr: readonly string[] | RegExp },
): void {
  assert.doesNotMatch(result.stderr, /^\s+at /m, "stack trace on stderr");
  if (Array.isArray(expected.stderr)) {
    assert.equal(result.stderr, expected.stderr.map((line) => `portcullis: ${line}\n`).join(""));
  } else {
    assert.match(result.stderr, expected.stderr as RegExp);
    assert.equal(result.stderr.trimEnd().split("\n").length, 1, "expected one line on stderr");
  }
  assert.equal(result.stdout, "");
  assert.equal(result.code, expected.code);
}

export interface FileState {
  content: string;
  mode: number;
  mtimeMs: number;
}

/** Every file under `dir` (recursively) with its content (base64), mode and mtime. */
export function snapshotFiles(dir: string): Map<string, FileState> {
  const files = new Map<string, FileState>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const { mode, mtimeMs } = statSync(path);
    files.set(relative(dir, path), {
      content: readFileSync(path).toString("base64"),
      mode,
      mtimeMs,
    });
  }
  return files;
}

export function sshKeygen(args: readonly string[]): string {
  return execFileSync("ssh-keygen", args, { encoding: "utf8" });
}

/** `type base64` of a public key line, without its comment. */
export function keyOf(publicKeyLine: string): string {
  return publicKeyLine.trim().split(/\s+/).slice(0, 2).join(" ");
}

export interface LoopbackServer {
  port: number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 and a free port; `onConnection` defaults to leaving sockets open. */
export async function listenOnLoopback(
  onConnection: (socket: Socket) => void = () => {},
): Promise<LoopbackServer> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
