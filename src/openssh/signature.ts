// SSH signature blobs (RFC 4253 §6.6, RFC 5656 §3.1.2, RFC 8332): verify and
// create them with node:crypto. Verification never throws: anything
// malformed, mismatched to the key type, or using SHA-1 is simply false.

import { sign, verify } from "node:crypto";
import { type KeyAlgorithm, keyAlgorithm, signatureHash } from "./algorithms.js";
import type { SshPrivateKey, SshPublicKey } from "./keys.js";
import { padMagnitude, SshReader, SshWriter, sshFormatError } from "./wire.js";

function requireKeyAlgorithm(type: string): KeyAlgorithm {
  const algorithm = keyAlgorithm(type);
  if (algorithm === undefined) throw sshFormatError("unsupported key type");
  return algorithm;
}

/** SSH ECDSA signature (mpint r, mpint s) → IEEE P1363 r||s of the curve's size. */
function ecdsaToP1363(signature: Buffer, coordinateBytes: number): Buffer {
  const reader = new SshReader(signature);
  const r = reader.mpint();
  const s = reader.mpint();
  reader.end();
  return Buffer.concat([padMagnitude(r, coordinateBytes), padMagnitude(s, coordinateBytes)]);
}

function rawSignatureFor(algorithm: KeyAlgorithm, key: SshPublicKey, signature: Buffer): Buffer {
  switch (algorithm.kind) {
    case "ed25519":
      if (signature.length !== 64) throw sshFormatError("ed25519 signature must be 64 bytes");
      return signature;
    case "ecdsa":
      return ecdsaToP1363(signature, algorithm.curve?.bytes ?? 0);
    case "rsa": {
      const modulusBytes = Math.ceil((key.keyObject.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
      return padMagnitude(signature, modulusBytes);
    }
  }
}

function verifyOrThrow(
  key: SshPublicKey,
  signatureBlob: Buffer,
  data: Buffer,
  expectedAlgorithm?: string,
): boolean {
  const algorithm = requireKeyAlgorithm(key.type);
  const reader = new SshReader(signatureBlob);
  const name = reader.utf8String();
  const signature = reader.string();
  reader.end();
  if (!algorithm.signatureAlgorithms.includes(name)) return false;
  if (expectedAlgorithm !== undefined && name !== expectedAlgorithm) return false;
  const hash = signatureHash(name) ?? null;
  const raw = rawSignatureFor(algorithm, key, signature);
  const dsaEncoding = algorithm.kind === "ecdsa" ? "ieee-p1363" : undefined;
  return verify(hash, data, { key: key.keyObject, dsaEncoding }, raw);
}

/**
 * Verifies a whole SSH signature blob (algorithm name + signature) over `data`.
 * The algorithm must suit the key type (rsa-sha2-256/512 for RSA, never SHA-1
 * "ssh-rsa"); `expectedAlgorithm`, when given, must match exactly.
 * Malformed input yields false, never an exception.
 */
export function verifySshSignature(
  key: SshPublicKey,
  signatureBlob: Buffer,
  data: Buffer,
  expectedAlgorithm?: string,
): boolean {
  try {
    return verifyOrThrow(key, signatureBlob, data, expectedAlgorithm);
  } catch {
    return false;
  }
}

/** P1363 r||s → SSH ECDSA signature (mpint r, mpint s). */
function p1363ToEcdsa(raw: Buffer): Buffer {
  const half = raw.length / 2;
  return new SshWriter().mpint(raw.subarray(0, half)).mpint(raw.subarray(half)).toBuffer();
}

/** Signs `data` and returns an SSH signature blob (ed25519, ecdsa-sha2-nistpN, rsa-sha2-512). */
export function signSsh(key: SshPrivateKey, data: Buffer): Buffer {
  const algorithm = requireKeyAlgorithm(key.public.type);
  const name = algorithm.signingAlgorithm;
  const hash = signatureHash(name) ?? null;
  const isEcdsa = algorithm.kind === "ecdsa";
  const raw = sign(hash, data, {
    key: key.keyObject,
    dsaEncoding: isEcdsa ? "ieee-p1363" : undefined,
  });
  return new SshWriter()
    .string(name)
    .string(isEcdsa ? p1363ToEcdsa(raw) : raw)
    .toBuffer();
}
