// `portcullis backup`, `backup verify` and `restore` as functions: a backup
// is the archive of src/backup/contents.ts sealed by src/backup/envelope.ts
// into one file (mode 0600); verifying opens and reads it through; restoring
// writes its files into a directory. All three stream: memory use stays
// about a chunk and a file piece, whatever the database's size.

import type { LoadedConfig } from "../config/index.js";
import { PortcullisError } from "../util/errors.js";
import { type ArchiveInfo, readEntries, readManifest, writeArchive } from "./archive.js";
import { withBackupContents } from "./contents.js";
import { BackupSealer, withOpenBackup } from "./envelope.js";
import { backupError, reasonOf } from "./errors.js";
import { startRestore, writeFileDurably } from "./files.js";

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
  return withBackupContents(loaded, now, ({ info, entries }) => {
    let bytes = 0;
    try {
      writeFileDurably(out, 0o600, (write) => {
        const sealer = new BackupSealer(passphrase, (sealed) => {
          write(sealed);
          bytes += sealed.length;
        });
        writeArchive(info, entries, (plain) => sealer.write(plain));
        sealer.finish();
      });
    } catch (error) {
      if (error instanceof PortcullisError) throw error;
      throw backupError(`cannot write ${out}: ${reasonOf(error)}`);
    }
    return summary(info, entries, bytes);
  });
}

/** Opens and reads a backup file through; a one-line error when it does not open or is inconsistent. */
export function verifyBackup(file: string, passphrase: string): BackupSummary {
  return withOpenBackup(file, passphrase, (source, bytes) => {
    const manifest = readManifest(source, file);
    readEntries(source, manifest, file, () => {});
    return summary(manifest, manifest.entries, bytes);
  });
}

/**
 * Writes the backup's files under `dir`, each renamed into place only once
 * the whole backup has opened; existing files are refused unless `overwrite`.
 */
export function restoreBackup(
  file: string,
  dir: string,
  passphrase: string,
  overwrite: boolean,
): BackupSummary {
  return withOpenBackup(file, passphrase, (source, bytes) => {
    const manifest = readManifest(source, file);
    const restore = startRestore(dir, manifest.entries, overwrite);
    try {
      readEntries(source, manifest, file, restore.write);
    } catch (error) {
      restore.discard();
      throw error;
    }
    restore.commit();
    return summary(manifest, manifest.entries, bytes);
  });
}

function summary(
  { created, config, database }: ArchiveInfo,
  entries: readonly { path: string }[],
  bytes: number,
): BackupSummary {
  return { info: { created, config, database }, files: entries.map((entry) => entry.path), bytes };
}
