// Checks one recording file against what the index says about it. The
// index's values are trusted only once their signature verifies (a row can
// be edited too), and the file name must be the signed id (a row cannot be
// pointed at another recording's file).
import { stat } from "node:fs/promises";
import { fileDigest } from "./fd-io.js";
import { idOfRelativePath } from "./layout.js";
import { type AuditKey, recordingSignedMessage } from "./signing.js";
import type { RecordingStore } from "./types.js";

export type FileCheck =
  | { status: "ok" }
  | {
      status: "changed" | "truncated" | "missing" | "unsigned" | "bad-signature";
      detail: string;
    };

export interface ExpectedRecording {
  id: string;
  relativePath: string;
  sha256?: string;
  bytes?: number;
  signature?: string;
}

/** Throws RecordingError when the path is not a recording path. */
export async function checkRecordingFile(
  store: RecordingStore,
  expected: ExpectedRecording,
  key: AuditKey,
): Promise<FileCheck> {
  const path = store.absolutePath(expected.relativePath);
  if (!(await isFile(path)))
    return { status: "missing", detail: `no file at ${expected.relativePath}` };
  const { sha256, bytes, signature } = expected;
  if (sha256 === undefined || bytes === undefined || signature === undefined)
    return { status: "unsigned", detail: "no digest and signature were recorded when it closed" };
  if (idOfRelativePath(expected.relativePath) !== expected.id)
    return { status: "bad-signature", detail: `file name does not match id ${expected.id}` };
  if (!key.verify(recordingSignedMessage(expected.id, sha256, bytes), signature))
    return { status: "bad-signature", detail: "signature does not match id, digest and size" };
  const actual = await fileDigest(path);
  if (actual.bytes < bytes)
    return { status: "truncated", detail: `${actual.bytes} bytes, ${bytes} were signed` };
  if (actual.bytes !== bytes)
    return { status: "changed", detail: `${actual.bytes} bytes, ${bytes} were signed` };
  if (actual.sha256 !== sha256)
    return { status: "changed", detail: `sha256 ${actual.sha256}, ${sha256} was signed` };
  return { status: "ok" };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw error;
  }
}
