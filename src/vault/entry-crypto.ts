// The vault's cryptography: HKDF-SHA256 key derivation from the master key,
// the key-check value, and AES-256-GCM sealing of one entry's private key with
// associated data binding the entry's metadata. Pure: no files, no logging.
import {
  createCipheriv,
  createDecipheriv,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";

export const FORMAT_VERSION = 1;
export const SALT_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const KEY_BYTES = 32;
const CIPHER = "aes-256-gcm";

/** What an entry's ciphertext is bound to; changing any of it makes decryption fail. */
export interface EntryHeader {
  readonly version: number;
  readonly name: string;
  readonly type: string;
  readonly public_key: string;
  readonly created: string;
}

export interface SealedSecret {
  readonly nonce: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

export function newVaultSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

/** A value stored in vault.json that proves a master key is the vault's without revealing it. */
export function keyCheckValue(masterKey: Buffer, salt: Buffer): Buffer {
  return deriveKey(masterKey, salt, "portcullis vault v1 key-check");
}

export function keyCheckMatches(masterKey: Buffer, salt: Buffer, stored: Buffer): boolean {
  const expected = keyCheckValue(masterKey, salt);
  return stored.length === expected.length && timingSafeEqual(stored, expected);
}

export function sealEntry(
  masterKey: Buffer,
  salt: Buffer,
  header: EntryHeader,
  plaintext: Buffer,
): SealedSecret {
  const key = entryKey(masterKey, salt, header.name);
  const nonce = randomBytes(NONCE_BYTES);
  try {
    const cipher = createCipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(header));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { nonce, ciphertext, tag: cipher.getAuthTag() };
  } finally {
    key.fill(0);
  }
}

/** The plaintext, or undefined when authentication fails (wrong key, tampered data or metadata). */
export function openEntry(
  masterKey: Buffer,
  salt: Buffer,
  header: EntryHeader,
  sealed: SealedSecret,
): Buffer | undefined {
  if (sealed.nonce.length !== NONCE_BYTES || sealed.tag.length !== TAG_BYTES) return undefined;
  const key = entryKey(masterKey, salt, header.name);
  const decipher = createDecipheriv(CIPHER, key, sealed.nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData(header));
  decipher.setAuthTag(sealed.tag);
  const head = decipher.update(sealed.ciphertext);
  try {
    return Buffer.concat([head, decipher.final()]);
  } catch {
    return undefined;
  } finally {
    head.fill(0);
    key.fill(0);
  }
}

function entryKey(masterKey: Buffer, salt: Buffer, name: string): Buffer {
  return deriveKey(masterKey, salt, `portcullis vault v1 entry ${name}`);
}

function deriveKey(masterKey: Buffer, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync("sha256", masterKey, salt, info, KEY_BYTES));
}

/** Length-prefixed fields, so no two different headers encode the same bytes. */
function associatedData(header: EntryHeader): Buffer {
  const fields = [
    "portcullis vault entry",
    String(header.version),
    header.name,
    header.type,
    header.public_key,
    header.created,
  ];
  return Buffer.concat(fields.flatMap(lengthPrefixed));
}

function lengthPrefixed(field: string): Buffer[] {
  const bytes = Buffer.from(field, "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return [length, bytes];
}
