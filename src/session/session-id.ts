// Session identifiers: sortable by start time as plain strings, unique
// across bastion nodes, safe in file names (`20261122T031600Z-9f3a2c1b7e`).

import { randomBytes } from "node:crypto";

export function newSessionId(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  return `${stamp}-${randomBytes(5).toString("hex")}`;
}
