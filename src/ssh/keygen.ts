// SSH key pairs for upstream credentials and demo hosts: generating them and
// checking that a text really is a usable, unencrypted private key. Errors
// are one line and never contain key material.
import { createPublicKey } from "node:crypto";
import type { ParsedKey } from "ssh2";
import ssh2 from "ssh2";
import { PortcullisError } from "../util/errors.js";

export type KeyType = "ed25519" | "ecdsa" | "rsa";

export const KEY_TYPES: readonly KeyType[] = ["ed25519", "ecdsa", "rsa"];

export interface KeyPair {
  /** OpenSSH private key format, unencrypted. */
  readonly privateKey: string;
  /** `type base64 [comment]`, as in authorized_keys. */
  readonly publicKey: string;
}

export interface PrivateKeyInfo {
  /** Wire name, e.g. `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`. */
  readonly type: string;
  /** `type base64 [comment]`, as in authorized_keys. */
  readonly publicKey: string;
}

const RSA_BITS = 3072;
const MIN_RSA_BITS = 2048;
const SUPPORTED_TYPES = new Set([
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
]);

export function generateKeyPair(type: KeyType, comment?: string): KeyPair {
  // ssh2 1.17 stripped every leading zero byte of an ed25519 public key
  // (one key in 256 came out malformed); patches/ssh2+1.17.0.patch fixes it.
  const pair = generateWithSsh2(type, comment === undefined ? {} : { comment });
  return { privateKey: pair.private, publicKey: pair.public.trim() };
}

function generateWithSsh2(type: KeyType, options: { comment?: string }) {
  switch (type) {
    case "ed25519":
      return ssh2.utils.generateKeyPairSync("ed25519", options);
    case "ecdsa":
      return ssh2.utils.generateKeyPairSync("ecdsa", { bits: 256, ...options });
    case "rsa":
      return ssh2.utils.generateKeyPairSync("rsa", { bits: RSA_BITS, ...options });
  }
}

/** Validates an unencrypted private key (OpenSSH, PEM or PPK) and derives its public key line. */
export function inspectPrivateKey(text: string | Buffer): PrivateKeyInfo {
  const key = parsePrivateKey(text);
  if (!SUPPORTED_TYPES.has(key.type)) {
    throw new PortcullisError("ERR_KEY_UNSUPPORTED", `unsupported key type ${key.type}`);
  }
  if (key.type === "ssh-rsa" && rsaBits(key) < MIN_RSA_BITS) {
    throw new PortcullisError(
      "ERR_KEY_UNSUPPORTED",
      `RSA key is shorter than ${MIN_RSA_BITS} bits; generate a new one`,
    );
  }
  return { type: key.type, publicKey: publicKeyLine(key) };
}

/** `type base64 [comment]` of a parsed key (public or private). */
export function publicKeyLine(key: ParsedKey): string {
  const line = `${key.type} ${key.getPublicSSH().toString("base64")}`;
  return key.comment === "" ? line : `${line} ${key.comment}`;
}

function parsePrivateKey(text: string | Buffer): ParsedKey {
  const parsed: ParsedKey | Error | undefined = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) {
    if (/encrypted|passphrase/i.test(parsed.message)) {
      throw new PortcullisError(
        "ERR_KEY_ENCRYPTED",
        "private key is passphrase-protected; decrypt it first with ssh-keygen -p",
      );
    }
    throw notAPrivateKey();
  }
  if (parsed === undefined) throw notAPrivateKey();
  if (!parsed.isPrivateKey()) {
    throw new PortcullisError(
      "ERR_KEY_PUBLIC",
      "a public key was given where a private key is needed",
    );
  }
  return parsed;
}

function notAPrivateKey(): PortcullisError {
  return new PortcullisError(
    "ERR_KEY_INVALID",
    "not a private key (expected an OpenSSH, PEM or PuTTY private key)",
  );
}

function rsaBits(key: ParsedKey): number {
  return createPublicKey(key.getPublicPEM()).asymmetricKeyDetails?.modulusLength ?? 0;
}
