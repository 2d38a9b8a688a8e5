// What the commands that read the audit index share (`recordings`,
// `signals`): opening the index named by the configuration for one command,
// and how a score is printed.

import type { LoadedConfig } from "../config/index.js";
import { type AuditIndex, openAuditIndex } from "../store/index.js";

/** Runs `use` on the configured audit index, closed afterwards. */
export function withIndex<T>(loaded: LoadedConfig, use: (index: AuditIndex) => T): T {
  const index = openAuditIndex({ path: loaded.config.database.path });
  try {
    return use(index);
  } finally {
    index.close();
  }
}

/** Scores decay, so they are fractional: one decimal, none for whole numbers. */
export function formatScore(score: number): string {
  return Number.isInteger(score) ? String(score) : score.toFixed(1);
}
