// Where recordings live under the store's root: YYYY/MM/DD/<id>.cast by the
// UTC date the session started. Ids and relative paths are checked so that a
// value from a database can never point outside the store.
import { join } from "node:path";
import { RecordingError } from "./types.js";

const RECORDING_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const RELATIVE_PATH = /^\d{4}\/\d{2}\/\d{2}\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.cast$/;

export function isRecordingId(id: string): boolean {
  return RECORDING_ID.test(id);
}

export function relativePathFor(id: string, startedAt: Date): string {
  const iso = startedAt.toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${id}.cast`;
}

/** The id a relative path names (its file name without `.cast`). */
export function idOfRelativePath(relativePath: string): string {
  return relativePath.slice(relativePath.lastIndexOf("/") + 1, -".cast".length);
}

export function resolveInStore(root: string, relativePath: string): string {
  if (!RELATIVE_PATH.test(relativePath))
    throw new RecordingError(
      "ERR_RECORDING_PATH",
      `${JSON.stringify(relativePath)} is not a recording path (YYYY/MM/DD/<id>.cast)`,
    );
  return join(root, relativePath);
}
