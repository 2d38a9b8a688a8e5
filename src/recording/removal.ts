// Removing a recording file from the local store (retention): only a regular
// file (not a symlink) whose real directory is the store's own YYYY/MM/DD
// directory is unlinked, then the date directories it leaves empty are
// removed, except those of today (a new recording may be created there).
import { lstat, realpath, rmdir, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { errorMessage } from "../util/errors.js";
import { relativePathFor, resolveInStore } from "./layout.js";
import { RecordingError } from "./types.js";

/** Throws RecordingError (one line) when the file is not a store file or cannot be deleted. */
export async function removeRecordingFile(
  root: string,
  relativePath: string,
  now: Date,
): Promise<void> {
  const path = resolveInStore(root, relativePath);
  try {
    await requireStoreFile(root, path, relativePath);
    await unlink(path);
  } catch (error) {
    if (error instanceof RecordingError) throw error;
    throw removeError(relativePath, errorMessage(error));
  }
  await removeEmptyDateDirectories(root, relativePath, now);
}

async function requireStoreFile(root: string, path: string, relativePath: string): Promise<void> {
  if (!(await lstat(path)).isFile()) throw removeError(relativePath, "not a regular file");
  const expectedDirectory = join(await realpath(root), dirname(relativePath));
  if ((await realpath(dirname(path))) !== expectedDirectory)
    throw removeError(relativePath, "its directory leads outside the recordings directory");
}

/** DD, then MM, then YYYY, stopping at the first that is not empty (or cannot be removed). */
async function removeEmptyDateDirectories(
  root: string,
  relativePath: string,
  now: Date,
): Promise<void> {
  const today = relativePathFor("today", now);
  const parts = relativePath.split("/").slice(0, 3);
  for (let depth = parts.length; depth > 0; depth--) {
    const directory = parts.slice(0, depth).join("/");
    if (today.startsWith(`${directory}/`)) return;
    try {
      await rmdir(join(root, directory));
    } catch {
      return; // not empty, or not ours to remove: either way, stop here
    }
  }
}

function removeError(relativePath: string, reason: string): RecordingError {
  const line = `recording ${relativePath} cannot be removed: ${reason}`.replace(/\s+/g, " ");
  return new RecordingError("ERR_RECORDING_REMOVE", line);
}
