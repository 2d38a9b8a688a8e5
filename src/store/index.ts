// The audit index module's public surface: the AuditIndex interface and its
// types, the SQLite implementation's constructor, and rows as JSON.

export { openAuditIndex } from "./audit-index.js";
export { signalJson } from "./json.js";
export type * from "./types.js";
