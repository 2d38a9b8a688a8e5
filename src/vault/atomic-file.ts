// Crash-safe file writes for the vault: data goes to a private temp file in
// the same directory, is fsynced, then renamed (replace) or hard-linked
// (create only, atomic "fail if exists") into place; the directory is fsynced.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

export interface AtomicWriteOptions {
  /** false: fail with EEXIST when the file already exists. */
  readonly overwrite: boolean;
}

export function writeFileAtomic(path: string, data: string, options: AtomicWriteOptions): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  writeSynced(temp, data);
  try {
    if (options.overwrite) renameSync(temp, path);
    else linkSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
  fsyncDirectory(dirname(path));
}

export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** True when `error` is a Node system error with this errno code (e.g. `ENOENT`). */
export function hasErrorCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function writeSynced(path: string, data: string): void {
  const fd = openSync(path, "wx", PRIVATE_FILE_MODE);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } catch (error) {
    rmSync(path, { force: true });
    throw error;
  } finally {
    closeSync(fd);
  }
}
