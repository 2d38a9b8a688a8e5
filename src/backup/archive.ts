// The archive inside a backup, a format of its own (no tar library is a
// dependency, and this needs only files with a path and a mode):
//
//   u32 BE manifest length | manifest (JSON, UTF-8) | entry bytes, in order
//
// The manifest says what the archive is and lists every entry's relative
// path, mode and size, so `backup verify` can describe a backup without a
// configuration. Both directions stream: an entry read from a file goes out
// in pieces, and reading hands each entry's bytes on in pieces, so memory
// use does not grow with the database. Reading checks that the sizes add up
// and that no path leaves the directory it is restored into.

import { closeSync, openSync, readSync } from "node:fs";
import { isAbsolute, normalize } from "node:path";
import type { PlainSource } from "./envelope.js";
import { backupError } from "./errors.js";

export interface ArchiveEntry {
  /** Relative to the restore directory, `/`-separated. */
  readonly path: string;
  readonly mode: number;
  /** The bytes, or a file of `size` bytes read in pieces while the archive is written. */
  readonly data: Buffer | { readonly file: string; readonly size: number };
}

export interface ArchiveInfo {
  /** When the backup was made (ISO 8601). */
  readonly created: string;
  /** The configuration file's path in the archive. */
  readonly config: string;
  /** The database snapshot's path in the archive and its schema version. */
  readonly database: { readonly path: string; readonly schemaVersion: number };
}

export interface EntryHeader {
  readonly path: string;
  readonly mode: number;
  readonly size: number;
}

export interface Manifest extends ArchiveInfo {
  readonly format: 1;
  readonly entries: readonly EntryHeader[];
}

const LENGTH_BYTES = 4;
/** Far above any real manifest; a larger length is refused rather than buffered. */
const MAX_MANIFEST_BYTES = 16 * 2 ** 20;
/** How much of a file entry is read (and handed on) at a time. */
const PIECE_BYTES = 2 ** 20;

/** Writes the archive to `out` (which must copy what it keeps: a piece's buffer is reused). */
export function writeArchive(
  info: ArchiveInfo,
  entries: readonly ArchiveEntry[],
  out: (bytes: Buffer) => void,
): void {
  const manifest: Manifest = {
    format: 1,
    ...info,
    entries: entries.map(({ path, mode, data }) => ({ path, mode, size: sizeOf(data) })),
  };
  const json = Buffer.from(JSON.stringify(manifest), "utf8");
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt32BE(json.length);
  out(length);
  out(json);
  for (const { data } of entries) {
    if (Buffer.isBuffer(data)) out(data);
    else copyFile(data.file, data.size, out);
  }
}

/** Reads and checks the manifest at the start of an archive. */
export function readManifest(source: PlainSource, name: string): Manifest {
  const corrupt = (why: string) => corruptArchive(name, why);
  const length = readExactly(source, LENGTH_BYTES);
  if (length.length < LENGTH_BYTES) throw corrupt("no manifest");
  const size = length.readUInt32BE(0);
  if (size > MAX_MANIFEST_BYTES) throw corrupt("the manifest is too large");
  const json = readExactly(source, size);
  if (json.length < size) throw corrupt("the manifest is cut short");
  let manifest: Manifest;
  try {
    manifest = JSON.parse(json.toString("utf8")) as Manifest;
  } catch {
    throw corrupt("the manifest is not JSON");
  }
  if (manifest.format !== 1 || !Array.isArray(manifest.entries))
    throw corrupt("unknown manifest format");
  for (const { path, mode, size } of manifest.entries) {
    if (!isSafePath(path)) throw corrupt(`unsafe path ${JSON.stringify(path)}`);
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw corrupt(`bad mode for ${path}`);
    if (!Number.isSafeInteger(size) || size < 0) throw corrupt(`bad size for ${path}`);
  }
  if (new Set(manifest.entries.map((entry) => entry.path)).size !== manifest.entries.length)
    throw corrupt("a path appears twice");
  return manifest;
}

/**
 * Hands each entry to `each` with its bytes as pieces (to be iterated once,
 * in order; what `each` leaves is skipped), then checks that the archive
 * ends there.
 */
export function readEntries(
  source: PlainSource,
  manifest: Manifest,
  name: string,
  each: (entry: EntryHeader, pieces: Iterable<Buffer>) => void,
): void {
  for (const entry of manifest.entries) {
    const pieces = piecesOf(source, entry, name);
    each(entry, pieces);
    for (const _ of pieces); // the rest of the entry, if `each` stopped early
  }
  if (source.read(1).length > 0) throw corruptArchive(name, "bytes after the last entry");
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

function* piecesOf(source: PlainSource, entry: EntryHeader, name: string): Generator<Buffer> {
  let left = entry.size;
  while (left > 0) {
    const piece = source.read(Math.min(left, PIECE_BYTES));
    if (piece.length === 0) throw corruptArchive(name, `bad size for ${entry.path}`);
    left -= piece.length;
    yield piece;
  }
}

function readExactly(source: PlainSource, size: number): Buffer {
  const parts: Buffer[] = [];
  let got = 0;
  while (got < size) {
    const part = source.read(size - got);
    if (part.length === 0) break;
    parts.push(part);
    got += part.length;
  }
  return Buffer.concat(parts);
}

/** Sends `size` bytes of `file` to `out` in pieces; the file must not have changed size. */
function copyFile(file: string, size: number, out: (bytes: Buffer) => void): void {
  const fd = openSync(file, "r");
  try {
    const piece = Buffer.alloc(Math.min(size, PIECE_BYTES));
    let done = 0;
    while (done < size) {
      const read = readSync(fd, piece, 0, Math.min(piece.length, size - done), done);
      if (read === 0) throw backupError(`${file} became shorter while being backed up`);
      out(piece.subarray(0, read));
      done += read;
    }
  } finally {
    closeSync(fd);
  }
}

function sizeOf(data: ArchiveEntry["data"]): number {
  return Buffer.isBuffer(data) ? data.length : data.size;
}

function corruptArchive(name: string, why: string) {
  return backupError(`${name}: the archive is corrupt: ${why}`);
}
