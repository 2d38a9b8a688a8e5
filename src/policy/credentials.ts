// Targets must name vault entries that exist (issue 3: an unknown credential
// reference is an error, not a failure at connect time). Pure: the caller
// passes the names the vault holds.

import { formatLocation } from "../util/yaml-source.js";
import type { Policy } from "./types.js";

/** One `file:line:col: …` problem per target credential the vault does not hold. */
export function unknownCredentials(policy: Policy, vaultEntries: ReadonlySet<string>): string[] {
  return [...policy.targets.values()].flatMap((target) =>
    [...new Set(target.credentials.values())]
      .filter((name) => !vaultEntries.has(name))
      .map(
        (name) =>
          `${formatLocation(target.source)}: targets.${target.name}.credential: no vault entry "${name}" (see portcullis vault list)`,
      ),
  );
}
