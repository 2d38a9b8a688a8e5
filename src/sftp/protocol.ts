// The SFTP (version 3) shapes the mediator works with: status codes, file
// attributes, and the two sides as small structural interfaces. The user's
// side is ssh2's SFTP server (it parses requests and writes replies); the
// target's side is ssh2's SFTP client. Only src/ssh imports ssh2: it hands
// both objects in, and they fit these interfaces as they are.

/** SSH_FX_* status codes (draft-ietf-secsh-filexfer-02 §7). */
export const STATUS = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

const KNOWN_STATUS: ReadonlySet<number> = new Set(Object.values(STATUS));

/** A status code the user's client may be sent; anything else becomes FAILURE. */
export function knownStatus(code: unknown): number {
  return typeof code === "number" && KNOWN_STATUS.has(code) ? code : STATUS.FAILURE;
}

/** ATTRS: every field optional (only the flagged ones travel). */
export interface SftpAttributes {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: number;
  mtime?: number;
}

export interface SftpName {
  filename: string;
  longname: string;
  attrs: SftpAttributes;
}

/** An error from the target's side; `code` is its SSH_FX_* status when it sent one. */
export type UpstreamError = (Error & { code?: unknown }) | undefined | null;

type Done = (error: UpstreamError) => void;

/** Replies to the user's requests (ssh2's SFTP server methods). */
export interface SftpReplies {
  status(reqId: number, code: number, message?: string): void;
  handle(reqId: number, handle: Buffer): void;
  data(reqId: number, data: Buffer): void;
  name(reqId: number, names: SftpName[]): void;
  attrs(reqId: number, attrs: SftpAttributes): void;
}

/** Requests to the target (ssh2's SFTP client methods). */
export interface SftpUpstream {
  open(
    path: string,
    pflags: number,
    attrs: SftpAttributes,
    done: (error: UpstreamError, handle: Buffer) => void,
  ): void;
  close(handle: Buffer, done: Done): void;
  read(
    handle: Buffer,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    done: (error: UpstreamError, bytesRead: number, data: Buffer) => void,
  ): void;
  write(
    handle: Buffer,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    done: Done,
  ): void;
  fstat(handle: Buffer, done: (error: UpstreamError, attrs: SftpAttributes) => void): void;
  fsetstat(handle: Buffer, attrs: SftpAttributes, done: Done): void;
  opendir(path: string, done: (error: UpstreamError, handle: Buffer) => void): void;
  readdir(
    handle: Buffer,
    options: { full: boolean },
    done: (error: UpstreamError, names: SftpName[]) => void,
  ): void;
  stat(path: string, done: (error: UpstreamError, attrs: SftpAttributes) => void): void;
  lstat(path: string, done: (error: UpstreamError, attrs: SftpAttributes) => void): void;
  setstat(path: string, attrs: SftpAttributes, done: Done): void;
  unlink(path: string, done: Done): void;
  rename(from: string, to: string, done: Done): void;
  mkdir(path: string, attrs: SftpAttributes, done: Done): void;
  rmdir(path: string, done: Done): void;
  realpath(path: string, done: (error: UpstreamError, path: string) => void): void;
  readlink(path: string, done: (error: UpstreamError, target: string) => void): void;
  symlink(target: string, link: string, done: Done): void;
  end(): void;
}
