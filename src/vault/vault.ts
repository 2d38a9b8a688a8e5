// The credential vault: a directory holding vault.json (salt + key check) and
// one encrypted file per upstream private key, <name>.json. Listing reads
// only metadata; getPrivateKey decrypts and authenticates. Errors name the
// entry, never its key material.
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { generateKeyPair, inspectPrivateKey, type KeyType } from "../ssh/keygen.js";
import { PortcullisError } from "../util/errors.js";
import { fsyncDirectory, hasErrorCode, PRIVATE_DIR_MODE, writeFileAtomic } from "./atomic-file.js";
import {
  type EntryHeader,
  FORMAT_VERSION,
  keyCheckMatches,
  keyCheckValue,
  newVaultSalt,
  openEntry,
  SALT_BYTES,
  sealEntry,
} from "./entry-crypto.js";
import { assertMasterKey } from "./master-key.js";

export const VAULT_METADATA_FILE = "vault.json";
const NAME_PATTERN = "[a-z0-9][a-z0-9._-]{0,63}";
const ENTRY_NAME = new RegExp(`^${NAME_PATTERN}$`);
const ENTRY_FILE = new RegExp(`^(${NAME_PATTERN})\\.json$`);
const RESERVED_NAMES = new Set(["vault"]);

export interface VaultEntrySummary {
  readonly name: string;
  /** Wire name, e.g. `ssh-ed25519`. */
  readonly type: string;
  /** `type base64 [comment]` line. */
  readonly publicKey: string;
  /** ISO 8601 time the entry was written. */
  readonly created: string;
}

export interface WriteOptions {
  /** Replace an existing entry of the same name instead of refusing. */
  readonly replace?: boolean;
}

export interface VaultOptions {
  /** Clock for entries' `created` time. */
  readonly now?: () => Date;
}

const base64Buffer = z.base64().transform((text) => Buffer.from(text, "base64"));

const metadataSchema = z.strictObject({
  version: z.literal(FORMAT_VERSION),
  kdf: z.literal("hkdf-sha256"),
  cipher: z.literal("aes-256-gcm"),
  salt: base64Buffer.refine((bytes) => bytes.length === SALT_BYTES),
  key_check: base64Buffer,
});

const entrySchema = z.strictObject({
  version: z.literal(FORMAT_VERSION),
  name: z.string(),
  type: z.string(),
  public_key: z.string(),
  created: z.string(),
  nonce: base64Buffer,
  ciphertext: base64Buffer,
  tag: base64Buffer,
});
type StoredEntry = z.infer<typeof entrySchema>;

/** Opens the vault in `dir`, creating the directory and vault.json on first use. */
export function openVault(dir: string, masterKey: Buffer, options: VaultOptions = {}): Vault {
  assertMasterKey(masterKey, "the caller");
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const salt = readOrCreateMetadata(dir, masterKey);
  return new Vault(dir, Buffer.from(masterKey), salt, options.now ?? (() => new Date()));
}

export class Vault {
  readonly dir: string;
  readonly #masterKey: Buffer;
  readonly #salt: Buffer;
  readonly #now: () => Date;

  /** Use openVault: it checks the master key against the vault first. */
  constructor(dir: string, masterKey: Buffer, salt: Buffer, now: () => Date) {
    this.dir = dir;
    this.#masterKey = masterKey;
    this.#salt = salt;
    this.#now = now;
  }

  /** Stores an unencrypted private key; returns its public key line. */
  add(name: string, privateKeyText: string | Buffer, options: WriteOptions = {}): string {
    assertEntryName(name);
    const info = inspectPrivateKey(privateKeyText);
    const header: EntryHeader = {
      version: FORMAT_VERSION,
      name,
      type: info.type,
      public_key: info.publicKey,
      created: this.#now().toISOString(),
    };
    const plaintext = Buffer.from(privateKeyText);
    const sealed = sealEntry(this.#masterKey, this.#salt, header, plaintext);
    plaintext.fill(0);
    const file = {
      ...header,
      nonce: sealed.nonce.toString("base64"),
      ciphertext: sealed.ciphertext.toString("base64"),
      tag: sealed.tag.toString("base64"),
    };
    this.#writeEntryFile(name, `${JSON.stringify(file, null, 2)}\n`, options);
    return info.publicKey;
  }

  /** Generates a key pair inside the vault; returns only its public key line. */
  generate(name: string, type: KeyType, options: WriteOptions = {}): string {
    assertEntryName(name);
    if (options.replace !== true && existsSync(this.#entryPath(name))) throw entryExists(name);
    const pair = generateKeyPair(type, `portcullis:${name}`);
    return this.add(name, pair.privateKey, options);
  }

  /** Entries sorted by name, from their metadata (nothing is decrypted). */
  list(): VaultEntrySummary[] {
    return readdirSync(this.dir)
      .flatMap((file) => {
        const name = ENTRY_FILE.exec(file)?.[1];
        return name === undefined || RESERVED_NAMES.has(name) ? [] : [name];
      })
      .sort()
      .map((name) => {
        const entry = this.#readEntry(name);
        return {
          name,
          type: entry.type,
          publicKey: entry.public_key,
          created: entry.created,
        };
      });
  }

  remove(name: string): void {
    assertEntryName(name);
    try {
      unlinkSync(this.#entryPath(name));
    } catch (error) {
      if (hasErrorCode(error, "ENOENT")) throw entryNotFound(name);
      throw error;
    }
    fsyncDirectory(this.dir);
  }

  /** The decrypted, authenticated private key text. The caller should `fill(0)` it after use. */
  getPrivateKey(name: string): Buffer {
    assertEntryName(name);
    const entry = this.#readEntry(name);
    const plaintext = openEntry(this.#masterKey, this.#salt, entry, entry);
    if (plaintext === undefined) throw entryCorrupted(name);
    return plaintext;
  }

  #entryPath(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  #writeEntryFile(name: string, contents: string, options: WriteOptions): void {
    try {
      writeFileAtomic(this.#entryPath(name), contents, { overwrite: options.replace === true });
    } catch (error) {
      if (hasErrorCode(error, "EEXIST")) throw entryExists(name);
      throw error;
    }
  }

  #readEntry(name: string): StoredEntry {
    let text: string;
    try {
      text = readFileSync(this.#entryPath(name), "utf8");
    } catch (error) {
      if (hasErrorCode(error, "ENOENT")) throw entryNotFound(name);
      throw error;
    }
    const entry = parseJson(entrySchema, text);
    if (entry === undefined || entry.name !== name) throw entryCorrupted(name);
    return entry;
  }
}

export function isValidEntryName(name: string): boolean {
  return ENTRY_NAME.test(name) && !RESERVED_NAMES.has(name);
}

function assertEntryName(name: string): void {
  if (!isValidEntryName(name)) {
    throw new PortcullisError(
      "ERR_VAULT_NAME",
      `invalid vault entry name ${JSON.stringify(name.slice(0, 80))}: use 1-64 characters a-z 0-9 . _ - starting with a letter or digit (not "vault")`,
      2,
    );
  }
}

function readOrCreateMetadata(dir: string, masterKey: Buffer): Buffer {
  const path = join(dir, VAULT_METADATA_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (!hasErrorCode(error, "ENOENT")) throw error;
    return createMetadata(dir, masterKey);
  }
  const metadata = parseJson(metadataSchema, text);
  if (metadata === undefined) {
    throw new PortcullisError("ERR_VAULT_CORRUPT", `${path} is not a valid vault metadata file`);
  }
  if (!keyCheckMatches(masterKey, metadata.salt, metadata.key_check)) {
    throw new PortcullisError(
      "ERR_VAULT_KEY_MISMATCH",
      "vault master key does not match this vault",
    );
  }
  return metadata.salt;
}

function createMetadata(dir: string, masterKey: Buffer): Buffer {
  const path = join(dir, VAULT_METADATA_FILE);
  if (readdirSync(dir).some((file) => ENTRY_FILE.test(file))) {
    throw new PortcullisError(
      "ERR_VAULT_CORRUPT",
      `${path} is missing but ${dir} holds vault entries; restore vault.json from a backup`,
    );
  }
  const salt = newVaultSalt();
  const metadata = {
    version: FORMAT_VERSION,
    kdf: "hkdf-sha256",
    cipher: "aes-256-gcm",
    salt: salt.toString("base64"),
    key_check: keyCheckValue(masterKey, salt).toString("base64"),
  };
  try {
    writeFileAtomic(path, `${JSON.stringify(metadata, null, 2)}\n`, { overwrite: false });
  } catch (error) {
    // Another process created the vault at the same moment: use theirs.
    if (hasErrorCode(error, "EEXIST")) return readOrCreateMetadata(dir, masterKey);
    throw error;
  }
  return salt;
}

function parseJson<T>(schema: z.ZodType<T>, text: string): T | undefined {
  try {
    const result = schema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

function entryNotFound(name: string): PortcullisError {
  return new PortcullisError("ERR_VAULT_ENTRY_NOT_FOUND", `vault entry "${name}" does not exist`);
}

function entryExists(name: string): PortcullisError {
  return new PortcullisError(
    "ERR_VAULT_ENTRY_EXISTS",
    `vault entry "${name}" already exists; remove it first or replace it`,
  );
}

function entryCorrupted(name: string): PortcullisError {
  return new PortcullisError(
    "ERR_VAULT_ENTRY_CORRUPT",
    `vault entry "${name}" is corrupted or was tampered with`,
  );
}
