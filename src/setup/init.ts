// `portcullis init`: a working setup in a directory — configuration, SSH
// host key, host CA key and the host certificate it signs, user CA key,
// vault master key, recording signing key (private keys 0600) and example
// policies. Never overwrites an existing key or configuration.

import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultHostNames, signHostKeyFile } from "../ca/host-ca.js";
import { generateAuditKey } from "../recording/signing.js";
import { generateKeyPair } from "../ssh/keygen.js";
import { PortcullisError } from "../util/errors.js";
import { parseDuration } from "../util/units.js";
import { createMasterKeyFile } from "../vault/index.js";

/** The example policies shipped with the package (`policies/` at its root). */
export const EXAMPLE_POLICY_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../../policies",
);

export interface InitOptions {
  sshListen?: string;
  /** Copy the example policies into `policies/` (default true). */
  examplePolicies?: boolean;
  /** Principals of the host certificate (`ssh.host_names`); default: hostname, localhost, 127.0.0.1. */
  hostNames?: readonly string[];
  /** Start of the host certificate's validity (default: now). */
  now?: Date;
}

export interface InitResult {
  configPath: string;
  hostKeyPath: string;
  userCaPath: string;
  masterKeyPath: string;
  hostCaPath: string;
  hostCertificatePath: string;
}

/** Validity of the host certificate `init` issues (re-issue with `portcullis ca sign-host`). */
const HOST_CERTIFICATE_TTL = "365d";

const FILES = {
  config: "portcullis.yaml",
  hostKey: "keys/host_ed25519",
  userCa: "keys/user_ca",
  masterKey: "keys/vault.key",
  auditKey: "keys/audit_ed25519",
  hostCa: "keys/host_ca",
} as const;
const HOST_CERTIFICATE = "keys/host_ed25519-cert.pub";

export function initSetup(dir: string, options: InitOptions = {}): InitResult {
  const root = resolve(dir);
  const paths = Object.fromEntries(
    Object.entries(FILES).map(([key, file]) => [key, join(root, file)]),
  ) as Record<keyof typeof FILES, string>;
  const existing = Object.values(paths).filter((path) => existsSync(path));
  if (existing.length > 0) {
    throw new PortcullisError(
      "ERR_INIT_EXISTS",
      `refusing to overwrite existing ${existing.join(", ")}`,
    );
  }
  for (const sub of ["keys", "vault", "policies", "recordings", "data"]) {
    mkdirSync(join(root, sub), {
      recursive: true,
      mode: sub === "keys" || sub === "vault" ? 0o700 : 0o755,
    });
  }
  writeKeyPair(paths.hostKey, "portcullis host key");
  writeKeyPair(paths.hostCa, "portcullis host CA");
  const hostNames = options.hostNames ?? defaultHostNames();
  const hostCertificatePath = join(root, HOST_CERTIFICATE);
  signHostKeyFile({
    hostCaKeyPath: paths.hostCa,
    hostKeyPath: paths.hostKey,
    certificatePath: hostCertificatePath,
    hostNames,
    ttlMs: parseDuration(HOST_CERTIFICATE_TTL),
    now: options.now ?? new Date(),
  });
  writeKeyPair(paths.userCa, "portcullis user CA");
  createMasterKeyFile(paths.masterKey);
  generateAuditKey(paths.auditKey);
  writeFileSync(paths.config, configTemplate(options.sshListen ?? "0.0.0.0:2222", hostNames), {
    flag: "wx",
    mode: 0o644,
  });
  if (options.examplePolicies !== false) copyExamplePolicies(join(root, "policies"));
  return {
    configPath: paths.config,
    hostKeyPath: paths.hostKey,
    userCaPath: paths.userCa,
    masterKeyPath: paths.masterKey,
    hostCaPath: paths.hostCa,
    hostCertificatePath,
  };
}

function writeKeyPair(path: string, comment: string): void {
  const pair = generateKeyPair("ed25519", comment);
  writeFileSync(path, pair.privateKey, { flag: "wx", mode: 0o600 });
  chmodSync(path, 0o600);
  writeFileSync(`${path}.pub`, `${pair.publicKey}\n`, { flag: "wx", mode: 0o644 });
}

function copyExamplePolicies(destination: string): void {
  for (const file of readdirSync(EXAMPLE_POLICY_DIR)) {
    const target = join(destination, file);
    if (!existsSync(target)) cpSync(join(EXAMPLE_POLICY_DIR, file), target);
  }
}

function configTemplate(sshListen: string, hostNames: readonly string[]): string {
  return `# Portcullis configuration (see docs/config.md). Paths are relative to this file.
ssh:
  listen: "${sshListen}"
  host_key: ${FILES.hostKey}
  host_certificate: ${HOST_CERTIFICATE}
  host_ca: ${FILES.hostCa}.pub
  # the names users reach the bastion by: principals of the host certificate
  host_names: [${hostNames.map((name) => JSON.stringify(name)).join(", ")}]
  host_certificate_ttl: ${HOST_CERTIFICATE_TTL}
ca:
  user_key: ${FILES.userCa}
  revocation_file: data/revoked.txt
  default_ttl: 8h
vault:
  path: vault/
  master_key_file: ${FILES.masterKey}
policy:
  dir: policies/
recordings:
  dir: recordings/
  signing_key: ${FILES.auditKey}
database:
  path: data/portcullis.db
logging:
  level: info
  audit_file: data/audit.log
`;
}
