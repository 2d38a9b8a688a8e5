// Foreign failure text made fit for one terminal line: control characters
// removed and length capped (servers and identity providers choose these
// strings), and the innermost reason of a network failure.

import { errorMessage } from "../util/errors.js";

const MAX_LENGTH = 300;

/** `text` without control characters, at most 300 characters. */
export function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, " ").slice(0, MAX_LENGTH);
}

/** The innermost cause of a fetch failure, e.g. `ECONNREFUSED` or `timed out`. */
export function networkReason(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause !== undefined) current = current.cause;
  if (current instanceof Error && current.name === "TimeoutError") return "timed out";
  const code = (current as NodeJS.ErrnoException | undefined)?.code;
  return code ?? printable(errorMessage(current));
}
