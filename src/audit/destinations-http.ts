// Forwarding to an HTTP collector (`logging.http`): lines are POSTed in
// batches (`content-type: application/x-ndjson`, one JSON line each) every
// `flush_interval`, or at once when a full batch is waiting; one request at
// a time, so the collector sees them in order. The Authorization header is
// the content of `authorization_file`, read at start-up and never logged,
// nor is the URL (it may carry a token). A batch that fails on the network,
// or with 408, 429 or 5xx, is retried with backoff while new lines wait in
// a bounded buffer (oldest dropped and counted); a batch refused otherwise
// (400, 401, 413…) is dropped and reported, so one bad batch cannot stall
// the rest. Nothing here blocks or throws into the caller.

import {
  closeDeadline,
  type Forwarder,
  type ForwarderReport,
  type ForwardingTuning,
  LineQueue,
  OutageReports,
  retryDelayMs,
} from "./destinations-queue.js";

export interface HttpForwardingOptions {
  url: string;
  /** Milliseconds between two batches. */
  flush_interval: number;
}

export const NDJSON = "application/x-ndjson";
const BATCH_LINES = 500;
const BATCH_BYTES = 1024 * 1024;
const ATTEMPT_TIMEOUT_MS = 10_000;

type PostResult = { ok: true } | { ok: false; retry: boolean; reason: string };

/** `authorization` is the header's value (the file's content, read by the caller). */
export class HttpForwarder implements Forwarder {
  private readonly queue: LineQueue;
  private readonly interval: NodeJS.Timeout;
  private readonly stop = new AbortController();
  private inFlight: Promise<boolean> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private readonly outage: OutageReports;
  private closing = false;

  constructor(
    private readonly options: HttpForwardingOptions,
    private readonly authorization: string | undefined,
    private readonly report: ForwarderReport,
    private readonly tuning: ForwardingTuning,
  ) {
    this.queue = new LineQueue(tuning);
    this.outage = new OutageReports("http", this.queue, report);
    this.interval = setInterval(() => this.flush(), options.flush_interval);
    this.interval.unref();
  }

  write(line: string): void {
    if (this.stop.signal.aborted) return;
    this.queue.push(line);
    if (this.queue.length >= BATCH_LINES) this.flush();
  }

  async close(): Promise<number> {
    const deadline = closeDeadline(this.tuning);
    this.closing = true;
    clearInterval(this.interval);
    clearTimeout(this.retryTimer);
    const giveUp = setTimeout(() => this.stop.abort(), Math.max(0, deadline - Date.now()));
    await this.inFlight;
    while (this.queue.length > 0 && !this.stop.signal.aborted) {
      if (!(await this.send())) break;
    }
    clearTimeout(giveUp);
    this.stop.abort();
    return this.queue.length + this.queue.takeDropped();
  }

  /** Starts a batch unless one is on its way or waiting for its retry. */
  private flush(): void {
    if (this.inFlight !== undefined || this.retryTimer !== undefined || this.closing) return;
    if (this.queue.length === 0) return;
    this.inFlight = this.send();
    void this.inFlight.finally(() => {
      this.inFlight = undefined;
      if (this.queue.length >= BATCH_LINES) this.flush();
    });
  }

  /** Sends one batch; false when it failed and went back into the buffer. */
  private async send(): Promise<boolean> {
    const batch = this.queue.take(BATCH_LINES, BATCH_BYTES);
    const result = await this.post(batch.join(""));
    if (result.ok) {
      this.attempt = 0;
      this.outage.recovered();
      return true;
    }
    if (!result.retry) {
      this.report("http forwarding: the collector refused a batch; dropped it", {
        sink: "http",
        reason: result.reason,
        dropped: batch.length,
      });
      return true;
    }
    this.queue.putBack(batch);
    this.failed(result.reason);
    return false;
  }

  private async post(body: string): Promise<PostResult> {
    try {
      const response = await fetch(this.options.url, {
        method: "POST",
        headers: {
          "content-type": NDJSON,
          "user-agent": "portcullis-logs",
          ...(this.authorization === undefined ? {} : { authorization: this.authorization }),
        },
        body,
        redirect: "error",
        signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
      });
      await response.body?.cancel();
      if (response.ok) return { ok: true };
      const { status } = response;
      return {
        ok: false,
        retry: status === 408 || status === 429 || status >= 500,
        reason: `HTTP ${status}`,
      };
    } catch (error) {
      return { ok: false, retry: true, reason: failureCode(error) };
    }
  }

  private failed(reason: string): void {
    this.outage.failed(reason);
    if (this.closing) return;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.flush();
      },
      retryDelayMs(this.attempt++, this.tuning),
    );
    this.retryTimer.unref();
  }
}

/** The socket error's code (`ECONNREFUSED`), `timed out`, or the error's name: never the URL. */
function failureCode(error: unknown): string {
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  if (typeof code === "string") return code;
  return error instanceof Error && error.name === "TimeoutError" ? "timed out" : "failed";
}
