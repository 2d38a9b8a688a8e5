// The bastion's own SSH connection to a target: authenticates with the
// vaulted private key and accepts the target only if the host key it shows
// is byte-for-byte the pinned one, or a host certificate that
// src/auth/host-certificate.ts accepts for the target's host_ca. Also
// fetches a host key for `targets scan`.

import type { ServerHostKeyAlgorithm, Client as UpstreamClient } from "ssh2";
import ssh2 from "ssh2";
import { decideHostCertificate, type HostCertificateTrust } from "../auth/host-certificate.js";
import type { Target } from "../policy/types.js";
import { PortcullisError } from "../util/errors.js";

const { Client } = ssh2;

/** AES-GCM first: measured fastest through node's OpenSSL (FIELD-NOTES). */
const UPSTREAM_CIPHERS = [
  "aes128-gcm@openssh.com",
  "aes256-gcm@openssh.com",
  "chacha20-poly1305@openssh.com",
  "aes128-ctr",
  "aes256-ctr",
] as const;

export interface UpstreamEndpoint {
  host: string;
  port: number;
}

export interface UpstreamLogin extends UpstreamEndpoint {
  username: string;
  privateKey: Buffer;
  hostKeyTrust: HostKeyTrust;
  timeoutMs: number;
  now(): Date;
}

export interface PinnedHostKey {
  type: string;
  blob: Buffer;
}

/** How a target's host key is trusted: one pinned key, or certificates of a host CA. */
export type HostKeyTrust =
  | { kind: "pinned"; key: PinnedHostKey }
  | { kind: "ca"; trust: HostCertificateTrust };

/** OpenSSH host certificate algorithms (the patched ssh2 client negotiates them). */
const HOST_CERTIFICATE_ALGORITHMS = [
  "ssh-ed25519-cert-v01@openssh.com",
  "ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "ecdsa-sha2-nistp384-cert-v01@openssh.com",
  "ecdsa-sha2-nistp521-cert-v01@openssh.com",
  "rsa-sha2-512-cert-v01@openssh.com",
  "rsa-sha2-256-cert-v01@openssh.com",
] as unknown as ServerHostKeyAlgorithm[];

export class HostKeyRejectedError extends PortcullisError {
  readonly presentedKey: string;

  constructor(target: string, problem: string, presentedKey: string) {
    super("ERR_HOST_KEY_REJECTED", `host key of ${target} ${problem}; refusing to connect`);
    this.presentedKey = presentedKey;
  }
}

interface HostKeyCheck {
  algorithms: ServerHostKeyAlgorithm[];
  /** undefined when the presented key (or certificate) is trusted, else what is wrong. */
  problem(presented: Buffer): string | undefined;
}

function hostKeyCheck(trust: HostKeyTrust, now: () => Date): HostKeyCheck {
  if (trust.kind === "pinned") {
    return {
      algorithms: [hostKeyAlgorithm(trust.key.type)],
      problem: (presented) =>
        presented.equals(trust.key.blob) ? undefined : "does not match the pinned key",
    };
  }
  return {
    algorithms: HOST_CERTIFICATE_ALGORITHMS,
    problem: (presented) => {
      const decision = decideHostCertificate(presented, trust.trust, now());
      return decision.ok ? undefined : `is not trusted: ${decision.reason}`;
    },
  };
}

/** Opens an authenticated upstream connection; rejects with a one-line reason. */
export function connectUpstream(login: UpstreamLogin): Promise<UpstreamClient> {
  const check = hostKeyCheck(login.hostKeyTrust, login.now);
  const target = `${login.host}:${login.port}`;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let rejected: { problem: string; key: Buffer } | undefined;
    client.once("ready", () => {
      client.setNoDelay(true);
      resolve(client);
    });
    client.on("error", (error: Error & { level?: string }) => {
      client.end();
      if (rejected) {
        return reject(
          new HostKeyRejectedError(target, rejected.problem, rejected.key.toString("base64")),
        );
      }
      reject(new PortcullisError("ERR_UPSTREAM", describeUpstreamError(target, error)));
    });
    client.connect({
      host: login.host,
      port: login.port,
      username: login.username,
      privateKey: login.privateKey,
      readyTimeout: login.timeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      algorithms: {
        cipher: [...UPSTREAM_CIPHERS],
        serverHostKey: check.algorithms,
      },
      hostVerifier: (key: Buffer) => {
        const problem = check.problem(key);
        if (problem !== undefined) rejected = { problem, key };
        return problem === undefined;
      },
    });
  });
}

function describeUpstreamError(
  target: string,
  error: Error & { level?: string; code?: string },
): string {
  if (error.code === "ECONNREFUSED") return `target ${target} refused the connection`;
  if (error.code === "EHOSTUNREACH" || error.code === "ENETUNREACH")
    return `target ${target} is unreachable`;
  if (error.message.includes("Timed out")) return `target ${target} did not answer in time`;
  if (error.level === "client-authentication") {
    return `target ${target} refused the bastion's credential`;
  }
  return `cannot connect to target ${target}: ${error.message}`;
}

/** The algorithm to ask for: a pinned RSA key is offered with SHA-2 signatures only. */
export function hostKeyAlgorithm(type: string): ServerHostKeyAlgorithm {
  return (type === "ssh-rsa" ? "rsa-sha2-512" : type) as ServerHostKeyAlgorithm;
}

/** Connects without authenticating and returns the host key line the target presents. */
export function scanHostKey(
  endpoint: UpstreamEndpoint,
  timeoutMs: number,
  type?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let found: string | undefined;
    const finish = () => {
      client.end();
      if (found) resolve(found);
    };
    client.on("error", (error: Error & { code?: string }) => {
      if (found) return resolve(found);
      reject(
        new PortcullisError(
          "ERR_UPSTREAM",
          describeUpstreamError(`${endpoint.host}:${endpoint.port}`, error),
        ),
      );
    });
    client.connect({
      host: endpoint.host,
      port: endpoint.port,
      username: "portcullis-scan",
      readyTimeout: timeoutMs,
      ...(type ? { algorithms: { serverHostKey: [type as ServerHostKeyAlgorithm] } } : {}),
      hostVerifier: (key: Buffer) => {
        const keyType = key.subarray(4, 4 + key.readUInt32BE(0)).toString("latin1");
        found = `${keyType} ${key.toString("base64")}`;
        setImmediate(finish);
        return false;
      },
    });
  });
}

/** How a target's host key is trusted: its pinned key, or certificates its host CA signed for its address or name. */
export function hostKeyTrustOf(target: Target, clockSkewMs: number): HostKeyTrust {
  if (target.host_key) return { kind: "pinned", key: target.host_key };
  if (!target.host_ca) throw new Error(`target ${target.name} has no host_key or host_ca`);
  const hostNames = [target.address.host, target.name];
  return { kind: "ca", trust: { hostCa: target.host_ca, hostNames, clockSkewMs } };
}
