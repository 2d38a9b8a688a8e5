// A recording's integrity as the session page shows it: the same check as
// `portcullis recordings verify` (src/recording checkRecordingFile: the
// signature over id, digest and size, then the file's digest), remembered
// per file size and modification time so a page load re-hashes a file only
// when it changed.

import { stat } from "node:fs/promises";
import { checkRecordingFile, type FileCheck } from "../recording/index.js";
import type { RecordingRow } from "../store/index.js";
import type { ViewerDependencies } from "./context.js";

/** Remembered checks; beyond this many the memory starts again (a check is cheap to redo). */
const MAX_REMEMBERED = 10_000;

export type Integrity = FileCheck | { status: "open" | "pruned"; detail: string };

export class IntegrityChecks {
  readonly #cache = new Map<string, { key: string; check: FileCheck }>();

  constructor(private readonly recordings: ViewerDependencies["recordings"]) {}

  async check(row: RecordingRow): Promise<Integrity> {
    if (row.prunedAt !== undefined)
      return { status: "pruned", detail: "removed by the retention period" };
    if (row.status === "open")
      return { status: "open", detail: "still being recorded: signed when the session ends" };
    const key = await this.#fileKey(row);
    const cached = this.#cache.get(row.id);
    if (cached !== undefined && cached.key === key) return cached.check;
    const check = await checkRecordingFile(
      this.recordings.store,
      {
        id: row.id,
        relativePath: row.relativePath,
        ...(row.sha256 === undefined ? {} : { sha256: row.sha256 }),
        ...(row.bytes === undefined ? {} : { bytes: row.bytes }),
        ...(row.signature === undefined ? {} : { signature: row.signature }),
      },
      this.recordings.key,
    );
    if (this.#cache.size >= MAX_REMEMBERED) this.#cache.clear();
    this.#cache.set(row.id, { key, check });
    return check;
  }

  async #fileKey(row: RecordingRow): Promise<string> {
    try {
      const info = await stat(this.recordings.store.absolutePath(row.relativePath));
      return `${info.size}:${info.mtimeMs}`;
    } catch {
      return "missing";
    }
  }
}
