// The vault master key: 32 random bytes kept base64-encoded outside the
// vault. Resolution order: $PORTCULLIS_VAULT_KEY, then the systemd credential
// $CREDENTIALS_DIRECTORY/vault.key, then the configured vault.master_key_file.
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PortcullisError } from "../util/errors.js";
import { hasErrorCode, PRIVATE_DIR_MODE, writeFileAtomic } from "./atomic-file.js";

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_ENV = "PORTCULLIS_VAULT_KEY";
export const CREDENTIAL_NAME = "vault.key";

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const GROUP_OR_OTHER_BITS = 0o077;

export interface MasterKeySources {
  /** `vault.master_key_file` from the configuration, already resolved to a path. */
  readonly masterKeyFile?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export function generateMasterKey(): Buffer {
  return randomBytes(MASTER_KEY_BYTES);
}

export function resolveMasterKey({
  masterKeyFile,
  env = process.env,
}: MasterKeySources = {}): Buffer {
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== "")
    return decodeMasterKey(fromEnv, `$${MASTER_KEY_ENV}`);
  const credentialsDir = env.CREDENTIALS_DIRECTORY;
  const fromCredential =
    credentialsDir === undefined || credentialsDir === ""
      ? undefined
      : readKeyFile(join(credentialsDir, CREDENTIAL_NAME), { checkMode: false });
  if (fromCredential !== undefined) return fromCredential;
  const fromFile =
    masterKeyFile === undefined ? undefined : readKeyFile(masterKeyFile, { checkMode: true });
  if (fromFile !== undefined) return fromFile;
  throw new PortcullisError(
    "ERR_VAULT_KEY_MISSING",
    `no vault master key found: looked at $${MASTER_KEY_ENV} (not set), ${describeCredential(credentialsDir)}, ${describeFile(masterKeyFile)}`,
  );
}

/** Writes a new random master key to `path` (mode 0600); never replaces an existing file. */
export function createMasterKeyFile(path: string): Buffer {
  const key = generateMasterKey();
  mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    writeFileAtomic(path, `${key.toString("base64")}\n`, { overwrite: false });
  } catch (error) {
    if (hasErrorCode(error, "EEXIST")) {
      throw new PortcullisError(
        "ERR_VAULT_KEY_EXISTS",
        `${path} already exists; refusing to overwrite a vault master key`,
      );
    }
    throw error;
  }
  return key;
}

/** Checks a master key given in memory (e.g. to openVault). */
export function assertMasterKey(key: Buffer, source: string): void {
  if (key.length !== MASTER_KEY_BYTES) {
    throw new PortcullisError(
      "ERR_VAULT_KEY_INVALID",
      `vault master key from ${source} must be ${MASTER_KEY_BYTES} bytes (got ${key.length})`,
    );
  }
}

function decodeMasterKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  if (!BASE64.test(trimmed)) {
    throw new PortcullisError(
      "ERR_VAULT_KEY_INVALID",
      `vault master key from ${source} is not base64 (expected ${MASTER_KEY_BYTES} random bytes, base64-encoded)`,
    );
  }
  const key = Buffer.from(trimmed, "base64");
  assertMasterKey(key, source);
  return key;
}

/** The key in `path`, or undefined when the file does not exist. */
function readKeyFile(path: string, { checkMode }: { checkMode: boolean }): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    if (hasErrorCode(error, "ENOENT")) return undefined;
    const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new PortcullisError(
      "ERR_VAULT_KEY_UNREADABLE",
      `cannot read vault master key ${path} (${reason})`,
    );
  }
  try {
    if (checkMode && (fstatSync(fd).mode & GROUP_OR_OTHER_BITS) !== 0) {
      throw new PortcullisError(
        "ERR_VAULT_KEY_PERMISSIONS",
        `vault master key ${path} is accessible by group or others; run chmod 600 ${path}`,
      );
    }
    return decodeMasterKey(readFileSync(fd, "utf8"), path);
  } finally {
    closeSync(fd);
  }
}

function describeCredential(credentialsDir: string | undefined): string {
  return credentialsDir === undefined || credentialsDir === ""
    ? "$CREDENTIALS_DIRECTORY (not set)"
    : `${join(credentialsDir, CREDENTIAL_NAME)} (does not exist)`;
}

function describeFile(masterKeyFile: string | undefined): string {
  return masterKeyFile === undefined
    ? "vault.master_key_file (not configured)"
    : `${masterKeyFile} (does not exist)`;
}
