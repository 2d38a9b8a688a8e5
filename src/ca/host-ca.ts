// The bastion's own host certificate (issue #6 item 4): issuing it for
// `ssh.host_key` with the host CA (`init`, `ca sign-host`), checking at
// start-up that the configured certificate belongs to the host key and to
// the host CA, and the `@cert-authority` known_hosts line clients install so
// that they never see a trust-on-first-use prompt.

import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { secondsToDate, validityProblem } from "../auth/validity.js";
import type { Config } from "../config/index.js";
import {
  encodeCertificate,
  parseCertificate,
  parseCertificateLine,
  type SshCertificate,
} from "../openssh/certificate.js";
import { HOST_NAME_PATTERN } from "../openssh/host-name.js";
import {
  parsePrivateKey,
  parsePublicKeyLine,
  type SshPrivateKey,
  type SshPublicKey,
} from "../openssh/keys.js";
import { verifySshSignature } from "../openssh/signature.js";
import { ConfigError, errorMessage, PortcullisError } from "../util/errors.js";
import { BACKDATE_MS } from "./authority.js";

type SshConfig = Config["ssh"];

/** Names a host certificate is issued for when `ssh.host_names` is not set. */
export function defaultHostNames(machineHostName: string = hostname()): string[] {
  return [...new Set([machineHostName, "localhost", "127.0.0.1"])];
}

/** The bastion's public names: `ssh.host_names`, else the defaults. */
export function bastionHostNames(ssh: SshConfig): readonly string[] {
  return ssh.host_names ?? defaultHostNames();
}

/** The host CA's private key beside its public key (`keys/host_ca.pub` → `keys/host_ca`). */
export function hostCaPrivateKeyPath(ssh: SshConfig): string {
  return ssh.host_ca.endsWith(".pub") ? ssh.host_ca.slice(0, -4) : ssh.host_ca;
}

export interface HostCertificateRequest {
  readonly caKey: SshPrivateKey;
  readonly hostKey: SshPublicKey;
  /** Principals: the names clients use to reach the bastion. */
  readonly hostNames: readonly string[];
  readonly ttlMs: number;
  readonly now: Date;
}

function toSeconds(ms: number): bigint {
  return BigInt(Math.floor(ms / 1000));
}

/** A host certificate: key id = first name, principals = names, now−1 min … now+ttl, no options. */
export function issueHostCertificate(request: HostCertificateRequest): SshCertificate {
  const [keyId] = request.hostNames;
  if (keyId === undefined) {
    throw new PortcullisError("ERR_CA_REQUEST", "a host certificate needs at least one name", 2);
  }
  const badName = request.hostNames.find((name) => !HOST_NAME_PATTERN.test(name));
  if (badName !== undefined) {
    throw new PortcullisError(
      "ERR_CA_REQUEST",
      `host name ${JSON.stringify(badName)} must have no spaces, commas or wildcards`,
      2,
    );
  }
  if (!Number.isSafeInteger(request.ttlMs) || request.ttlMs <= 0) {
    throw new PortcullisError("ERR_CA_REQUEST", "host certificate ttl must be positive", 2);
  }
  const nowMs = request.now.getTime();
  const blob = encodeCertificate(
    {
      key: request.hostKey,
      serial: randomBytes(8).readBigUInt64BE(0),
      type: "host",
      keyId,
      principals: request.hostNames,
      validAfter: toSeconds(nowMs - BACKDATE_MS),
      validBefore: toSeconds(nowMs + request.ttlMs),
    },
    request.caKey,
  );
  return parseCertificate(blob);
}

function readFileText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? errorMessage(error);
    throw new PortcullisError("ERR_HOST_CA", `cannot read ${what} ${path}: ${reason}`);
  }
}

function readPrivateKey(path: string, what: string): SshPrivateKey {
  return parsePrivateKey(readFileText(path, what), `${what} ${path}`);
}

export interface SignHostKeyRequest {
  readonly hostCaKeyPath: string;
  readonly hostKeyPath: string;
  readonly certificatePath: string;
  readonly hostNames: readonly string[];
  readonly ttlMs: number;
  readonly now: Date;
}

/** Issues the certificate for the private key at `hostKeyPath` and writes it (mode 0644). */
export function signHostKeyFile(request: SignHostKeyRequest): SshCertificate {
  const certificate = issueHostCertificate({
    caKey: readPrivateKey(request.hostCaKeyPath, "host CA key"),
    hostKey: readPrivateKey(request.hostKeyPath, "host key").public,
    hostNames: request.hostNames,
    ttlMs: request.ttlMs,
    now: request.now,
  });
  writeFileSync(request.certificatePath, `${certificate.toLine(certificate.keyId)}\n`, {
    mode: 0o644,
  });
  chmodSync(request.certificatePath, 0o644);
  return certificate;
}

/** `@cert-authority NAME,NAME… TYPE BASE64 COMMENT`, the known_hosts line that trusts `hostCa`. */
export function knownHostsCaLine(hostCa: SshPublicKey, hostNames: readonly string[]): string {
  return `@cert-authority ${hostNames.join(",")} ${hostCa.toLine("portcullis host CA")}`;
}

function readHostCa(ssh: SshConfig): SshPublicKey | undefined {
  let text: string;
  try {
    text = readFileSync(ssh.host_ca, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw hostCaProblem(ssh, (error as NodeJS.ErrnoException).code ?? errorMessage(error));
  }
  try {
    return parsePublicKeyLine(text);
  } catch (error) {
    throw hostCaProblem(ssh, errorMessage(error));
  }
}

function hostCaProblem(ssh: SshConfig, reason: string): ConfigError {
  return new ConfigError([`ssh.host_ca: ${ssh.host_ca}: ${reason}`]);
}

/**
 * The known_hosts line for `GET /.well-known/portcullis` and `portcullis
 * login`; undefined when there is no host CA public key (`ssh.host_ca`).
 * Read on each call, so a rotated CA is served without a restart.
 */
export function hostCaKnownHostsLine(config: Pick<Config, "ssh">): string | undefined {
  const hostCa = readHostCa(config.ssh);
  return hostCa === undefined ? undefined : knownHostsCaLine(hostCa, bastionHostNames(config.ssh));
}

export interface HostCertificateCheck {
  /** The host private key file's contents (`ssh.host_key`). */
  readonly hostKey: Buffer;
  readonly now: Date;
  readonly clockSkewMs: number;
}

/**
 * The host certificate to present, checked against the host key and the
 * host CA; undefined when `ssh.host_certificate` does not exist (the bastion
 * then serves its plain key). Every problem is a one-line ConfigError.
 */
export function loadHostCertificate(
  ssh: SshConfig,
  check: HostCertificateCheck,
): SshCertificate | undefined {
  const certificate = readHostCertificate(ssh);
  if (certificate === undefined) return undefined;
  const hostKey = hostPublicKey(ssh, check.hostKey);
  const hostCa = readHostCa(ssh);
  const problem =
    hostCa === undefined
      ? `cannot be checked: the host CA public key ${ssh.host_ca} (ssh.host_ca) is missing`
      : certificateProblem(certificate, { ...check, hostCa, hostKey, ssh });
  if (problem !== undefined) {
    throw new ConfigError([`ssh.host_certificate: ${ssh.host_certificate} ${problem}`]);
  }
  return certificate;
}

function readHostCertificate(ssh: SshConfig): SshCertificate | undefined {
  let text: string;
  try {
    text = readFileSync(ssh.host_certificate, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new ConfigError([
      `ssh.host_certificate: cannot read ${ssh.host_certificate}: ${code ?? errorMessage(error)}`,
    ]);
  }
  try {
    return parseCertificateLine(text);
  } catch (error) {
    throw new ConfigError([
      `ssh.host_certificate: ${ssh.host_certificate} is not a certificate: ${errorMessage(error)}`,
    ]);
  }
}

function hostPublicKey(ssh: SshConfig, hostKeyFile: Buffer): SshPublicKey {
  try {
    return parsePrivateKey(hostKeyFile.toString("utf8"), ssh.host_key).public;
  } catch (error) {
    throw new ConfigError([`ssh.host_key: ${errorMessage(error)}`]);
  }
}

interface Expected {
  readonly hostCa: SshPublicKey;
  readonly hostKey: SshPublicKey;
  readonly ssh: SshConfig;
  readonly now: Date;
  readonly clockSkewMs: number;
}

const REISSUE = "(re-issue it with `portcullis ca sign-host`)";

/** Why the bastion must not present `certificate`, in OpenSSH's order; undefined when it may. */
function certificateProblem(certificate: SshCertificate, expected: Expected): string | undefined {
  const { hostCa, hostKey } = expected;
  if (certificate.type !== "host") return "is a user certificate, not a host certificate";
  if (!certificate.key.blob.equals(hostKey.blob)) {
    return `certifies ${certificate.key.fingerprint}, not ssh.host_key ${hostKey.fingerprint} ${REISSUE}`;
  }
  if (!certificate.signatureKey.blob.equals(hostCa.blob)) {
    return `is signed by ${certificate.signatureKey.fingerprint}, not by the host CA ${hostCa.fingerprint} ${REISSUE}`;
  }
  if (!verifySshSignature(hostCa, certificate.signature, certificate.signedData)) {
    return "has a CA signature that does not verify";
  }
  return validityText(certificate, expected) ?? namesProblem(certificate, expected.ssh);
}

function validityText(certificate: SshCertificate, expected: Expected): string | undefined {
  const problem = validityProblem(certificate, expected.now, expected.clockSkewMs);
  if (problem === "not_yet_valid") {
    return `is not valid before ${secondsToDate(certificate.validAfter).toISOString()}`;
  }
  if (problem === "expired") {
    return `expired at ${secondsToDate(certificate.validBefore).toISOString()} ${REISSUE}`;
  }
  return undefined;
}

function namesProblem(certificate: SshCertificate, ssh: SshConfig): string | undefined {
  if (certificate.criticalOptions.size > 0) {
    return "carries critical options, which OpenSSH clients refuse in host certificates";
  }
  const missing = bastionHostNames(ssh).filter((name) => !certificate.principals.includes(name));
  if (missing.length === 0) return undefined;
  return `does not name ${missing.join(", ")} from ssh.host_names ${REISSUE}`;
}
