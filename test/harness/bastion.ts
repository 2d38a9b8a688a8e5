// A real bastion for integration tests, built only through the real CLI:
// `portcullis init`, `vault generate`, `ca sign`, `serve` (as a child
// process), in front of a real OpenSSH sshd, with keys generated now.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateTestKey } from "./keys.js";
import { type RunningSshd, startSshd } from "./sshd.js";

export const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion, optionally feeding stdin. */
export function run(
  file: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { env: { ...process.env, ...options.env }, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (data) => {
      stdout += data;
    });
    child.stderr.on("data", (data) => {
      stderr += data;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${file} ${args.join(" ")} timed out; stderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    // A program may exit without reading its input (EPIPE): its exit status says what happened.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

export function portcullis(
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
) {
  return run(process.execPath, [CLI, ...args], options);
}

export interface UserKey {
  privatePath: string;
  publicPath: string;
  certPath: string;
}

export interface TestBastion {
  dir: string;
  configPath: string;
  sshd: RunningSshd;
  port: number;
  knownHostsPath: string;
  auditPath: string;
  /** A user key with a certificate for `user` in `groups`. */
  issueUser(user: string, groups: string[], extraSignArgs?: string[]): Promise<UserKey>;
  /** ssh arguments for connecting straight to the sshd, bypassing the bastion. */
  directSshArgs(...rest: string[]): string[];
  /** ssh arguments for connecting to the bastion as `sshUser` with `key`. */
  sshArgs(key: UserKey, sshUser: string, ...rest: string[]): string[];
  cli(args: readonly string[]): Promise<CommandResult>;
  auditEvents(): Array<Record<string, unknown>>;
  waitForAudit(
    predicate: (event: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** The serve process's stderr so far. */
  serverStderr(): string;
  /** The HTTP listener's URL (`http://127.0.0.1:PORT`), when the config has `http` and `oidc`. */
  httpUrl(): string | undefined;
  /** Process id of `portcullis serve` (for benchmarks reading its CPU time). */
  serverPid: number | undefined;
  /** Kills `portcullis serve` with SIGKILL and starts it again on the same directory (new port). */
  /** Stops the server with `signal` (SIGKILL: a crash; SIGTERM: a shutdown) and starts it again on a new port. */
  restart(signal?: NodeJS.Signals): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface BastionOptions {
  /** Another policy file (`60-extra.yaml`), merged after the test policy; a function gets the started sshd. */
  extraPolicy?: string | ((sshd: RunningSshd) => string);
  /** Extra sshd_config lines (e.g. `HostKey`, `HostCertificate`). */
  sshdExtraConfig?: string[];
  /** Extra keys for the `ssh:` section of portcullis.yaml (e.g. `shell_startup_timeout: 1s`). */
  sshConfig?: string[];
  /** Rewrites portcullis.yaml after `init` (e.g. to move `recordings.dir` or set `recordings.mode`). */
  configEdit?: (yaml: string) => string;
}

/** A `configEdit` that moves `recordings.dir` to `dir` and sets `recordings.mode`. */
export function recordingsAt(dir: string, mode: "required" | "best_effort") {
  return (yaml: string): string => {
    const edited = yaml.replace(/^ {2}dir: recordings\/$/m, `  dir: ${dir}\n  mode: ${mode}`);
    if (edited === yaml) throw new Error("portcullis.yaml has no recordings.dir to replace");
    return edited;
  };
}

export async function startTestBastion(options: BastionOptions = {}): Promise<TestBastion> {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-it-"));
  try {
    return await assembleBastion(dir, options);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function assembleBastion(dir: string, options: BastionOptions): Promise<TestBastion> {
  const configPath = join(dir, "portcullis.yaml");
  const cli = (args: readonly string[]) => portcullis(["--config", configPath, ...args]);
  const init = await portcullis(["init", dir, "--listen", "127.0.0.1:0"]);
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  if (options.sshConfig) {
    const config = readFileSync(configPath, "utf8");
    const extra = options.sshConfig.map((line) => `  ${line}\n`).join("");
    writeFileSync(configPath, config.replace(/^ssh:\n/m, `ssh:\n${extra}`));
  }
  if (options.configEdit) {
    writeFileSync(configPath, options.configEdit(readFileSync(configPath, "utf8")));
  }
  for (const file of ["00-targets.yaml", "10-access.yaml"])
    rmSync(join(dir, "policies", file), { force: true });

  const credential = await cli(["vault", "generate", "web1-key"]);
  if (credential.code !== 0) throw new Error(`vault generate failed: ${credential.stderr}`);
  const directKey = generateTestKey(dir, "ed25519");
  const sshd = await startSshd({
    authorizedKeys: [credential.stdout.trim(), directKey.publicLine],
    ...(options.sshdExtraConfig ? { extraConfig: options.sshdExtraConfig } : {}),
  });
  const directKnownHosts = join(dir, "known_hosts_direct");
  writeFileSync(directKnownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
  const unrelatedKey = generateTestKey(dir, "ed25519").publicLine;
  writeFileSync(join(dir, "policies", "50-test.yaml"), testPolicy(sshd, unrelatedKey));
  const { extraPolicy } = options;
  if (extraPolicy) {
    const text = typeof extraPolicy === "string" ? extraPolicy : extraPolicy(sshd);
    writeFileSync(join(dir, "policies", "60-extra.yaml"), text);
  }

  let stderr = "";
  const spawnServe = () => {
    const child = spawn(process.execPath, [CLI, "serve", "--config", configPath], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr?.on("data", (data) => {
      stderr += data;
    });
    return child;
  };
  let server = spawnServe();
  let port = await waitForListening(server, () => stderr);
  const hostKey = readFileSync(join(dir, "keys", "host_ed25519.pub"), "utf8")
    .trim()
    .split(/\s+/)
    .slice(0, 2)
    .join(" ");
  const knownHostsPath = join(dir, "known_hosts");
  writeFileSync(knownHostsPath, `[127.0.0.1]:${port} ${hostKey}\n`);
  const auditPath = join(dir, "data", "audit.log");

  const auditEvents = () => {
    try {
      return readFileSync(auditPath, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    } catch {
      return [];
    }
  };

  return {
    dir,
    configPath,
    sshd,
    get port() {
      return port;
    },
    knownHostsPath,
    auditPath,
    cli,
    auditEvents,
    serverStderr: () => stderr,
    httpUrl: () => /http listening on (\S+)/.exec(stderr)?.[1],
    get serverPid() {
      return server.pid;
    },
    issueUser: async (user, groups, extraSignArgs = []) => {
      const key = generateTestKey(dir, "ed25519");
      const signed = await cli([
        "ca",
        "sign",
        "--user",
        user,
        "--groups",
        groups.join(","),
        ...extraSignArgs,
        key.publicPath,
      ]);
      if (signed.code !== 0) throw new Error(`ca sign failed: ${signed.stderr}`);
      return {
        privatePath: key.privatePath,
        publicPath: key.publicPath,
        certPath: signed.stdout.trim(),
      };
    },
    directSshArgs: (...rest) => [
      ...commonSshOptions(directKey.privatePath, directKnownHosts, sshd.port),
      "-l",
      sshd.login,
      "127.0.0.1",
      ...rest,
    ],
    sshArgs: (key, sshUser, ...rest) => [
      ...commonSshOptions(key.privatePath, knownHostsPath, port),
      "-l",
      sshUser,
      "127.0.0.1",
      ...rest,
    ],
    waitForAudit: async (predicate, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = auditEvents().find(predicate);
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(`audit event not found; log:\n${readAudit(auditPath)}`);
        await new Promise((wake) => setTimeout(wake, 50));
      }
    },
    restart: async (signal = "SIGKILL") => {
      const exited = new Promise((resolveExit) => server.once("exit", resolveExit));
      server.kill(signal);
      await exited;
      stderr = "";
      server = spawnServe();
      port = await waitForListening(server, () => stderr);
      writeFileSync(knownHostsPath, `[127.0.0.1]:${port} ${hostKey}\n`);
    },
    stop: async (signal = "SIGTERM") => {
      const exited = new Promise<number | null>((resolveExit) =>
        server.once("exit", (code) => resolveExit(code)),
      );
      if (server.exitCode === null) server.kill(signal);
      const code = server.exitCode ?? (await exited);
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/**
 * An OpenSSH client that uses no config file, only `keyPath`, and trusts
 * only `knownHosts` (no prompt, no password: fails instead).
 */
/** `portcullis approve|deny ID --as USER [--comment C]`, as an approver runs it against `bastion`. */
export function decideWithCli(
  bastion: TestBastion,
  verdict: "approve" | "deny",
  id: string,
  as: string,
  comment?: string,
): Promise<CommandResult> {
  return bastion.cli([
    verdict,
    id,
    "--as",
    as,
    ...(comment === undefined ? [] : ["--comment", comment]),
  ]);
}

export function isolatedSshOptions(keyPath: string, knownHosts: string): string[] {
  return [
    "-F",
    "/dev/null",
    "-i",
    keyPath,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
  ];
}

function commonSshOptions(keyPath: string, knownHosts: string, port: number): string[] {
  return [...isolatedSshOptions(keyPath, knownHosts), "-o", "LogLevel=ERROR", "-p", String(port)];
}

function readAudit(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(-4000);
  } catch {
    return "(no audit log)";
  }
}

function waitForListening(server: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const check = () => {
      const match = /ssh listening on [^\s]+:(\d+)/.exec(stderr());
      if (match) {
        server.stderr?.off("data", check);
        resolvePort(Number(match[1]));
      }
    };
    server.stderr?.on("data", check);
    server.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${stderr()}`)));
  });
}

/**
 * A policy `targets:` entry for the test sshd (its login, the harness's
 * vault key, its pinned host key), with extra keys such as `shell: zsh`.
 */
export function sshdTarget(name: string, sshd: RunningSshd, ...extra: string[]): string {
  return [
    `  ${name}:`,
    `    address: "127.0.0.1:${sshd.port}"`,
    `    logins: [${sshd.login}]`,
    "    credential: web1-key",
    `    host_key: "${sshd.hostKeyLine}"`,
    ...extra.map((line) => `    ${line}`),
  ].join("\n");
}

function testPolicy(sshd: RunningSshd, unrelatedHostKey: string): string {
  return `targets:
${sshdTarget("web1", sshd, "labels: { env: test, team: web }")}
${sshdTarget("db1", sshd, "labels: { env: prod, team: data }")}
  badkey:
    address: "127.0.0.1:${sshd.port}"
    logins: [${sshd.login}]
    credential: web1-key
    host_key: "${unrelatedHostKey}"
  down:
    address: "127.0.0.1:1"
    logins: [${sshd.login}]
    credential: web1-key
    host_key: "${sshd.hostKeyLine}"
access:
  - name: ops-web
    subjects: { groups: [ops] }
    targets: { names: [web1, badkey, down] }
    commands: [baseline]
  - name: dba-prod
    subjects: { groups: [dba] }
    targets: { labels: { env: prod } }
    commands: [baseline]
`;
}
