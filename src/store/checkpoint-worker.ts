// Entry point of the audit index's checkpoint thread: its own connection to
// the database runs a PASSIVE WAL checkpoint (copy what it can, wait for no
// one) every interval, so the synchronous copy and fsync never hold the main
// thread's event loop. Failures are posted back; the next interval retries.
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { errorMessage } from "../util/errors.js";

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path, { fileMustExist: true, timeout: 100 });

setInterval(() => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (error) {
    parentPort?.postMessage(errorMessage(error));
  }
}, intervalMs);
