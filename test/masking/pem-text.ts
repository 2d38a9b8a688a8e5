// Key-shaped text for the masking tests, put together when the tests run so
// that no tracked file holds anything that looks like a private key.

const DASHES = "-".repeat(5);

/** A PEM boundary line, e.g. pemLine("BEGIN", "RSA PRIVATE KEY"). */
export function pemLine(edge: "BEGIN" | "END", label: string): string {
  return `${DASHES}${edge} ${label}${DASHES}`;
}

export const BEGIN_KEY = pemLine("BEGIN", "PRIVATE KEY");
export const END_KEY = pemLine("END", "PRIVATE KEY");
