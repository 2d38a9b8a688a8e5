// `portcullis login [--server URL] [--browser] [--no-config] [--status]`:
// OIDC sign-in to a short-lived SSH certificate (src/login), printed for
// people: what was installed and how to connect.

import { homedir, hostname } from "node:os";
import type { Command } from "commander";
import {
  formatDuration,
  type LoginResult,
  login,
  loginStatus,
  terminalUi,
} from "../../login/index.js";

interface LoginCommandOptions {
  server?: string;
  browser?: boolean;
  config: boolean;
  status?: boolean;
}

export function registerLoginCommand(program: Command): void {
  program
    .command("login")
    .description("sign in with OIDC and get a short-lived SSH certificate")
    .option("--server <url>", "Portcullis server (default: $PORTCULLIS_SERVER, else the last one)")
    .option("--browser", "sign in in a browser on this machine (authorization code + PKCE)")
    .option("--no-config", "do not write the ssh config and known_hosts (print them instead)")
    .option("--status", "show the current certificate; exit 1 when there is no valid one")
    .action(async (options: LoginCommandOptions) => {
      if (options.status) showStatus(options);
      else await runLogin(options);
    });
}

function environmentServer(): string | undefined {
  return process.env.PORTCULLIS_SERVER || undefined;
}

function homeOptions() {
  const xdg = process.env.XDG_CONFIG_HOME;
  return { home: homedir(), ...(xdg ? { xdgConfigHome: xdg } : {}) };
}

function showStatus(options: LoginCommandOptions): void {
  const serverFromEnvironment = environmentServer();
  const report = loginStatus({
    ...homeOptions(),
    ...(options.server === undefined ? {} : { server: options.server }),
    ...(serverFromEnvironment === undefined ? {} : { serverFromEnvironment }),
    now: new Date(),
  });
  process.stdout.write(`${report.lines.join("\n")}\n`);
  if (report.problem !== undefined) {
    process.stderr.write(`portcullis: ${report.problem}\n`);
    process.exitCode = 1;
  }
}

async function runLogin(options: LoginCommandOptions): Promise<void> {
  const now = () => new Date();
  const serverFromEnvironment = environmentServer();
  const agentSocket = process.env.SSH_AUTH_SOCK;
  const result = await login({
    ...homeOptions(),
    ...(options.server === undefined ? {} : { server: options.server }),
    ...(serverFromEnvironment === undefined ? {} : { serverFromEnvironment }),
    ...(agentSocket ? { agentSocket } : {}),
    flow: options.browser ? "browser" : "device",
    writeSshConfig: options.config,
    keyComment: `portcullis-login@${hostname()}`,
    ui: terminalUi(process.stderr, now),
    now,
  });
  process.stdout.write(summary(result, now(), options.config));
}

function summary(result: LoginResult, now: Date, wroteConfig: boolean): string {
  const { certificate, files } = result;
  const left = formatDuration(certificate.validBefore.getTime() - now.getTime());
  const groups = certificate.groups.length > 0 ? certificate.groups.join(", ") : "none";
  const lines = [
    `Logged in to ${result.server} as ${certificate.keyId} (groups: ${groups}).`,
    `Certificate valid until ${certificate.validBefore.toISOString()} (${left}).`,
    `key:         ${files.privateKey}${result.keyGenerated ? " (new)" : ""}`,
    `certificate: ${files.certificate}`,
    `ssh-agent:   ${agentLine(result)}`,
  ];
  if (wroteConfig) {
    lines.push(
      `ssh config:  ${files.configBlock} (included from ${result.paths.userSshConfig})`,
      `known_hosts: ${files.knownHosts} (${trustText(result)})`,
      "",
      `Connect with: ssh TARGET@${result.sshHost}   (ssh ${result.sshHost} shows the targets you may reach)`,
    );
  } else {
    lines.push(
      "",
      "Add this to your ssh config:",
      result.hostBlock.trimEnd(),
      `and this to ${files.knownHosts} (${trustText(result)}):`,
      result.trust.knownHosts.trimEnd(),
    );
  }
  return `${lines.join("\n")}\n`;
}

function trustText(result: LoginResult): string {
  return result.trust.kind === "host-ca"
    ? "the bastion's host CA"
    : "the bastion's host key, pinned now";
}

function agentLine(result: LoginResult): string {
  if (result.agent === undefined) return "no agent running (SSH_AUTH_SOCK unset)";
  if (result.agent.loaded)
    return `loaded for ${formatDuration(result.agent.lifetimeSeconds * 1000)}`;
  return `not loaded: ${result.agent.reason}`;
}
