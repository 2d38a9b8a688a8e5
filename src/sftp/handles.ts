// Per-handle state of one mediated SFTP channel. The user's client never sees
// the target's handles: it gets 4-byte handles issued here, each mapped to
// the target's handle, the resolved path, what it was opened for and the
// bytes moved through it, so a request on a handle the bastion did not hand
// out is refused. Also the per-session download budget (`max_download`),
// shared by every SFTP channel of one SSH connection.

import type { FileAccess } from "../policy/files.js";

const HANDLE_BYTES = 4;

export interface FileHandle {
  readonly kind: "file";
  readonly upstream: Buffer;
  readonly path: string;
  readonly access: Extract<FileAccess, "read" | "write" | "readwrite">;
  bytesRead: number;
  bytesWritten: number;
  /** A read was refused because it would have crossed `max_download`. */
  limited: boolean;
}

export interface DirectoryHandle {
  readonly kind: "directory";
  readonly upstream: Buffer;
  readonly path: string;
}

export type OpenHandle = FileHandle | DirectoryHandle;

export class HandleTable {
  private readonly open = new Map<number, OpenHandle>();
  private next = 0;

  /** Registers `state` and returns the handle to give the user. */
  add(state: OpenHandle): Buffer {
    this.next = (this.next + 1) >>> 0;
    const handle = Buffer.alloc(HANDLE_BYTES);
    handle.writeUInt32BE(this.next);
    this.open.set(this.next, state);
    return handle;
  }

  get(handle: Buffer): OpenHandle | undefined {
    return handle.length === HANDLE_BYTES ? this.open.get(handle.readUInt32BE()) : undefined;
  }

  /** Forgets the handle and returns what it was. */
  take(handle: Buffer): OpenHandle | undefined {
    const state = this.get(handle);
    if (state) this.open.delete(handle.readUInt32BE());
    return state;
  }

  /** Forgets every handle and returns the open files (the channel is gone). */
  drain(): FileHandle[] {
    const files = [...this.open.values()].filter((state) => state.kind === "file");
    this.open.clear();
    return files;
  }
}

/** Bytes one session downloaded over SFTP, counted against its `max_download`. */
export class SessionTransfers {
  downloaded = 0;

  /** Counts `bytes` as downloaded unless that would cross `limit`; false when refused. */
  takeDownload(bytes: number, limit: number | undefined): boolean {
    if (limit !== undefined && this.downloaded + bytes > limit) return false;
    this.downloaded += bytes;
    return true;
  }
}
