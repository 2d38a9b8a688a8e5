// The JSON API under /api/: the same data and the same access rules as the
// pages (a non-auditor sees only their own sessions; another person's
// session is a 404). Read-only, so no CSRF token is involved; refusals are
// `{error, message}`.

import type { FastifyInstance } from "fastify";
import type { CommandRow, SessionSummary } from "../store/index.js";
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
    const { session, commands } = visibleSession(deps, request, request.params.id);
    return { session: sessionJson(session), commands: commands.map(commandJson) };
  });
}
