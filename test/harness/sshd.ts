// Test harness: a real OpenSSH sshd (/usr/sbin/sshd -D -e) on 127.0.0.1 with
// a free port, its own fresh ed25519 host key, and its own config,
// authorized_keys and TrustedUserCAKeys in a private temp dir. Shared by
// integration tests; keep the API stable.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface StartSshdOptions {
  /** Lines for the authorized_keys file of every user. */
  readonly authorizedKeys?: readonly string[];
  /** CA public key lines for TrustedUserCAKeys. */
  readonly trustedUserCaKeys?: readonly string[];
  /** sshd_config lines; they take precedence over the defaults (a `Match` block goes last). */
  readonly extraConfig?: readonly string[];
}

export interface RunningSshd {
  readonly host: "127.0.0.1";
  readonly port: number;
  /** "ssh-ed25519 BASE64" of the host key (no comment). */
  readonly hostKeyLine: string;
  readonly hostKeyPath: string;
  /** The local account tests log in as (the user running the tests). */
  readonly login: string;
  readonly dir: string;
  /** sshd's stderr log (-e). */
  readonly logPath: string;
  stop(): Promise<void>;
}

const SSHD = "/usr/sbin/sshd";
const START_TIMEOUT_MS = 10_000;
const BIND_ATTEMPTS = 5;
const running = new Set<ChildProcess>();

process.once("exit", () => {
  for (const child of running) killGroup(child, "SIGKILL");
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("data", (banner) => {
      socket.destroy();
      resolve(banner.toString("latin1").startsWith("SSH-2.0-OpenSSH"));
    });
    socket.once("error", () => resolve(false));
  });
}

function splitAtMatch(lines: readonly string[]): [readonly string[], readonly string[]] {
  const index = lines.findIndex((line) => /^\s*Match\s/i.test(line));
  return index < 0 ? [lines, []] : [lines.slice(0, index), lines.slice(index)];
}

function sshdConfig(dir: string, port: number, extra: readonly string[]): string {
  const [overrides, matchBlocks] = splitAtMatch(extra);
  return [
    ...overrides,
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${join(dir, "host_ed25519")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    `TrustedUserCAKeys ${join(dir, "trusted_user_ca_keys")}`,
    "StrictModes no",
    "UsePAM no",
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "LogLevel VERBOSE",
    "MaxStartups 100",
    "Subsystem sftp internal-sftp",
    ...matchBlocks,
    "",
  ].join("\n");
}

type StartResult = { ok: true } | { ok: false; addressInUse: boolean; log: string };

async function waitUntilListening(
  child: ChildProcess,
  port: number,
  logPath: string,
): Promise<StartResult> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const log = readFileSync(logPath, "utf8");
    if (child.exitCode !== null || child.signalCode !== null) {
      return { ok: false, addressInUse: /Address already in use/.test(log), log };
    }
    if (log.includes("Server listening on") && (await canConnect(port))) return { ok: true };
    await sleep(25);
  }
  return { ok: false, addressInUse: false, log: readFileSync(logPath, "utf8") };
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Spawns sshd in its own process group; kills it again if it does not come up. */
async function launch(configPath: string, logPath: string, port: number) {
  const logFd = openSync(logPath, "w");
  const child = spawn(SSHD, ["-D", "-e", "-f", configPath], {
    stdio: ["ignore", logFd, logFd],
    detached: true,
  });
  closeSync(logFd);
  running.add(child);
  child.once("exit", () => running.delete(child));
  const result = await waitUntilListening(child, port, logPath);
  if (!result.ok) {
    killGroup(child, "SIGKILL");
    await waitForExit(child);
  }
  return { child, result };
}

function prepareDir(options: StartSshdOptions): { dir: string; hostKeyLine: string } {
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), "portcullis-sshd-"));
  const hostKeyPath = join(dir, "host_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", hostKeyPath]);
  const [type, data] = readFileSync(`${hostKeyPath}.pub`, "utf8").trim().split(/\s+/);
  const lines = (list: readonly string[] = []) => list.map((line) => `${line}\n`).join("");
  writeFileSync(join(dir, "authorized_keys"), lines(options.authorizedKeys), { mode: 0o600 });
  writeFileSync(join(dir, "trusted_user_ca_keys"), lines(options.trustedUserCaKeys), {
    mode: 0o600,
  });
  return { dir, hostKeyLine: `${type} ${data}` };
}

/** Starts sshd and resolves once it accepts connections; call stop() when done. */
export async function startSshd(options: StartSshdOptions = {}): Promise<RunningSshd> {
  const { dir, hostKeyLine } = prepareDir(options);
  const configPath = join(dir, "sshd_config");
  const logPath = join(dir, "sshd.log");
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    writeFileSync(configPath, sshdConfig(dir, port, options.extraConfig ?? []));
    const { child, result } = await launch(configPath, logPath, port);
    if (result.ok) return runningSshd(child, dir, port, hostKeyLine, logPath);
    if (!result.addressInUse || attempt === BIND_ATTEMPTS) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start:\n${result.log}`);
    }
  }
}

function runningSshd(
  child: ChildProcess,
  dir: string,
  port: number,
  hostKeyLine: string,
  logPath: string,
): RunningSshd {
  return {
    host: "127.0.0.1",
    port,
    hostKeyLine,
    hostKeyPath: join(dir, "host_ed25519"),
    login: userInfo().username,
    dir,
    logPath,
    async stop() {
      killGroup(child, "SIGTERM");
      await waitForExit(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
