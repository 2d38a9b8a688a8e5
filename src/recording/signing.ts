// The bastion's audit key (Ed25519, node:crypto): generated once by `init`
// as a PKCS#8 PEM file readable only by its owner, loaded at start-up, and
// used to sign what identifies a closed recording: its id, SHA-256 and size.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { errorMessage } from "../util/errors.js";
import { hasErrorCode, writeFileAtomic } from "../vault/atomic-file.js";
import { RecordingError } from "./types.js";

export interface AuditKey {
  sign(message: Buffer): string;
  verify(message: Buffer, signature: string): boolean;
  publicKeyPem: string;
}

const SIGNED_MESSAGE_DOMAIN = "portcullis-recording-v1";
const GROUP_OR_OTHER_BITS = 0o077;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Writes a new key (mode 0600, crash-safe); refuses to replace an existing file. */
export function generateAuditKey(path: string): void {
  const { privateKey } = generateKeyPairSync("ed25519");
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  try {
    writeFileAtomic(path, pem, { overwrite: false });
  } catch (error) {
    if (hasErrorCode(error, "EEXIST"))
      throw keyError(path, "already exists; refusing to overwrite it");
    throw keyError(path, `cannot be written: ${errorMessage(error)}`);
  }
}

export function loadAuditKey(path: string): AuditKey {
  const privateKey = readPrivateKey(path);
  const publicKey = createPublicKey(privateKey);
  return {
    sign: (message) => sign(null, message, privateKey).toString("base64"),
    verify: (message, signature) => verifySignature(publicKey, message, signature),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** What is signed for a recording: unambiguous (JSON array) and domain-separated. */
export function recordingSignedMessage(recordingId: string, sha256: string, bytes: number): Buffer {
  return Buffer.from(`${SIGNED_MESSAGE_DOMAIN} ${JSON.stringify([recordingId, sha256, bytes])}`);
}

function readPrivateKey(path: string): KeyObject {
  let pem: string;
  try {
    if ((statSync(path).mode & GROUP_OR_OTHER_BITS) !== 0)
      throw new Error("is readable or writable by group or others (chmod 600 it)");
    pem = readFileSync(path, "utf8");
  } catch (error) {
    if (hasErrorCode(error, "ENOENT"))
      throw keyError(path, "does not exist (run `portcullis init`)");
    throw keyError(path, errorMessage(error));
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw keyError(path, "is not a PEM private key");
  }
  if (key.asymmetricKeyType !== "ed25519") throw keyError(path, "is not an Ed25519 key");
  return key;
}

function verifySignature(publicKey: KeyObject, message: Buffer, signature: string): boolean {
  if (!BASE64.test(signature)) return false;
  try {
    return verify(null, message, publicKey, Buffer.from(signature, "base64"));
  } catch {
    return false;
  }
}

function keyError(path: string, reason: string): RecordingError {
  return new RecordingError("ERR_AUDIT_KEY", `audit key ${path} ${reason}`.replace(/\s+/g, " "));
}
