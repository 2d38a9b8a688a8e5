// Closing a recording its writer never closed (the bastion crashed or was
// killed): bytes after the last valid line are cut off (a torn write, or the
// zeros a power loss can leave), an `m` "interrupted" marker is appended at
// the time of the last event, and the file is synced. Running it twice on the
// same file appends nothing the second time.
import { type FileHandle, open } from "node:fs/promises";
import { INTERRUPTED_MARKER, type ParsedLine, parseLine, textEventBytes } from "./cast-format.js";
import { fileDigest } from "./fd-io.js";
import type { ClosedRecording } from "./types.js";

const BLOCK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

interface LastLine {
  /** File offset just after the line's "\n". */
  readonly end: number;
  readonly line: ParsedLine;
}

/** undefined when there is no file, or no header line to keep. */
export async function closeInterruptedFile(
  absolutePath: string,
  relativePath: string,
): Promise<ClosedRecording | undefined> {
  const handle = await openIfPresent(absolutePath);
  if (handle === undefined) return undefined;
  try {
    const size = (await handle.stat()).size;
    if (!(await startsWithHeader(handle))) return undefined;
    const last = await lastValidLine(handle, size);
    if (last === undefined) return undefined;
    await handle.truncate(last.end);
    if (!isInterruptedMarker(last.line)) {
      const seconds = last.line.kind === "event" ? last.line.seconds : 0;
      const marker = textEventBytes(seconds, "m", INTERRUPTED_MARKER);
      await handle.write(marker, 0, marker.length, last.end);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { relativePath, ...(await fileDigest(absolutePath)) };
}

async function openIfPresent(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r+");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function isInterruptedMarker(line: ParsedLine): boolean {
  return line.kind === "event" && line.code === "m" && line.data === INTERRUPTED_MARKER;
}

async function startsWithHeader(handle: FileHandle): Promise<boolean> {
  let head = Buffer.alloc(0);
  for (let position = 0; ; position += BLOCK_BYTES) {
    const block = Buffer.alloc(BLOCK_BYTES);
    const { bytesRead } = await handle.read(block, 0, BLOCK_BYTES, position);
    head = Buffer.concat([head, block.subarray(0, bytesRead)]);
    const newline = head.indexOf(NEWLINE);
    if (newline >= 0) return parseLine(head.toString("utf8", 0, newline)).kind === "header";
    if (bytesRead < BLOCK_BYTES) return false;
  }
}

async function lastValidLine(handle: FileHandle, size: number): Promise<LastLine | undefined> {
  for await (const candidate of linesBackward(handle, size))
    if (candidate.line.kind !== "invalid") return candidate;
  return undefined;
}

/** Complete lines from the last to the first; bytes after the last "\n" are skipped. */
async function* linesBackward(handle: FileHandle, size: number): AsyncGenerator<LastLine> {
  let position = size;
  let buffer = Buffer.alloc(0); // the file's bytes [position, position + buffer.length)
  const readEarlier = async (): Promise<boolean> => {
    if (position === 0) return false;
    const length = Math.min(BLOCK_BYTES, position);
    position -= length;
    const chunk = Buffer.alloc(length);
    await handle.read(chunk, 0, length, position);
    buffer = Buffer.concat([chunk, buffer]);
    return true;
  };
  let lastNewline = buffer.lastIndexOf(NEWLINE);
  while (lastNewline < 0) {
    if (!(await readEarlier())) return;
    lastNewline = buffer.lastIndexOf(NEWLINE);
  }
  buffer = buffer.subarray(0, lastNewline + 1);
  while (buffer.length > 0) {
    let previous = previousNewline(buffer);
    while (previous < 0 && (await readEarlier())) previous = previousNewline(buffer);
    const start = previous + 1;
    const text = buffer.toString("utf8", start, buffer.length - 1);
    yield { end: position + buffer.length, line: parseLine(text) };
    buffer = buffer.subarray(0, start);
  }
}

/** Index of the "\n" ending the line before the buffer's last line, or -1. */
function previousNewline(buffer: Buffer): number {
  return buffer.length < 2 ? -1 : buffer.lastIndexOf(NEWLINE, buffer.length - 2);
}
