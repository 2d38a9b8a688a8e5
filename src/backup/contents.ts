// What a backup holds, read from a configuration: a consistent snapshot of
// the database, the keys (user CA, host key and certificate, host CA, audit
// signing key, the vault master key in force), the vault and policy
// directories, the revocation list, the secret files the config names, and
// the config file itself. Recordings and logs are not in it (they are large
// and append-only: back them up as files).
//
// Each file keeps its path relative to the config file's directory; one
// outside it goes under `root/` with its absolute path. The archived config
// names every backed-up file by its path in the archive, and what stays out
// (recordings.dir, logging.audit_file) by its absolute path, so a restored
// directory is a bastion that starts as it is.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, sep } from "node:path";
import Database from "better-sqlite3";
import { parseDocument } from "yaml";
import { hostCaPrivateKeyPath } from "../ca/host-ca.js";
import type { LoadedConfig } from "../config/index.js";
import { copyDatabase, schemaVersion } from "../store/schema.js";
import { errorMessage } from "../util/errors.js";
import { resolveMasterKey } from "../vault/index.js";
import type { ArchiveEntry, ArchiveInfo } from "./archive.js";
import { backupError, reasonOf } from "./errors.js";

type KeyPath = readonly string[];

/** Config keys naming files: the required ones must exist, the others are taken when present. */
const FILE_KEYS: readonly (readonly [KeyPath, "required" | "optional"])[] = [
  [["ssh", "host_key"], "required"],
  [["ssh", "host_certificate"], "optional"],
  [["ssh", "host_ca"], "optional"],
  [["ca", "user_key"], "required"],
  [["ca", "revocation_file"], "optional"],
  [["recordings", "signing_key"], "required"],
  [["http", "tls", "cert"], "optional"],
  [["http", "tls", "key"], "optional"],
  [["approvals", "webhook_secret_file"], "optional"],
  [["signals", "webhook_secret_file"], "optional"],
  [["logging", "http", "authorization_file"], "optional"],
  [["logging", "syslog", "tls", "ca"], "optional"],
];
const DIRECTORY_KEYS: readonly KeyPath[] = [
  ["policy", "dir"],
  ["vault", "path"],
];
const MASTER_KEY: KeyPath = ["vault", "master_key_file"];
const DATABASE: KeyPath = ["database", "path"];
/** Left out of the backup: the restored config names them where they are. */
const KEPT_IN_PLACE: readonly KeyPath[] = [
  ["recordings", "dir"],
  ["logging", "audit_file"],
];

export interface BackupContents {
  info: ArchiveInfo;
  entries: ArchiveEntry[];
}

/**
 * Runs `use` on what a backup of `loaded` holds. The database snapshot is a
 * private temporary file (read in pieces as the archive is written),
 * removed when `use` returns.
 */
export function withBackupContents<T>(
  loaded: LoadedConfig,
  now: Date,
  use: (contents: BackupContents) => T,
): T {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-backup-"));
  try {
    return use(collectBackup(loaded, now, join(dir, "portcullis.db")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function collectBackup(loaded: LoadedConfig, now: Date, snapshotFile: string): BackupContents {
  const files = new Map<string, ArchiveEntry>();
  const renamed: [KeyPath, string][] = [];
  const add = (path: string, data: ArchiveEntry["data"], mode: number) => {
    const archived = archivePath(loaded.dir, path);
    files.set(archived, { path: archived, mode, data });
    return archived;
  };
  const addFile = (path: string) => add(path, readFileSync(path), modeOf(path));

  for (const [key, need] of FILE_KEYS) {
    const path = pathAt(loaded, key);
    if (path === undefined || (need === "optional" && !isFile(path))) continue;
    renamed.push([key, readable(path, addFile)]);
  }
  for (const beside of besideFiles(loaded)) if (isFile(beside)) readable(beside, addFile);
  for (const key of DIRECTORY_KEYS) {
    const dir = pathAt(loaded, key) as string;
    for (const file of filesUnder(dir)) readable(file, addFile);
    renamed.push([key, archivePath(loaded.dir, dir)]);
  }
  const masterKeyFile = pathAt(loaded, MASTER_KEY) as string;
  const masterKey = resolveMasterKey({ masterKeyFile });
  renamed.push([
    MASTER_KEY,
    add(masterKeyFile, Buffer.from(`${masterKey.toString("base64")}\n`), 0o600),
  ]);
  const databasePath = pathAt(loaded, DATABASE) as string;
  const version = snapshotDatabase(databasePath, snapshotFile);
  const snapshot = { file: snapshotFile, size: statSync(snapshotFile).size };
  const database = add(databasePath, snapshot, modeOf(databasePath));
  renamed.push([DATABASE, database]);

  const config = archivePath(loaded.dir, loaded.path);
  files.set(config, {
    path: config,
    mode: modeOf(loaded.path),
    data: archivedConfig(loaded, renamed),
  });
  return {
    info: {
      created: now.toISOString(),
      config,
      database: { path: database, schemaVersion: version },
    },
    entries: [...files.values()],
  };
}

/** Files that sit beside configured ones under derived names: public keys, the host CA's private key. */
function besideFiles(loaded: LoadedConfig): string[] {
  const { ssh, ca } = loaded.config;
  return [`${ssh.host_key}.pub`, `${ca.user_key}.pub`, hostCaPrivateKeyPath(ssh)];
}

/**
 * Writes one consistent snapshot of the database to `file` (VACUUM INTO a
 * new file of mode 0600), safe while serve writes; returns its schema version.
 */
function snapshotDatabase(path: string, file: string): number {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 5000 });
  } catch (error) {
    throw backupError(`cannot open the database ${path}: ${errorMessage(error)}`);
  }
  try {
    copyDatabase(db, file);
    return schemaVersion(db);
  } catch (error) {
    throw backupError(`cannot snapshot the database ${path}: ${errorMessage(error)}`);
  } finally {
    db.close();
  }
}

/** The config file with every backed-up path renamed to its archive path and the others made absolute. */
function archivedConfig(loaded: LoadedConfig, renamed: readonly [KeyPath, string][]): Buffer {
  const document = parseDocument(readFileSync(loaded.path, "utf8"));
  for (const [key, path] of renamed) document.setIn(key, path);
  for (const key of KEPT_IN_PLACE) {
    const path = pathAt(loaded, key);
    if (path !== undefined) document.setIn(key, path);
  }
  return Buffer.from(document.toString(), "utf8");
}

/** A path's place in the archive: relative to the config directory, or under `root/` when outside it. */
function archivePath(configDir: string, path: string): string {
  const inside = relative(configDir, path);
  const archived =
    inside !== "" && !inside.startsWith("..") && !isAbsolute(inside) ? inside : join("root", path);
  return archived.split(sep).join("/");
}

/** The resolved path a config key names; undefined when the config has none there. */
function pathAt(loaded: LoadedConfig, key: KeyPath): string | undefined {
  let value: unknown = loaded.config;
  for (const part of key) {
    value =
      typeof value === "object" && value !== null
        ? (value as Record<string, unknown>)[part]
        : undefined;
  }
  return typeof value === "string" ? value : undefined;
}

function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: "utf8" });
  } catch (error) {
    throw backupError(`cannot read ${dir}: ${reasonOf(error)}`);
  }
  return names
    .map((name) => join(dir, name))
    .filter(isFile)
    .sort();
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

/** Runs `read(path)`, turning a failure into one line naming the file. */
function readable<T>(path: string, read: (path: string) => T): T {
  try {
    return read(path);
  } catch (error) {
    throw backupError(`cannot read ${path}: ${reasonOf(error)}`);
  }
}
