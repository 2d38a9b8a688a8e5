// Where `portcullis login` keeps its files, all under one home directory
// (the user's, or a temporary one in tests): the key, certificate, ssh
// config snippet and known_hosts per bastion in ~/.ssh/portcullis, the
// remembered server in ~/.config/portcullis/login.json.

import { join } from "node:path";
import { PortcullisError } from "../util/errors.js";

/** A bastion host name usable as a file name and an ssh_config `Host` pattern. */
const SAFE_HOST = /^[A-Za-z0-9_:-][A-Za-z0-9._:-]*$/;

export interface LoginPaths {
  readonly home: string;
  /** `~/.ssh`. */
  readonly sshDir: string;
  /** `~/.ssh/config`, which gets the `Include` line. */
  readonly userSshConfig: string;
  /** `~/.ssh/portcullis`. */
  readonly dir: string;
  /** `~/.ssh/portcullis/config`: includes every bastion's block. */
  readonly includedConfig: string;
  /** `~/.config/portcullis/login.json`. */
  readonly stateFile: string;
}

export interface BastionPaths {
  readonly privateKey: string;
  readonly publicKey: string;
  readonly certificate: string;
  readonly knownHosts: string;
  /** This bastion's `Host` block, included by `config`. */
  readonly configBlock: string;
}

export function loginPaths(home: string, xdgConfigHome?: string): LoginPaths {
  const sshDir = join(home, ".ssh");
  const dir = join(sshDir, "portcullis");
  const configHome = xdgConfigHome ? xdgConfigHome : join(home, ".config");
  return {
    home,
    sshDir,
    userSshConfig: join(sshDir, "config"),
    dir,
    includedConfig: join(dir, "config"),
    stateFile: join(configHome, "portcullis", "login.json"),
  };
}

/** The files for the bastion reached as `host` (as the discovery document names it). */
export function bastionPaths(paths: LoginPaths, host: string): BastionPaths {
  if (!SAFE_HOST.test(host) || host.length > 253) {
    throw new PortcullisError(
      "ERR_LOGIN_SERVER",
      `the server advertises an unusable SSH host name ${JSON.stringify(host.slice(0, 80))}`,
    );
  }
  const privateKey = join(paths.dir, host);
  return {
    privateKey,
    publicKey: `${privateKey}.pub`,
    certificate: `${privateKey}-cert.pub`,
    knownHosts: `${privateKey}.known_hosts`,
    configBlock: `${privateKey}.conf`,
  };
}
