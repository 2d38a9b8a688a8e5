// `portcullis backup`, `backup verify` and `restore` as functions: a backup
// is the archive of src/backup/contents.ts sealed by src/backup/envelope.ts
// into one file (mode 0600); verifying opens and unpacks it; restoring
// writes its files into a directory.

import { readFileSync } from "node:fs";
import type { LoadedConfig } from "../config/index.js";
import { type ArchiveEntry, type ArchiveInfo, packArchive, unpackArchive } from "./archive.js";
import { collectBackup } from "./contents.js";
import { backupError, openBackup, sealBackup } from "./envelope.js";
import { reasonOf, writeEntries, writeFileDurably } from "./files.js";

export {
  MIN_PASSPHRASE_LENGTH,
  newBackupPassphrase,
  PASSPHRASE_ENV,
  readPassphrase,
} from "./passphrase.js";

export interface BackupSummary {
  info: ArchiveInfo;
  /** Paths in the archive, in order. */
  files: string[];
  bytes: number;
}

export function writeBackup(
  loaded: LoadedConfig,
  out: string,
  passphrase: string,
  now = new Date(),
): BackupSummary {
  const { info, entries } = collectBackup(loaded, now);
  const sealed = sealBackup(packArchive(info, entries), passphrase);
  try {
    writeFileDurably(out, sealed, 0o600);
  } catch (error) {
    throw backupError(`cannot write ${out}: ${reasonOf(error)}`);
  }
  return summary(info, entries, sealed.length);
}

/** Opens and checks a backup file; a one-line error when it does not open or is inconsistent. */
export function verifyBackup(file: string, passphrase: string): BackupSummary {
  const { info, entries, bytes } = readBackup(file, passphrase);
  return summary(info, entries, bytes);
}

/** Writes the backup's files under `dir`; existing files are refused unless `overwrite`. */
export function restoreBackup(
  file: string,
  dir: string,
  passphrase: string,
  overwrite: boolean,
): BackupSummary {
  const { info, entries, bytes } = readBackup(file, passphrase);
  writeEntries(dir, entries, overwrite);
  return summary(info, entries, bytes);
}

function readBackup(
  file: string,
  passphrase: string,
): { info: ArchiveInfo; entries: ArchiveEntry[]; bytes: number } {
  let sealed: Buffer;
  try {
    sealed = readFileSync(file);
  } catch (error) {
    throw backupError(`cannot read ${file}: ${reasonOf(error)}`);
  }
  return { ...unpackArchive(openBackup(sealed, passphrase, file), file), bytes: sealed.length };
}

function summary(
  info: ArchiveInfo,
  entries: readonly ArchiveEntry[],
  bytes: number,
): BackupSummary {
  return { info, files: entries.map((entry) => entry.path), bytes };
}
