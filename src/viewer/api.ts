// The JSON API under /api/: the same data and the same access rules as the
// pages (a non-auditor sees only their own sessions; another person's
// session is a 404). A session's file transfers, file operations and
// tunnels come with its commands, each event's fields as audited. Read-only, so no CSRF token is involved; refusals are
// `{error, message}`.

import type { FastifyInstance } from "fastify";
import type { CommandRow, SessionSummary, TransferRow } from "../store/index.js";
import { visibleSession } from "./access.js";
import { castUrl } from "./cast-route.js";
import type { ViewerDependencies } from "./context.js";
import { parseSessionQuery } from "./filters.js";
import { requireViewer } from "./guard.js";
import { findSessions } from "./sessions-page.js";

function sessionJson(session: SessionSummary) {
  return {
    id: session.id,
    user: session.user ?? null,
    groups: session.groups,
    source_ip: session.sourceIp ?? null,
    target: session.target ?? null,
    login: session.login ?? null,
    access: session.access ?? null,
    started_at: session.startedAt.toISOString(),
    ended_at: session.endedAt?.toISOString() ?? null,
    end_reason: session.endReason ?? null,
    commands: session.commands,
    denials: session.denials,
    max_risk: session.maxRisk,
    masked: session.masked,
    recordings: session.recordings.map((row) => ({
      id: row.id,
      status: row.status,
      started_at: row.startedAt.toISOString(),
      width: row.width ?? null,
      height: row.height ?? null,
      pruned: row.prunedAt !== undefined,
      url: row.prunedAt === undefined ? castUrl(session.id, row.id) : null,
    })),
  };
}

function commandJson(command: CommandRow) {
  return {
    time: command.time.toISOString(),
    offset_ms: command.offsetMs,
    line: command.line,
    decision: command.decision,
    rule: command.rule ?? null,
    reason: command.reason ?? null,
    risk: command.risk ?? null,
  };
}

/** A `file.transfer`, `file.op`, `tunnel.open` or `tunnel.close` event; absent fields left out. */
export function transferJson(transfer: TransferRow) {
  const optional: Record<string, unknown> = {
    direction: transfer.direction,
    op: transfer.op,
    path: transfer.path,
    to: transfer.to,
    bytes: transfer.bytes,
    result: transfer.result,
    reason: transfer.reason,
    rule: transfer.rule,
    via: transfer.via,
    tunnel: transfer.tunnel,
    kind: transfer.kind,
    destination: transfer.destination,
    decision: transfer.decision,
    bytes_to_target: transfer.bytesToTarget,
    bytes_from_target: transfer.bytesFromTarget,
    error: transfer.error,
  };
  return {
    event: transfer.event,
    time: transfer.time.toISOString(),
    offset_ms: transfer.offsetMs,
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
  };
}

export function registerApi(app: FastifyInstance, deps: ViewerDependencies): void {
  app.get("/api/sessions", async (request) => {
    const viewer = requireViewer(request);
    const query = parseSessionQuery(request.query as Record<string, unknown>);
    const page = findSessions(deps, viewer, query);
    return {
      page: query.page,
      has_next: page.hasNext,
      sessions: page.sessions.map(sessionJson),
    };
  });
  app.get<{ Params: { id: string } }>("/api/sessions/:id", async (request) => {
    const { session, commands, transfers } = visibleSession(deps, request, request.params.id);
    return {
      session: sessionJson(session),
      commands: commands.map(commandJson),
      transfers: transfers.map(transferJson),
    };
  });
}
