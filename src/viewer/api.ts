// The JSON API under /api/: the same data and the same access rules as the
// pages (a non-auditor sees only their own sessions; another person's
// session is a 404). A session's file transfers, file operations and
// tunnels come with its commands, each event's fields as audited. Signals
// are for auditors: `/api/signals` (403 for others), and a session's risk
// score, signal count and signals only in an auditor's answers. Read-only,
// so no CSRF token is involved; refusals are `{error, message}`.

import type { FastifyInstance } from "fastify";
import type { CommandRow, SessionSummary, SignalRow, TransferRow } from "../store/index.js";
import { signalJson as storedSignalJson } from "../store/json.js";
import { visibleSession } from "./access.js";
import { castUrl } from "./cast-route.js";
import type { ViewerDependencies } from "./context.js";
import { parseSessionQuery, parseSignalQuery } from "./filters.js";
import { requireRole, requireViewer } from "./guard.js";
import type { Viewer } from "./roles.js";
import { findSessions } from "./sessions-page.js";
import { findSignals, signalUrl } from "./signals-page.js";

/** An auditor's view of a session's signals: the peak decayed score and how many. */
function riskJson(session: SessionSummary, viewer: Viewer) {
  return viewer.roles.auditor ? { risk_score: session.riskScore, signals: session.signals } : {};
}

function sessionJson(session: SessionSummary, viewer: Viewer) {
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
    ...riskJson(session, viewer),
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

/** A signal as the CLI's `--json` gives it, with the link that opens its session at it. */
export function signalJson(signal: SignalRow) {
  return { ...storedSignalJson(signal), url: signalUrl(signal) ?? null };
}

export function registerApi(app: FastifyInstance, deps: ViewerDependencies): void {
  app.get("/api/sessions", async (request) => {
    const viewer = requireViewer(request);
    const query = parseSessionQuery(request.query as Record<string, unknown>);
    const page = findSessions(deps, viewer, query);
    return {
      page: query.page,
      has_next: page.hasNext,
      sessions: page.sessions.map((session) => sessionJson(session, viewer)),
    };
  });
  app.get<{ Params: { id: string } }>("/api/sessions/:id", async (request) => {
    const found = visibleSession(deps, request, request.params.id);
    const { viewer, session, commands, transfers, signals } = found;
    return {
      session: sessionJson(session, viewer),
      commands: commands.map(commandJson),
      transfers: transfers.map(transferJson),
      ...(viewer.roles.auditor ? { signals: signals.map(signalJson) } : {}),
    };
  });
  app.get("/api/signals", async (request) => {
    requireRole(request, "auditor");
    const query = parseSignalQuery(request.query as Record<string, unknown>);
    const page = findSignals(deps, query);
    return { page: query.page, has_next: page.hasNext, signals: page.signals.map(signalJson) };
  });
}
