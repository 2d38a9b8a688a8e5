// The archive inside a backup, a format of its own (no tar library is a
// dependency, and this needs only files with a path and a mode):
//
//   u32 BE manifest length | manifest (JSON, UTF-8) | entry bytes, in order
//
// The manifest says what the archive is and lists every entry's relative
// path, mode and size, so `backup verify` can describe a backup without a
// configuration. Unpacking checks that the sizes add up and that no path
// leaves the directory it is restored into.

import { isAbsolute, normalize } from "node:path";
import { backupError } from "./envelope.js";

export interface ArchiveEntry {
  /** Relative to the restore directory, `/`-separated. */
  readonly path: string;
  readonly mode: number;
  readonly data: Buffer;
}

export interface ArchiveInfo {
  /** When the backup was made (ISO 8601). */
  readonly created: string;
  /** The configuration file's path in the archive. */
  readonly config: string;
  /** The database snapshot's path in the archive and its schema version. */
  readonly database: { readonly path: string; readonly schemaVersion: number };
}

interface Manifest extends ArchiveInfo {
  readonly format: 1;
  readonly entries: readonly { path: string; mode: number; size: number }[];
}

const LENGTH_BYTES = 4;

export function packArchive(info: ArchiveInfo, entries: readonly ArchiveEntry[]): Buffer {
  const manifest: Manifest = {
    format: 1,
    ...info,
    entries: entries.map(({ path, mode, data }) => ({ path, mode, size: data.length })),
  };
  const json = Buffer.from(JSON.stringify(manifest), "utf8");
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json, ...entries.map((entry) => entry.data)]);
}

export function unpackArchive(
  archive: Buffer,
  name: string,
): { info: ArchiveInfo; entries: ArchiveEntry[] } {
  const corrupt = (why: string) => backupError(`${name}: the archive is corrupt: ${why}`);
  if (archive.length < LENGTH_BYTES) throw corrupt("no manifest");
  const end = LENGTH_BYTES + archive.readUInt32BE(0);
  if (end > archive.length) throw corrupt("the manifest is cut short");
  let manifest: Manifest;
  try {
    manifest = JSON.parse(archive.subarray(LENGTH_BYTES, end).toString("utf8")) as Manifest;
  } catch {
    throw corrupt("the manifest is not JSON");
  }
  if (manifest.format !== 1 || !Array.isArray(manifest.entries))
    throw corrupt("unknown manifest format");
  const entries: ArchiveEntry[] = [];
  let offset = end;
  for (const { path, mode, size } of manifest.entries) {
    if (!isSafePath(path)) throw corrupt(`unsafe path ${JSON.stringify(path)}`);
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw corrupt(`bad mode for ${path}`);
    if (!Number.isInteger(size) || size < 0 || offset + size > archive.length)
      throw corrupt(`bad size for ${path}`);
    entries.push({ path, mode, data: archive.subarray(offset, offset + size) });
    offset += size;
  }
  if (offset !== archive.length) throw corrupt("bytes after the last entry");
  if (new Set(entries.map((entry) => entry.path)).size !== entries.length)
    throw corrupt("a path appears twice");
  const { created, config, database } = manifest;
  return { info: { created, config, database }, entries };
}

/** Relative, normalized, inside the restore directory. */
export function isSafePath(path: unknown): path is string {
  return (
    typeof path === "string" &&
    path !== "" &&
    !path.includes("\0") &&
    !path.includes("\\") &&
    !isAbsolute(path) &&
    normalize(path) === path &&
    !path.split("/").includes("..")
  );
}
