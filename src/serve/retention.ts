// Retention of recordings (`recordings.retention`): removes the files of
// recordings whose session ended more than the retention ago, and only those
// the audit index accounts for: closed (or interrupted, or failed) and still
// exactly the file that was signed. Anything else is kept and reported
// (audit.error): a changed file is evidence. Each removal is one
// `recording.pruned` event, and the index row is kept, marked pruned. Runs at
// start-up and then every 24 hours.

import type { AuditLog } from "../audit/log.js";
import { checkRecordingFile } from "../recording/index.js";
import type { PrunableRecording } from "../store/index.js";
import { errorMessage } from "../util/errors.js";
import type { RecordingsSetup } from "./recordings.js";

export const PRUNE_INTERVAL_MS = 24 * 60 * 60 * 1000;

export interface RetentionSetup extends Pick<RecordingsSetup, "store" | "index" | "key" | "now"> {
  audit: AuditLog;
  /** Recordings whose session ended longer ago than this are removed. */
  retentionMs: number;
}

export interface PruneOutcome {
  /** Ids of the recordings whose files were removed. */
  pruned: string[];
  /** Ids of the recordings kept because they did not check out (each reported). */
  kept: string[];
}

export interface RetentionPruner {
  /** Stops the timer and waits for a run in progress (it stops after its current recording). */
  close(): Promise<void>;
}

/** One pass over the recordings old enough; `stop` is asked before each one. */
export async function pruneRecordings(
  setup: RetentionSetup,
  stop: () => boolean = () => false,
): Promise<PruneOutcome> {
  const cutoff = new Date(setup.now().getTime() - setup.retentionMs);
  const outcome: PruneOutcome = { pruned: [], kept: [] };
  for (const row of setup.index.prunableRecordings(cutoff)) {
    if (stop()) break;
    const problem = await removeIfAccountedFor(setup, row);
    if (problem === undefined) {
      outcome.pruned.push(row.id);
      markPruned(setup, row);
    } else {
      outcome.kept.push(row.id);
      setup.audit.error("retention kept a recording it cannot account for", {
        ...identify(row),
        reason: problem,
      });
    }
  }
  return outcome;
}

/** Runs `pruneRecordings` now and then every `intervalMs` (the timer does not keep the process alive). */
export function startRetentionPruner(
  setup: RetentionSetup,
  intervalMs = PRUNE_INTERVAL_MS,
): RetentionPruner {
  let running: Promise<void> | undefined;
  let closed = false;
  const run = () => {
    if (running !== undefined || closed) return;
    running = pruneRecordings(setup, () => closed)
      .then((outcome) => summarize(setup.audit, outcome))
      .catch((error: unknown) =>
        setup.audit.error("retention pass failed", { reason: errorMessage(error) }),
      )
      .finally(() => {
        running = undefined;
      });
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return {
    close: async () => {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** Removes the file when it is the one signed; otherwise returns why it was kept. */
async function removeIfAccountedFor(
  setup: RetentionSetup,
  row: PrunableRecording,
): Promise<string | undefined> {
  try {
    const check = await checkRecordingFile(setup.store, row, setup.key);
    if (check.status !== "ok") return `${check.status}: ${check.detail}`;
    await setup.store.remove(row.relativePath);
  } catch (error) {
    return errorMessage(error);
  }
  setup.audit.emit("recording.pruned", {
    ...identify(row),
    ended_at: row.sessionEndedAt.toISOString(),
    bytes: row.bytes,
    sha256: row.sha256,
  });
  return undefined;
}

/** The file is gone: a row left unmarked makes `verify` report it missing, which is said here. */
function markPruned(setup: RetentionSetup, row: PrunableRecording): void {
  try {
    setup.index.markPruned(row.id, setup.now());
  } catch (error) {
    setup.audit.error("retention removed a recording but could not mark it pruned", {
      ...identify(row),
      reason: errorMessage(error),
    });
  }
}

function identify(row: PrunableRecording) {
  return { recording: row.id, path: row.relativePath, session: row.session };
}

function summarize(audit: AuditLog, outcome: PruneOutcome): void {
  if (outcome.pruned.length + outcome.kept.length === 0) return;
  audit.info("retention pass done", {
    pruned: outcome.pruned.length,
    kept: outcome.kept.length,
  });
}
