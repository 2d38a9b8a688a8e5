// The encrypted envelope of a backup file: a versioned header, then the
// archive sealed with AES-256-GCM under a key derived from the passphrase
// with scrypt. The header is authenticated too (GCM additional data), so
// any changed byte, a wrong passphrase or a cut file fails to open.
//
//   offset  size  field
//   0       8     magic "PCBACKUP"
//   8       1     format version (1)
//   9       1     scrypt cost: log2(N)
//   10      1     scrypt block size r
//   11      1     scrypt parallelism p
//   12      16    salt
//   28      12    GCM nonce
//   40      …     ciphertext
//   end-16  16    GCM tag

import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import { PortcullisError } from "../util/errors.js";

const MAGIC = Buffer.from("PCBACKUP", "latin1");
const FORMAT_VERSION = 1;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + 4 + SALT_BYTES + NONCE_BYTES;
const KEY_BYTES = 32;
/** 2^17 × 8 × 128 bytes = 128 MiB and about half a second per derivation. */
const DEFAULT_COST = { log2N: 17, r: 8, p: 1 };
/** A file can ask for at most this much work (a crafted header must not exhaust the host). */
const MAX_COST = { log2N: 20, r: 16, p: 4 };

interface ScryptCost {
  log2N: number;
  r: number;
  p: number;
}

export function sealBackup(archive: Buffer, passphrase: string): Buffer {
  const cost = DEFAULT_COST;
  const header = Buffer.concat([
    MAGIC,
    Buffer.from([FORMAT_VERSION, cost.log2N, cost.r, cost.p]),
    randomBytes(SALT_BYTES),
    randomBytes(NONCE_BYTES),
  ]);
  const cipher = createCipheriv(
    "aes-256-gcm",
    deriveKey(passphrase, header, cost),
    nonceOf(header),
  );
  cipher.setAAD(header);
  return Buffer.concat([header, cipher.update(archive), cipher.final(), cipher.getAuthTag()]);
}

/** The archive inside `sealed`; a one-line error when it is not a backup, or does not open. */
export function openBackup(sealed: Buffer, passphrase: string, name: string): Buffer {
  const header = sealed.subarray(0, HEADER_BYTES);
  if (sealed.length < HEADER_BYTES + TAG_BYTES || !header.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw backupError(`${name} is not a Portcullis backup`);
  }
  const version = header[MAGIC.length];
  if (version !== FORMAT_VERSION) {
    throw backupError(`${name}: backup format version ${version} is not supported (expected 1)`);
  }
  const cost = costOf(header, name);
  const decipher = createDecipheriv(
    "aes-256-gcm",
    deriveKey(passphrase, header, cost),
    nonceOf(header),
  );
  decipher.setAAD(header);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw unopenable(name);
  }
}

export function backupError(message: string): PortcullisError {
  return new PortcullisError("ERR_BACKUP", message);
}

function unopenable(name: string): PortcullisError {
  return backupError(`cannot open ${name}: wrong passphrase, or the file was changed`);
}

function costOf(header: Buffer, name: string): ScryptCost {
  const [log2N = 0, r = 0, p = 0] = header.subarray(MAGIC.length + 1, MAGIC.length + 4);
  const within = (value: number, max: number) => value >= 1 && value <= max;
  if (!within(log2N, MAX_COST.log2N) || !within(r, MAX_COST.r) || !within(p, MAX_COST.p)) {
    throw unopenable(name);
  }
  return { log2N, r, p };
}

function deriveKey(passphrase: string, header: Buffer, cost: ScryptCost): Buffer {
  const salt = header.subarray(MAGIC.length + 4, MAGIC.length + 4 + SALT_BYTES);
  const N = 2 ** cost.log2N;
  return scryptSync(passphrase.normalize("NFC"), salt, KEY_BYTES, {
    N,
    r: cost.r,
    p: cost.p,
    maxmem: 256 * N * cost.r,
  });
}

function nonceOf(header: Buffer): Buffer {
  return header.subarray(HEADER_BYTES - NONCE_BYTES, HEADER_BYTES);
}
