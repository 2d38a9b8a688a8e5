// Writing a backup's files: private, whole, durable. The bytes go, as they
// come, to a temporary file beside the target (created 0600), which is
// fsynced, gets its mode, and is renamed into place only when everything it
// belongs to is complete and authentic; a crash or a bad archive never
// leaves half a key or a partly restored database. Restoring checks every
// target first and writes nothing over an existing file unless told to.

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
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import type { EntryHeader } from "./archive.js";
import { backupError, reasonOf } from "./errors.js";

/** A file being written under a temporary name beside `path`. */
class StagedFile {
  private readonly temporary: string;
  private fd: number | undefined;

  constructor(
    readonly path: string,
    private readonly mode: number,
  ) {
    this.temporary = join(
      dirname(path),
      `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`,
    );
    this.fd = openSync(this.temporary, "wx", 0o600);
  }

  write(data: Buffer): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.fd as number, data, done);
  }

  /** Flushes it to disk and gives it its mode; it stays under its temporary name. */
  close(): void {
    const fd = this.fd as number;
    this.fd = undefined;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(this.temporary, this.mode);
  }

  commit(): void {
    renameSync(this.temporary, this.path);
  }

  discard(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.temporary, { force: true });
  }
}

/** Writes `path` whole or not at all: `write` gets a function taking the bytes in order. */
export function writeFileDurably(
  path: string,
  mode: number,
  write: (out: (bytes: Buffer) => void) => void,
): void {
  const staged = new StagedFile(path, mode);
  try {
    write((bytes) => staged.write(bytes));
    staged.close();
    staged.commit();
  } catch (error) {
    staged.discard();
    throw error;
  }
}

/** Restoring entries under `dir`: each written as it is read, all renamed into place by `commit`. */
export interface Restore {
  write(entry: EntryHeader, pieces: Iterable<Buffer>): void;
  commit(): void;
  /** Removes what was written (and the directories made for it). */
  discard(): void;
}

/** Refuses (writing nothing) when a target exists, unless `overwrite`. */
export function startRestore(
  dir: string,
  entries: readonly EntryHeader[],
  overwrite: boolean,
): Restore {
  const existing = entries.map((entry) => join(dir, entry.path)).filter((path) => existsSync(path));
  if (existing.length > 0 && !overwrite) {
    const more = existing.length > 1 ? ` (and ${existing.length - 1} more)` : "";
    throw backupError(`${existing[0]} already exists${more}: use --force to overwrite`);
  }
  const staged: StagedFile[] = [];
  const madeDirs: string[] = [];
  return {
    write(entry, pieces) {
      const target = join(dir, entry.path);
      const file = writing(target, () => {
        const made = mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
        if (made !== undefined) madeDirs.push(made);
        return new StagedFile(target, entry.mode);
      });
      staged.push(file);
      for (const piece of pieces) writing(target, () => file.write(piece));
      writing(target, () => file.close());
    },
    commit() {
      try {
        for (const file of staged) writing(file.path, () => file.commit());
      } finally {
        for (const file of staged) file.discard(); // the temporary names left, if one failed
      }
    },
    discard() {
      for (const file of staged) file.discard();
      for (const made of madeDirs.reverse()) rmSync(made, { recursive: true, force: true });
    },
  };
}

/** Runs `action`, turning a file system error into one line naming `target`. */
function writing<T>(target: string, action: () => T): T {
  try {
    return action();
  } catch (error) {
    throw backupError(`cannot write ${target}: ${reasonOf(error)}`);
  }
}
