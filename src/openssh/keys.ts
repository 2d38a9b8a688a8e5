// OpenSSH public and private key codec: public key lines and blobs
// (ed25519, ECDSA P-256/384/521, RSA ≥ 2048 bits) imported into node:crypto
// KeyObjects, and unencrypted "openssh-key-v1" private key files. Error
// messages name the problem, never key material.

import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { PortcullisError } from "../util/errors.js";
import {
  type KeyAlgorithm,
  keyAlgorithm,
  MAX_RSA_BITS,
  MIN_RSA_BITS,
  quoteName,
} from "./algorithms.js";
import { padMagnitude, SSH_FORMAT_ERROR, SshReader, sshFormatError } from "./wire.js";

export const UNSUPPORTED_KEY_ERROR = "ERR_SSH_UNSUPPORTED_KEY";

export interface SshPublicKey {
  /** Key type name, e.g. "ssh-ed25519". */
  readonly type: string;
  /** The SSH public key blob (a private copy). */
  readonly blob: Buffer;
  readonly keyObject: KeyObject;
  /** "SHA256:…" as ssh-keygen -l prints it (unpadded base64). */
  readonly fingerprint: string;
  /** The authorized_keys / .pub line form. */
  toLine(comment?: string): string;
}

export interface SshPrivateKey {
  readonly public: SshPublicKey;
  readonly keyObject: KeyObject;
  readonly comment: string;
}

type Jwk = Record<string, string>;

function b64url(bytes: Buffer): string {
  return bytes.toString("base64url");
}

function bitLength(magnitude: Buffer): number {
  const top = magnitude[0];
  return top === undefined ? 0 : (magnitude.length - 1) * 8 + (32 - Math.clz32(top));
}

export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** Decodes base64 that must be canonical (no stray characters). */
export function decodeBase64Strict(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || bytes.toString("base64") !== text) {
    throw sshFormatError(`${what} is not valid base64`);
  }
  return bytes;
}

function unsupported(message: string): PortcullisError {
  return new PortcullisError(UNSUPPORTED_KEY_ERROR, message);
}

function importKey(jwk: Jwk, isPrivate: boolean): KeyObject {
  try {
    const input = { key: jwk, format: "jwk" as const };
    return isPrivate ? createPrivateKey(input) : createPublicKey(input);
  } catch {
    throw sshFormatError(`invalid ${jwk.kty} key parameters`);
  }
}

function checkRsaSize(modulus: Buffer): void {
  const bits = bitLength(modulus);
  if (bits < MIN_RSA_BITS) {
    throw unsupported(`RSA key of ${bits} bits is too small (minimum ${MIN_RSA_BITS})`);
  }
  if (bits > MAX_RSA_BITS) throw unsupported(`RSA key of ${bits} bits is too large`);
}

/** Reads the ECDSA curve name and point; returns the JWK coordinates. */
function readEcdsaPoint(algorithm: KeyAlgorithm, reader: SshReader): Jwk {
  const curve = algorithm.curve;
  if (curve === undefined) throw sshFormatError("not an ECDSA algorithm");
  if (reader.utf8String() !== curve.sshName) throw sshFormatError("ECDSA curve name mismatch");
  const point = reader.string();
  if (point.length !== 1 + 2 * curve.bytes || point[0] !== 0x04) {
    throw sshFormatError("ECDSA public point is not an uncompressed point on its curve");
  }
  const x = point.subarray(1, 1 + curve.bytes);
  const y = point.subarray(1 + curve.bytes);
  return { kty: "EC", crv: curve.jwkName, x: b64url(x), y: b64url(y) };
}

function readEd25519Public(reader: SshReader): Buffer {
  const publicKey = reader.string();
  if (publicKey.length !== 32) throw sshFormatError("ed25519 public key must be 32 bytes");
  return publicKey;
}

function readPublicJwk(algorithm: KeyAlgorithm, reader: SshReader): Jwk {
  switch (algorithm.kind) {
    case "ed25519":
      return { kty: "OKP", crv: "Ed25519", x: b64url(readEd25519Public(reader)) };
    case "ecdsa":
      return readEcdsaPoint(algorithm, reader);
    case "rsa": {
      const e = reader.mpint();
      const n = reader.mpint();
      checkRsaSize(n);
      return { kty: "RSA", n: b64url(n), e: b64url(e) };
    }
  }
}

function requireAlgorithm(type: string): KeyAlgorithm {
  const algorithm = keyAlgorithm(type);
  if (algorithm === undefined) throw unsupported(`unsupported key type ${quoteName(type)}`);
  return algorithm;
}

function makePublicKey(type: string, blob: Buffer, keyObject: KeyObject): SshPublicKey {
  const ownBlob = Buffer.from(blob);
  const base64 = ownBlob.toString("base64");
  return Object.freeze({
    type,
    blob: ownBlob,
    keyObject,
    fingerprint: sshFingerprint(ownBlob),
    toLine: (comment?: string) => (comment ? `${type} ${base64} ${comment}` : `${type} ${base64}`),
  });
}

/** Parses an SSH public key blob (RFC 4253 §6.6); trailing bytes are refused. */
export function publicKeyFromBlob(blob: Buffer): SshPublicKey {
  const reader = new SshReader(blob);
  const algorithm = requireAlgorithm(reader.utf8String());
  const jwk = readPublicJwk(algorithm, reader);
  reader.end();
  return makePublicKey(algorithm.type, blob, importKey(jwk, false));
}

/** Splits an OpenSSH "type base64 [comment]" line. */
export function splitKeyLine(line: string, what: string): { type: string; blob: Buffer } {
  const [type, data] = line.trim().split(/\s+/);
  if (type === undefined || data === undefined || type === "") {
    throw sshFormatError(`${what} line must be "TYPE BASE64 [COMMENT]"`);
  }
  return { type, blob: decodeBase64Strict(data, what) };
}

/** Parses a `.pub` / authorized_keys style line (without options). */
export function parsePublicKeyLine(line: string): SshPublicKey {
  const { type, blob } = splitKeyLine(line, "public key");
  let key: SshPublicKey;
  try {
    key = publicKeyFromBlob(blob);
  } catch (error) {
    if (!(error instanceof PortcullisError && error.code === SSH_FORMAT_ERROR)) throw error;
    throw sshFormatError(`malformed ${quoteName(type)} public key: ${error.message}`);
  }
  if (key.type !== type) {
    throw sshFormatError(
      `public key line says ${quoteName(type)} but its data is a ${key.type} key`,
    );
  }
  return key;
}

// ---- private keys (PROTOCOL.key) ----

const PEM_LABEL = "OPENSSH PRIVATE KEY";
const PEM_PATTERN = new RegExp(
  `^-----BEGIN ${PEM_LABEL}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+)-----END ${PEM_LABEL}-----\\s*$`,
);
const MAGIC = Buffer.from("openssh-key-v1\0", "latin1");

function toBigInt(magnitude: Buffer): bigint {
  return magnitude.length === 0 ? 0n : BigInt(`0x${magnitude.toString("hex")}`);
}

function fromBigInt(value: bigint): Buffer {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, "hex");
}

/** PROTOCOL.key RSA private fields: n, e, d, iqmp, p, q (JWK also needs d mod p−1, d mod q−1). */
function readRsaPrivateJwk(reader: SshReader): Jwk {
  const n = reader.mpint();
  const e = reader.mpint();
  const d = reader.mpint();
  const qi = reader.mpint();
  const p = reader.mpint();
  const q = reader.mpint();
  checkRsaSize(n);
  const dp = fromBigInt(toBigInt(d) % (toBigInt(p) - 1n));
  const dq = fromBigInt(toBigInt(d) % (toBigInt(q) - 1n));
  const parts = { n, e, d, p, q, dp, dq, qi };
  return {
    kty: "RSA",
    ...Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, b64url(v)])),
  };
}

function readPrivateJwk(algorithm: KeyAlgorithm, reader: SshReader): Jwk {
  switch (algorithm.kind) {
    case "ed25519": {
      const publicKey = readEd25519Public(reader);
      const secret = reader.string();
      if (secret.length !== 64 || !secret.subarray(32).equals(publicKey)) {
        throw sshFormatError("ed25519 private key is inconsistent");
      }
      return {
        kty: "OKP",
        crv: "Ed25519",
        x: b64url(publicKey),
        d: b64url(secret.subarray(0, 32)),
      };
    }
    case "ecdsa": {
      const jwk = readEcdsaPoint(algorithm, reader);
      const bytes = algorithm.curve?.bytes ?? 0;
      return { ...jwk, d: b64url(padMagnitude(reader.mpint(), bytes)) };
    }
    case "rsa":
      return readRsaPrivateJwk(reader);
  }
}

function checkPadding(reader: SshReader): void {
  for (let expected = 1; reader.remaining > 0; expected++) {
    if (reader.byte() !== (expected & 0xff)) throw sshFormatError("bad private key padding");
  }
}

function decodePem(text: string, source: string): Buffer {
  const match = PEM_PATTERN.exec(text.trim());
  if (match === null) {
    const hint = /ENCRYPTED/.test(text) ? " and is passphrase-protected" : "";
    throw sshFormatError(`${source} is not an unencrypted OpenSSH private key file${hint}`);
  }
  return decodeBase64Strict((match[1] ?? "").replace(/\s+/g, ""), source);
}

function readPrivateKeyFile(file: Buffer, source: string): SshPrivateKey {
  if (!file.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw sshFormatError(`${source} is not an openssh-key-v1 private key`);
  }
  const outer = new SshReader(file.subarray(MAGIC.length));
  const cipher = outer.utf8String();
  const kdf = outer.utf8String();
  outer.string();
  if (cipher !== "none" || kdf !== "none") {
    throw new PortcullisError("ERR_SSH_KEY_ENCRYPTED", `${source} is passphrase-protected`);
  }
  if (outer.uint32() !== 1) throw sshFormatError(`${source} must hold exactly one key`);
  const publicKey = publicKeyFromBlob(outer.string());
  const inner = new SshReader(outer.string());
  outer.end();
  const [check1, check2] = [inner.uint32(), inner.uint32()];
  if (check1 !== check2) throw sshFormatError(`${source} is corrupt`);
  const algorithm = requireAlgorithm(inner.utf8String());
  if (algorithm.type !== publicKey.type) throw sshFormatError(`${source}: key types differ`);
  const keyObject = importKey(readPrivateJwk(algorithm, inner), true);
  const comment = inner.utf8String();
  checkPadding(inner);
  if (!createPublicKey(keyObject).equals(publicKey.keyObject)) {
    throw sshFormatError(`${source}: private and public halves do not match`);
  }
  return Object.freeze({ public: publicKey, keyObject, comment });
}

/**
 * Parses an unencrypted OpenSSH private key file (PEM label "OPENSSH PRIVATE KEY").
 * `source` names the key in error messages (e.g. its path).
 */
export function parsePrivateKey(text: string, source = "private key"): SshPrivateKey {
  const file = decodePem(text, source);
  try {
    return readPrivateKeyFile(file, source);
  } catch (error) {
    if (error instanceof PortcullisError && error.code === SSH_FORMAT_ERROR) {
      const detail = error.message.startsWith(source)
        ? error.message
        : `${source}: ${error.message}`;
      throw sshFormatError(detail);
    }
    throw error;
  } finally {
    file.fill(0);
  }
}
