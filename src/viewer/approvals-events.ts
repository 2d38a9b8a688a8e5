// Live updates of the approvals page: `GET /approvals/events`, a
// server-sent event stream (approvers only). One ApprovalsFeed per viewer
// looks at the approvals service's pending list and first history page
// while someone listens (every 500 ms, by the store's indexes), so requests
// made, decided, withdrawn or expired in this process or any other (the
// CLI, another node) show within half a second. On a change each stream
// gets the pending cards and the history's first page, rendered for its
// viewer. Streams end when the browser goes, after STREAM_MAX_MS (the
// browser reconnects through the full sign-in and role check, so an expired
// session stops getting updates), and before the server closes (preClose),
// so fastify's close() never waits on them.

import type { ServerResponse } from "node:http";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { ApprovalRequest } from "../approvals/index.js";
import { historyTable, pendingList, versionOf } from "./approvals-view.js";
import type { ViewerDependencies } from "./context.js";
import { requireRole } from "./guard.js";
import type { SafeHtml } from "./html.js";
import type { Viewer } from "./roles.js";

export const HISTORY_PAGE_SIZE = 20;
const POLL_INTERVAL_MS = 500;
const HEARTBEAT_MS = 20_000;
const STREAM_MAX_MS = 5 * 60_000;
const RECONNECT_MS = 2000;

type Listener = () => void;

/** Tells its listeners when the pending list or the newest decisions change. */
export class ApprovalsFeed {
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  private fingerprint = "";

  constructor(
    private readonly approvals: ViewerDependencies["approvals"],
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = POLL_INTERVAL_MS,
  ) {}

  /** Starts looking while there are listeners; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    if (this.listeners.size === 0) {
      this.fingerprint = this.current();
      this.timer = setInterval(() => this.check(), this.intervalMs);
      this.timer.unref();
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private current(): string {
    const states = (requests: readonly ApprovalRequest[]) =>
      requests.map((request) => `${request.id}=${versionOf(request)}`).join(",");
    return `${states(this.approvals.pending())}|${states(this.approvals.history(HISTORY_PAGE_SIZE))}`;
  }

  private check(): void {
    try {
      const now = this.current();
      if (now === this.fingerprint) return;
      this.fingerprint = now;
      for (const listener of this.listeners) listener();
    } catch (error) {
      this.onError(error); // the database is busy or gone: try again next time
    }
  }
}

/** One `event:` with `html` as its data (one `data:` line per line). */
export function serverSentEvent(event: string, fragment: SafeHtml): string {
  const data = fragment.text
    .split("\n")
    .map((line) => `data: ${line}`)
    .join("\n");
  return `event: ${event}\n${data}\n\n`;
}

class EventStream {
  private readonly timers: NodeJS.Timeout[] = [];
  private ended = false;

  constructor(
    private readonly raw: ServerResponse,
    private readonly onEnd: () => void,
  ) {
    this.timers.push(setInterval(() => this.write(": keep-alive\n\n"), HEARTBEAT_MS));
    this.timers.push(setTimeout(() => this.end(), STREAM_MAX_MS));
    raw.on("close", () => this.end());
  }

  write(text: string): void {
    if (!this.ended) this.raw.write(text);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.onEnd();
    this.raw.end();
  }
}

function openStream(reply: FastifyReply): ServerResponse {
  reply.hijack();
  for (const [name, value] of Object.entries(reply.getHeaders()))
    if (value !== undefined)
      reply.raw.setHeader(name, typeof value === "number" ? String(value) : value);
  reply.raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-accel-buffering": "no",
  });
  reply.raw.write(`retry: ${RECONNECT_MS}\n\n`);
  return reply.raw;
}

export function registerApprovalEvents(app: FastifyInstance, deps: ViewerDependencies): void {
  const feed = new ApprovalsFeed(deps.approvals, (error) =>
    deps.audit.error("viewer: approvals feed failed", { reason: String(error) }),
  );
  const streams = new Set<EventStream>();
  const snapshot = (viewer: Viewer) => {
    const now = deps.now();
    return (
      serverSentEvent("pending", pendingList(deps.approvals.pending(), viewer, now)) +
      serverSentEvent("history", historyTable(deps.approvals.history(HISTORY_PAGE_SIZE)))
    );
  };

  app.get("/approvals/events", async (request, reply) => {
    const viewer = requireRole(request, "approver");
    const first = snapshot(viewer);
    const raw = openStream(reply);
    let unsubscribe = () => {};
    const stream = new EventStream(raw, () => {
      unsubscribe();
      streams.delete(stream);
    });
    streams.add(stream);
    stream.write(first);
    unsubscribe = feed.subscribe(() => stream.write(snapshot(viewer)));
  });

  app.addHook("preClose", async () => {
    for (const stream of streams) stream.end();
    feed.close();
  });
}
