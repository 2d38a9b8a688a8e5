// The local-disk RecordingStore: creates recordings/YYYY/MM/DD/<id>.cast
// (directories 0750, files 0640, never overwriting), writes the header
// synchronously so that a store that cannot write refuses the session at
// once, then hands the file to a LocalSessionRecording, whose events the
// store's one writer thread (writer-thread.ts) encodes and writes.
// Removal (retention) is in removal.ts.
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { errorMessage } from "../util/errors.js";
import { hasErrorCode } from "../vault/atomic-file.js";
import { headerLine } from "./cast-format.js";
import { closeInterruptedFile } from "./interrupted.js";
import { isRecordingId, relativePathFor, resolveInStore } from "./layout.js";
import { removeRecordingFile } from "./removal.js";
import {
  LocalSessionRecording,
  type OpenedFile,
  type WriterSettings,
} from "./session-recording.js";
import {
  type CastHeader,
  type ClosedRecording,
  type LocalRecordingStoreOptions,
  RecordingError,
  type RecordingStore,
} from "./types.js";
import { RecordingWriterThread } from "./writer-thread.js";

export const DIRECTORY_MODE = 0o750;
export const FILE_MODE = 0o640;
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 2 ** 20;
const MAX_TERMINAL_SIZE = 10_000;

export function createLocalRecordingStore(options: LocalRecordingStoreOptions): RecordingStore {
  const settings: WriterSettings = {
    fsyncIntervalMs: options.fsyncIntervalMs,
    maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    now: options.now,
  };
  const writer = new RecordingWriterThread(options.observer);
  return {
    create: (id, header) =>
      new LocalSessionRecording(openRecording(options.dir, id, header), settings, writer),
    closeInterrupted: (relativePaths) => closeAllInterrupted(options.dir, relativePaths),
    absolutePath: (relativePath) => resolveInStore(options.dir, relativePath),
    remove: (relativePath) =>
      removeRecordingFile(options.dir, relativePath, new Date(options.now())),
    close: () => writer.terminate(),
  };
}

function openRecording(root: string, id: string, header: CastHeader): OpenedFile {
  checkCreateArguments(id, header);
  const relativePath = relativePathFor(id, header.startedAt);
  const absolutePath = resolveInStore(root, relativePath);
  const headerBytes = Buffer.from(headerLine(header));
  let fd: number | undefined;
  try {
    makeDirectories(dirname(absolutePath));
    fd = openSync(absolutePath, "wx", FILE_MODE);
    writeFileSync(fd, headerBytes);
  } catch (error) {
    if (fd !== undefined) discardFile(fd, absolutePath);
    throw createError(relativePath, errorMessage(error));
  }
  return {
    fd,
    relativePath,
    absolutePath,
    header: headerBytes,
    startedMs: header.startedAt.getTime(),
  };
}

function checkCreateArguments(id: string, header: CastHeader): void {
  if (!isRecordingId(id)) throw createError(JSON.stringify(id), "not a valid recording id");
  if (Number.isNaN(header.startedAt.getTime()))
    throw createError(id, "startedAt is not a valid date");
  for (const [name, value] of [
    ["width", header.width],
    ["height", header.height],
  ] as const)
    if (!Number.isInteger(value) || value < 1 || value > MAX_TERMINAL_SIZE)
      throw createError(id, `${name} must be an integer from 1 to ${MAX_TERMINAL_SIZE}`);
}

/** Like `mkdir -p`, but reports the real cause (mkdirSync's recursive mode says ENOENT for EROFS). */
function makeDirectories(dir: string): void {
  try {
    mkdirSync(dir, { mode: DIRECTORY_MODE });
  } catch (error) {
    if (hasErrorCode(error, "EEXIST")) return;
    if (!hasErrorCode(error, "ENOENT") || dirname(dir) === dir) throw error;
    makeDirectories(dirname(dir));
    mkdirSync(dir, { mode: DIRECTORY_MODE });
  }
}

function discardFile(fd: number, path: string): void {
  closeSync(fd);
  rmSync(path, { force: true });
}

function createError(what: string, reason: string): RecordingError {
  const line = `recording ${what} cannot be created: ${reason}`.replace(/\s+/g, " ");
  return new RecordingError("ERR_RECORDING_CREATE", line);
}

async function closeAllInterrupted(
  root: string,
  relativePaths: readonly string[],
): Promise<ClosedRecording[]> {
  const closed: ClosedRecording[] = [];
  for (const relativePath of relativePaths) {
    const absolutePath = resolveInStore(root, relativePath);
    const result = await closeInterruptedFile(absolutePath, relativePath).catch(
      (error: unknown) => {
        const reason = errorMessage(error).replace(/\s+/g, " ");
        throw new RecordingError(
          "ERR_RECORDING_INTERRUPTED",
          `recording ${relativePath} could not be closed: ${reason}`,
        );
      },
    );
    if (result !== undefined) closed.push(result);
  }
  return closed;
}
