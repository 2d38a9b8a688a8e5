// The backup commands' errors: one kind (ERR_BACKUP) with a one-line
// message, and the short reason of a file system failure.

import { errorMessage, PortcullisError } from "../util/errors.js";

export function backupError(message: string): PortcullisError {
  return new PortcullisError("ERR_BACKUP", message);
}

/** A file system error's code (ENOENT, EACCES), else its message. */
export function reasonOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? errorMessage(error);
}
