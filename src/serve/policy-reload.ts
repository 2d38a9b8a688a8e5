// Atomic hot reload of the policy: file changes in the policy directory
// (debounced) and explicit reloads (SIGHUP) build a whole new Policy off to
// the side and swap it in at once. A broken edit keeps the last good policy,
// is audited as `policy.error` with its problems (`file:line:col: …`) and
// counted in the stats (for /metrics).

import { type FSWatcher, watch } from "node:fs";
import type { AuditLog } from "../audit/log.js";
import { precompilePolicy } from "../policy/decide.js";
import { loadPolicyDir, type Policy, unknownCredentials } from "../policy/index.js";
import { ConfigError, errorMessage } from "../util/errors.js";

export const DEFAULT_RELOAD_DEBOUNCE_MS = 250;

export interface PolicyReloadStats {
  reloads: number;
  reloadFailures: number;
}

export type ReloadTrigger = "file change" | "signal";

export interface PolicyReloader {
  /** The policy in force; sessions call this for every decision. */
  current(): Policy;
  /** Loads the directory now; false (and the old policy kept) when it is broken. */
  reload(trigger?: ReloadTrigger): boolean;
  readonly stats: Readonly<PolicyReloadStats>;
  /** Stops watching the directory. */
  close(): void;
}

export interface PolicyReloaderOptions {
  dir: string;
  audit: AuditLog;
  debounceMs?: number;
  /** Names of the vault's entries, read at each load: targets must reference existing ones. */
  vaultEntries?: () => ReadonlySet<string>;
}

/** Loads the policy (a broken one throws ConfigError: there is nothing to keep yet) and watches `dir`. */
export function startPolicyReloader(options: PolicyReloaderOptions): PolicyReloader {
  const { dir, audit } = options;
  const load = () => loadCompiled(dir, options.vaultEntries);
  let policy = load();
  const stats: PolicyReloadStats = { reloads: 0, reloadFailures: 0 };

  const reload = (trigger: ReloadTrigger = "signal"): boolean => {
    try {
      policy = load();
    } catch (error) {
      stats.reloadFailures += 1;
      const problems = error instanceof ConfigError ? error.problems : [errorMessage(error)];
      audit.emit("policy.error", { dir, trigger, problems });
      return false;
    }
    stats.reloads += 1;
    audit.emit("policy.reload", {
      dir,
      trigger,
      targets: policy.targets.size,
      access: policy.access.length,
      rulesets: policy.rulesets.size,
    });
    return true;
  };

  const watcher = watchDebounced(dir, options.debounceMs ?? DEFAULT_RELOAD_DEBOUNCE_MS, audit, () =>
    reload("file change"),
  );
  return {
    current: () => policy,
    reload,
    stats,
    close: () => watcher.close(),
  };
}

/** Loads, checks and compiles the whole policy before anyone sees it, so the swap is one assignment. */
function loadCompiled(dir: string, vaultEntries: (() => ReadonlySet<string>) | undefined): Policy {
  const policy = loadPolicyDir(dir);
  const problems = vaultEntries ? unknownCredentials(policy, vaultEntries()) : [];
  if (problems.length > 0) throw new ConfigError(problems);
  precompilePolicy(policy);
  return policy;
}

/** Calls `onChange` once things have been quiet for `debounceMs` after a change in `dir`. */
function watchDebounced(
  dir: string,
  debounceMs: number,
  audit: AuditLog,
  onChange: () => void,
): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, () => {
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
      timer.unref();
    });
    watcher.on("error", (error) =>
      audit.error("policy directory watch failed; reload with SIGHUP", {
        dir,
        reason: errorMessage(error),
      }),
    );
  } catch (error) {
    audit.error("cannot watch the policy directory; reload with SIGHUP", {
      dir,
      reason: errorMessage(error),
    });
  }
  return {
    close: () => {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
