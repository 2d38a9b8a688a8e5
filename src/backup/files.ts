// Writing a backup's files: private, whole, durable. The bytes go to a
// temporary file beside the target (created 0600), are fsynced, get their
// mode, then are renamed into place; a crash never leaves half a key.
// Restoring checks every target first and writes nothing over an existing
// file unless told to.

import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { errorMessage } from "../util/errors.js";
import type { ArchiveEntry } from "./archive.js";
import { backupError } from "./envelope.js";

export function writeFileDurably(path: string, data: Buffer, mode: number): void {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fd = openSync(temporary, "wx", 0o600);
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temporary, mode);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** A file system error's code (ENOENT, EACCES), else its message. */
export function reasonOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? errorMessage(error);
}

/** Writes `entries` under `dir`; refuses (writing nothing) when one exists, unless `overwrite`. */
export function writeEntries(
  dir: string,
  entries: readonly ArchiveEntry[],
  overwrite: boolean,
): void {
  const targets = entries.map((entry) => ({ ...entry, target: join(dir, entry.path) }));
  const existing = targets.filter(({ target }) => existsSync(target));
  if (existing.length > 0 && !overwrite) {
    const more = existing.length > 1 ? ` (and ${existing.length - 1} more)` : "";
    throw backupError(`${existing[0]?.target} already exists${more}: use --force to overwrite`);
  }
  for (const { target, data, mode } of targets) {
    try {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileDurably(target, data, mode);
    } catch (error) {
      throw backupError(`cannot write ${target}: ${reasonOf(error)}`);
    }
  }
}
