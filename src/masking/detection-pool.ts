// The bastion's masking detection threads (docs/masking.md "Streaming"): a
// small pool shared by every masked channel of the process, owned by the
// bastion's context (never a module global), started lazily by the first
// detection and terminated at shutdown. Each set of detectors is sent to a
// worker once; texts go to the least busy worker. A worker keeps the
// process alive only while it has work. If a worker dies, every detection
// it had fails (the streams behind them end, fail closed) and the next
// detection starts a new one.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { MaskSpec } from "../policy/types.js";
import { errorMessage, PortcullisError } from "../util/errors.js";
import {
  detectorsKey,
  type FromDetection,
  type ToDetection,
  wireDetectors,
} from "./detection-protocol.js";
import type { SecretMatch } from "./detectors.js";

/** Every match of a set of detectors in `context` + `text` (latin1 bytes; transferred, so no longer usable). */
export type FindElsewhere = (context: string, text: Uint8Array) => Promise<SecretMatch[]>;

export interface DetectionPoolOptions {
  /** Worker threads at most: by default min(2, CPUs − 1), at least 1. */
  readonly size?: number;
  /** The worker's entry point (tests start a worker that can be made to die). */
  readonly workerUrl?: URL;
}

const WORKER_URL = new URL("./detection-worker.js", import.meta.url);

interface Waiting {
  resolve(matches: SecretMatch[]): void;
  reject(error: Error): void;
}

interface DetectionThread {
  readonly worker: Worker;
  /** The sets of detectors it has been sent. */
  readonly known: Set<string>;
  readonly waiting: Map<number, Waiting>;
}

export function defaultPoolSize(): number {
  return Math.max(1, Math.min(2, availableParallelism() - 1));
}

export class DetectionPool {
  private readonly size: number;
  private readonly workerUrl: URL;
  private readonly threads: DetectionThread[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: DetectionPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? defaultPoolSize());
    this.workerUrl = options.workerUrl ?? WORKER_URL;
  }

  /** Detection with `specs` (a policy `mask:` list) off the main thread. */
  finder(specs: readonly MaskSpec[]): FindElsewhere {
    const detectors = wireDetectors(specs);
    const key = detectorsKey(detectors);
    const announce: ToDetection = { type: "detectors", key, detectors };
    return (context, text) => {
      if (this.closed) return Promise.reject(detectionError("the bastion is shutting down"));
      const thread = this.leastBusy();
      if (!thread.known.has(key)) {
        thread.known.add(key);
        thread.worker.postMessage(announce);
      }
      const id = this.nextId++;
      const found = new Promise<SecretMatch[]>((resolve, reject) =>
        thread.waiting.set(id, { resolve, reject }),
      );
      if (thread.waiting.size === 1) thread.worker.ref();
      const message: ToDetection = { type: "find", id, key, context, text };
      thread.worker.postMessage(message, [text.buffer as ArrayBuffer]);
      return found;
    };
  }

  /** Running worker threads (for tests and benchmarks). */
  get running(): number {
    return this.threads.length;
  }

  /** Stops every worker; detections still running fail. No detection starts after this. */
  async terminate(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }

  private leastBusy(): DetectionThread {
    const idle = this.threads.find((thread) => thread.waiting.size === 0);
    if (idle !== undefined) return idle;
    if (this.threads.length < this.size) return this.start();
    return this.threads.reduce((best, thread) =>
      thread.waiting.size < best.waiting.size ? thread : best,
    );
  }

  private start(): DetectionThread {
    const worker = new Worker(this.workerUrl);
    const thread: DetectionThread = { worker, known: new Set(), waiting: new Map() };
    worker.on("message", (message: FromDetection) => this.answer(thread, message));
    worker.on("error", (error) => this.stopped(thread, errorMessage(error)));
    worker.on("exit", (code) => this.stopped(thread, `exited with code ${code}`));
    worker.unref(); // after the listeners (they ref it again): only work keeps the process alive
    this.threads.push(thread);
    return thread;
  }

  private answer(thread: DetectionThread, message: FromDetection): void {
    const waiting = thread.waiting.get(message.id);
    if (waiting === undefined) return;
    thread.waiting.delete(message.id);
    if (thread.waiting.size === 0) thread.worker.unref();
    if (message.type === "found") waiting.resolve([...message.matches]);
    else waiting.reject(detectionError(`detection failed: ${message.message}`));
  }

  /** The worker is gone: whatever it was detecting fails; the next detection starts a new one. */
  private stopped(thread: DetectionThread, reason: string): void {
    const index = this.threads.indexOf(thread);
    if (index === -1) return;
    this.threads.splice(index, 1);
    const error = detectionError(`the detection thread stopped (${reason})`);
    for (const waiting of thread.waiting.values()) waiting.reject(error);
    thread.waiting.clear();
  }
}

function detectionError(reason: string): PortcullisError {
  return new PortcullisError("ERR_MASK_DETECTION", `masking failed: ${reason}`);
}
