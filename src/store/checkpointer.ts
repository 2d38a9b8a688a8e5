// WAL checkpoints for a long-running writer, off the main thread: the
// index's own connection stops checkpointing (wal_autocheckpoint = 0) and a
// worker thread with a second connection checkpoints every interval
// (checkpoint-worker.ts). The thread never keeps the process alive.
import { Worker } from "node:worker_threads";
import { PortcullisError } from "../util/errors.js";

const WORKER_URL = new URL("./checkpoint-worker.js", import.meta.url);

export class BackgroundCheckpointer {
  private readonly worker: Worker;

  constructor(path: string, intervalMs: number, failed: (error: Error) => void) {
    this.worker = new Worker(WORKER_URL, { workerData: { path, intervalMs } });
    const report = (reason: string) =>
      failed(new PortcullisError("ERR_AUDIT_INDEX", `audit index checkpoint failed: ${reason}`));
    this.worker.on("message", report);
    this.worker.on("error", (error) => report(error.message));
    this.worker.unref(); // after the listeners: adding a "message" listener refs the thread again
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }
}
