// What one `portcullis doctor` check found, and how the results become the
// printed report and the exit status (pure). A check is `ok`, `warn` (works,
// but look at it), `FAIL` (serve would not start, or something users need is
// broken: the detail says what to fix) or `skip` (not configured).

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface CheckResult {
  /** What was checked, e.g. `ssh.host_key` or `target web1 host key`. */
  readonly check: string;
  readonly status: CheckStatus;
  /** One line: what was found and, unless ok, what to do about it. */
  readonly detail: string;
}

export const ok = (check: string, detail: string): CheckResult => ({ check, status: "ok", detail });
export const warn = (check: string, detail: string): CheckResult => ({
  check,
  status: "warn",
  detail,
});
export const fail = (check: string, detail: string): CheckResult => ({
  check,
  status: "fail",
  detail,
});
export const skip = (check: string, detail: string): CheckResult => ({
  check,
  status: "skip",
  detail,
});

const LABELS: Record<CheckStatus, string> = { ok: "ok", warn: "warn", fail: "FAIL", skip: "skip" };

/** `FAIL  ssh.host_key: … ` — the label padded so that the checks line up. */
export function formatResult(result: CheckResult): string {
  return `${LABELS[result.status].padEnd(5)} ${result.check}: ${result.detail}`;
}

/** The `--json` document: every check, and whether none failed. */
export function jsonReport(results: readonly CheckResult[]): string {
  return JSON.stringify({ ok: exitStatus(results) === 0, checks: results });
}

/** 0 when no check failed, 1 otherwise. */
export function exitStatus(results: readonly CheckResult[]): 0 | 1 {
  return results.some((result) => result.status === "fail") ? 1 : 0;
}

/** `1 target`, `3 targets`. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
