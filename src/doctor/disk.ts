// Doctor: free space on the file system of recordings.dir (statfs): warn
// under 1 GiB or 5 % free, FAIL under 100 MiB (required recordings refuse
// sessions when they cannot be written). A directory that does not exist yet
// is measured at its nearest existing parent.

import { existsSync, statfsSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "../config/index.js";
import { type CheckResult, fail, ok, warn } from "./check.js";

const CHECK = "disk space";
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
export const WARN_BELOW_BYTES = GiB;
export const WARN_BELOW_FRACTION = 0.05;
export const FAIL_BELOW_BYTES = 100 * MiB;

export interface DiskSpace {
  /** Bytes available to unprivileged users. */
  readonly free: number;
  readonly total: number;
}

export function checkDiskSpace(config: Config): CheckResult {
  const dir = config.recordings.dir;
  const measured = nearestExisting(dir);
  const { bavail, blocks, bsize } = statfsSync(measured);
  return judgeDiskSpace(dir, { free: bavail * bsize, total: blocks * bsize });
}

export function judgeDiskSpace(dir: string, space: DiskSpace): CheckResult {
  const percent = space.total > 0 ? (space.free / space.total) * 100 : 0;
  const summary = `${(space.free / GiB).toFixed(1)} GiB free (${percent.toFixed(1)} %) for recordings in ${dir}`;
  if (space.free < FAIL_BELOW_BYTES) {
    return fail(CHECK, `${summary}: free space, or set recordings.retention`);
  }
  if (space.free < WARN_BELOW_BYTES || percent < WARN_BELOW_FRACTION * 100) {
    return warn(CHECK, `${summary}: free space soon, or set recordings.retention`);
  }
  return ok(CHECK, summary);
}

function nearestExisting(path: string): string {
  let current = path;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}
