// The audit index module's public surface: the AuditIndex interface and its
// types, and the SQLite implementation's constructor.

export { openAuditIndex } from "./audit-index.js";
export type * from "./types.js";
