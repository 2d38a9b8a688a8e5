// Writing login's files: private directories (0700) and whole-file atomic
// replacement (write beside, then rename), so a crash never leaves half a
// certificate or config behind.

import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { errorMessage, PortcullisError } from "../util/errors.js";

/** Creates `dir` (and parents) if missing and makes it 0700. */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } catch (error) {
    throw writeFailed(dir, error);
  }
}

/** Replaces `path` with `content` (mode `mode`) in one rename. */
export function writeFileAtomic(path: string, content: string, mode: number): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, content, { mode });
    chmodSync(temporary, mode);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw writeFailed(path, error);
  }
}

function writeFailed(path: string, error: unknown): PortcullisError {
  const reason = (error as NodeJS.ErrnoException).code ?? errorMessage(error);
  return new PortcullisError("ERR_LOGIN_WRITE", `cannot write ${path}: ${reason}`);
}
