// Promise wrappers around the callback fs calls on a raw file descriptor
// (the descriptor is opened synchronously by create(), so FileHandle is not
// available), plus the streaming SHA-256 of a whole file.
import { createHash } from "node:crypto";
import { close, createReadStream, fdatasync, fsync, ftruncate, open, write } from "node:fs";

export interface FileDigest {
  sha256: string;
  bytes: number;
}

function settle<T>(resolve: (value: T) => void, reject: (error: Error) => void) {
  return (error: Error | null, value: T) => (error ? reject(error) : resolve(value));
}

function writeOnce(fd: number, buffer: Uint8Array, offset: number, position: number) {
  return new Promise<number>((resolve, reject) =>
    write(fd, buffer, offset, buffer.length - offset, position, settle(resolve, reject)),
  );
}

/** Writes all of `buffer` at `position` (a short write is continued). */
export async function writeFully(fd: number, buffer: Uint8Array, position: number): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) offset += await writeOnce(fd, buffer, offset, position + offset);
}

export function datasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fdatasync(fd, (error) => (error ? reject(error) : resolve())),
  );
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fsync(fd, (error) => (error ? reject(error) : resolve())),
  );
}

export function truncateFd(fd: number, length: number): Promise<void> {
  return new Promise((resolve, reject) =>
    ftruncate(fd, length, (error) => (error ? reject(error) : resolve())),
  );
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    close(fd, (error) => (error ? reject(error) : resolve())),
  );
}

/** fsyncs a directory so that a file just created in it survives a power loss. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const fd = await new Promise<number>((resolve, reject) =>
    open(dir, "r", settle(resolve, reject)),
  );
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

export async function fileDigest(path: string): Promise<FileDigest> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}
