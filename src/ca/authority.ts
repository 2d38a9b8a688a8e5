// The user certificate authority: loads the CA private key and issues
// short-lived OpenSSH user certificates in the one shape Portcullis trusts
// (SPEC §4): key id = principal = user, validity now−1 min … now+ttl,
// permit-pty, optional permit-port-forwarding, groups@portcullis.

import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import {
  type CertificateOptionValue,
  encodeCertificate,
  GROUPS_EXTENSION,
  parseCertificate,
} from "../openssh/certificate.js";
import {
  parsePrivateKey,
  parsePublicKeyLine,
  type SshPrivateKey,
  type SshPublicKey,
} from "../openssh/keys.js";
import { PortcullisError } from "../util/errors.js";

/** Certificates start this long before `now`, to absorb clock skew between hosts. */
export const BACKDATE_MS = 60_000;

export interface SignUserCertificateRequest {
  /** The user's public key, as in their `.pub` file. */
  readonly publicKeyLine: string;
  /** Username claim: becomes the key id and the only principal. */
  readonly user: string;
  readonly groups: readonly string[];
  readonly ttlMs: number;
  readonly now: Date;
  readonly permitPortForwarding?: boolean;
  /** Optional `source-address` critical option (comma-separated CIDR list). */
  readonly sourceAddress?: string;
}

export interface IssuedCertificate {
  /** The `-cert.pub` line, commented with the user. */
  readonly certificateLine: string;
  readonly serial: bigint;
  readonly keyId: string;
  readonly validAfter: Date;
  readonly validBefore: Date;
}

function requestError(message: string): PortcullisError {
  return new PortcullisError("ERR_CA_REQUEST", message, 2);
}

const CONTROL_CHARACTERS = /\p{Cc}/u;

function checkRequest(request: SignUserCertificateRequest): void {
  if (request.user.trim() === "" || request.user !== request.user.trim()) {
    throw requestError("user must be a non-empty name without surrounding spaces");
  }
  if (CONTROL_CHARACTERS.test(request.user) || request.user.includes(",")) {
    throw requestError("user must not contain commas or control characters");
  }
  for (const group of request.groups) {
    if (group === "" || group.includes(",") || CONTROL_CHARACTERS.test(group)) {
      throw requestError(`group ${JSON.stringify(group)} must be non-empty, without commas`);
    }
  }
  if (!Number.isSafeInteger(request.ttlMs) || request.ttlMs <= 0) {
    throw requestError("certificate ttl must be a positive number of milliseconds");
  }
}

function randomSerial(): bigint {
  return randomBytes(8).readBigUInt64BE(0);
}

function toSeconds(date: Date): bigint {
  return BigInt(Math.floor(date.getTime() / 1000));
}

function userExtensions(
  request: SignUserCertificateRequest,
): Record<string, CertificateOptionValue> {
  const extensions: Record<string, CertificateOptionValue> = { "permit-pty": true };
  if (request.permitPortForwarding === true) extensions["permit-port-forwarding"] = true;
  if (request.groups.length > 0) extensions[GROUPS_EXTENSION] = request.groups.join(",");
  return extensions;
}

export class CertificateAuthority {
  readonly #key: SshPrivateKey;

  constructor(key: SshPrivateKey) {
    this.#key = key;
  }

  /** The CA public key (the line for TrustedUserCAKeys / `@cert-authority`). */
  get publicKey(): SshPublicKey {
    return this.#key.public;
  }

  signUserCertificate(request: SignUserCertificateRequest): IssuedCertificate {
    checkRequest(request);
    const key = parsePublicKeyLine(request.publicKeyLine);
    const validAfter = new Date(request.now.getTime() - BACKDATE_MS);
    const validBefore = new Date(request.now.getTime() + request.ttlMs);
    const serial = randomSerial();
    const sourceAddress = request.sourceAddress;
    const blob = encodeCertificate(
      {
        key,
        serial,
        type: "user",
        keyId: request.user,
        principals: [request.user],
        validAfter: toSeconds(validAfter),
        validBefore: toSeconds(validBefore),
        criticalOptions: sourceAddress === undefined ? {} : { "source-address": sourceAddress },
        extensions: userExtensions(request),
      },
      this.#key,
    );
    return {
      certificateLine: parseCertificate(blob).toLine(request.user),
      serial,
      keyId: request.user,
      validAfter,
      validBefore,
    };
  }
}

function readText(path: string, what: string, code: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new PortcullisError(code, `cannot read ${what} ${path}: ${reason}`);
  }
}

/** Loads the CA from its unencrypted OpenSSH private key file. */
export function loadCertificateAuthority(path: string): CertificateAuthority {
  const text = readText(path, "CA key", "ERR_CA_KEY");
  return new CertificateAuthority(parsePrivateKey(text, `CA key ${path}`));
}

export interface SignUserKeyFileRequest extends Omit<SignUserCertificateRequest, "publicKeyLine"> {
  readonly caKeyPath: string;
  /** KEY.pub; the certificate is written beside it as KEY-cert.pub. */
  readonly publicKeyPath: string;
}

/** `KEY.pub` → `KEY-cert.pub` (any other name gets `-cert.pub` appended), as ssh-keygen -s. */
export function certificatePathFor(publicKeyPath: string): string {
  const base = publicKeyPath.endsWith(".pub") ? publicKeyPath.slice(0, -4) : publicKeyPath;
  return `${base}-cert.pub`;
}

/** Signs a public key file like `ssh-keygen -s`; returns the path of the written certificate. */
export function signUserKeyFile(request: SignUserKeyFileRequest): string {
  const { caKeyPath, publicKeyPath, ...rest } = request;
  const authority = loadCertificateAuthority(caKeyPath);
  const publicKeyLine = readText(publicKeyPath, "public key", "ERR_CA_REQUEST");
  const issued = authority.signUserCertificate({ ...rest, publicKeyLine });
  const certificatePath = certificatePathFor(publicKeyPath);
  writeFileSync(certificatePath, `${issued.certificateLine}\n`, { mode: 0o644 });
  chmodSync(certificatePath, 0o644);
  return certificatePath;
}
