// What makes plain `ssh TARGET@BASTION` work after login: a `Host` block for
// the bastion (port, key, certificate, its own known_hosts, strict host key
// checking), the known_hosts line that trusts the bastion (the host CA's
// `@cert-authority` line, or a pinned host key), `~/.ssh/portcullis/config`
// including every bastion's block, and one `Include` line at the top of
// `~/.ssh/config`. Rendering is pure; installing writes the files.

import { readFileSync, realpathSync, statSync } from "node:fs";
import { parsePublicKeyLine } from "../openssh/keys.js";
import { errorMessage, PortcullisError } from "../util/errors.js";
import { ensurePrivateDir, writeFileAtomic } from "./files.js";
import type { BastionPaths, LoginPaths } from "./paths.js";

export const INCLUDE_COMMENT = "# Added by portcullis login: bastion certificates and host keys";

/** How ssh names `host` in known_hosts: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function serverProblem(message: string): PortcullisError {
  return new PortcullisError("ERR_LOGIN_SERVER", `the server's discovery document: ${message}`);
}

/**
 * The server's `@cert-authority NAMES KEY` line, re-keyed to the name ssh
 * looks up for this bastion (a known_hosts pattern `NAME` does not match
 * `[NAME]:2222`, so the port must be part of it).
 */
export function hostCaLine(serverLine: string, host: string, port: number): string {
  const [marker, _patterns, ...key] = serverLine.trim().split(/\s+/);
  if (marker !== "@cert-authority" || key.length < 2) {
    throw serverProblem("host_ca is not an @cert-authority known_hosts line");
  }
  checkKey(key.join(" "), "host_ca");
  return `@cert-authority ${knownHostsName(host, port)} ${key.join(" ")}`;
}

/** A known_hosts line pinning the bastion's host key (`type base64`). */
export function pinnedHostKeyLine(hostKeyLine: string, host: string, port: number): string {
  checkKey(hostKeyLine, "host key");
  const [type, data] = hostKeyLine.trim().split(/\s+/);
  return `${knownHostsName(host, port)} ${type} ${data}`;
}

function checkKey(line: string, what: string): void {
  try {
    parsePublicKeyLine(line);
  } catch (error) {
    throw serverProblem(`${what}: ${errorMessage(error)}`);
  }
}

/** A path as an ssh_config argument: `%` escaped (ssh expands %-tokens), quoted. */
export function configPath(path: string): string {
  if (/["\p{Cc}]/u.test(path)) {
    throw new PortcullisError(
      "ERR_LOGIN_PATH",
      `cannot use ${JSON.stringify(path)} in an ssh config`,
    );
  }
  return `"${path.replaceAll("%", "%%")}"`;
}

export interface HostBlockInput {
  readonly server: string;
  readonly host: string;
  readonly port: number;
  readonly files: BastionPaths;
}

/** The bastion's `Host` block. */
export function hostBlock(input: HostBlockInput): string {
  const { files } = input;
  return [
    `# Written by portcullis login for ${input.server}; replaced on every login.`,
    `# Connect with: ssh TARGET@${input.host}  (ssh LOGIN@TARGET@${input.host} for another login)`,
    `Host ${input.host}`,
    `  HostName ${input.host}`,
    `  Port ${input.port}`,
    `  IdentityFile ${configPath(files.privateKey)}`,
    `  CertificateFile ${configPath(files.certificate)}`,
    "  IdentitiesOnly yes",
    `  UserKnownHostsFile ${configPath(files.knownHosts)}`,
    "  StrictHostKeyChecking yes",
    "",
  ].join("\n");
}

/** `~/.ssh/portcullis/config`: includes every bastion's block. */
export function includedConfig(paths: LoginPaths): string {
  return `# Managed by portcullis login: one block per bastion.\nInclude ${configPath(`${paths.dir}/*.conf`)}\n`;
}

/** `text` with the Include line for `target` prepended, or undefined when it has one. */
export function withInclude(text: string, target: string): string | undefined {
  const present = text
    .split("\n")
    .some((line) => /^\s*include\s/i.test(line) && line.includes(target));
  if (present) return undefined;
  return `${INCLUDE_COMMENT}\nInclude ${configPath(target)}\n\n${text}`;
}

export interface SshConfigInstall {
  readonly block: string;
  readonly knownHosts: string;
}

/** Writes the block, the known_hosts file, the included config, and the Include line. */
export function installSshConfig(
  paths: LoginPaths,
  files: BastionPaths,
  install: SshConfigInstall,
): void {
  ensurePrivateDir(paths.dir);
  writeFileAtomic(files.knownHosts, install.knownHosts, 0o644);
  writeFileAtomic(files.configBlock, install.block, 0o644);
  writeFileAtomic(paths.includedConfig, includedConfig(paths), 0o644);
  addInclude(paths);
}

/** Prepends the Include line to ~/.ssh/config (the file a symlink points at, if one). */
function addInclude(paths: LoginPaths): void {
  const existing = readExisting(paths.userSshConfig);
  const updated = withInclude(existing?.text ?? "", paths.includedConfig);
  if (updated === undefined) return;
  writeFileAtomic(existing?.path ?? paths.userSshConfig, updated, existing?.mode ?? 0o600);
}

function readExisting(path: string): { path: string; text: string; mode: number } | undefined {
  try {
    const real = realpathSync(path);
    return { path: real, text: readFileSync(real, "utf8"), mode: statSync(real).mode & 0o777 };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new PortcullisError(
      "ERR_LOGIN_WRITE",
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}`,
    );
  }
}
