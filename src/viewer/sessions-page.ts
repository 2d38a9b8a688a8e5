// `GET /sessions`: the sessions a viewer may see, newest first, with the
// filter form (a GET form: the query string is the whole state) and paging
// by previous/next links. Auditors also get each session's signal count and
// risk score (levelled against the alert threshold) and a minimum-risk
// filter. One extra row is read to know whether there is a
// next page (no COUNT over 100,000 rows).

import type { FastifyInstance } from "fastify";
import type { SessionSummary } from "../store/index.js";
import { riskThreshold, type ViewerDependencies } from "./context.js";
import {
  DECISIONS,
  hasFilters,
  indexFilter,
  PAGE_SIZE,
  parseSessionQuery,
  type SessionQuery,
} from "./filters.js";
import { sessionDuration, utcTime } from "./format.js";
import { requireViewer } from "./guard.js";
import { html, type SafeHtml } from "./html.js";
import { layout } from "./layout.js";
import { field, pager, riskBadge, selectField } from "./list-parts.js";
import type { Viewer } from "./roles.js";

export interface SessionsPage {
  readonly sessions: readonly SessionSummary[];
  readonly hasNext: boolean;
}

/** One page of sessions for this viewer and query. */
export function findSessions(
  deps: ViewerDependencies,
  viewer: Viewer,
  query: SessionQuery,
): SessionsPage {
  const rows = deps.index.listSessions(indexFilter(query, viewer, PAGE_SIZE + 1));
  return { sessions: rows.slice(0, PAGE_SIZE), hasNext: rows.length > PAGE_SIZE };
}

function filterForm(query: SessionQuery, viewer: Viewer): SafeHtml {
  const { auditor } = viewer.roles;
  return html`<form class="filters" method="get" action="/sessions" role="search" aria-label="Filter sessions">
${auditor ? field("user", "User", query.user) : ""}
${field("target", "Target", query.target)}
${field("from", "From (UTC)", query.from, { type: "datetime-local" })}
${field("to", "Until (UTC)", query.to, { type: "datetime-local" })}
${selectField("decision", "Has a command", DECISIONS, query.decision)}
${field("q", "Command text", query.q, { type: "search", placeholder: "part of a command line" })}
${auditor ? field("min_risk", "Min risk", query.min_risk, { type: "number" }) : ""}
<div class="actions"><button type="submit">Filter</button>
${hasFilters(query) ? html`<a href="/sessions">Clear</a>` : ""}</div>
</form>`;
}

/** The risk score and signal count cells (auditors only: signals are theirs to see). */
function riskCells(session: SessionSummary, threshold: number | undefined): SafeHtml | "" {
  if (threshold === undefined) return "";
  return html`<td class="num">${session.signals}</td>
<td class="num">${riskBadge(session.riskScore, threshold)}</td>`;
}

function sessionRow(session: SessionSummary, threshold: number | undefined): SafeHtml {
  const href = `/sessions/${encodeURIComponent(session.id)}`;
  return html`<tr>
<td><a href="${href}">${utcTime(session.startedAt)}</a></td>
<td>${session.user ?? "–"}</td>
<td>${session.target ?? "–"}</td>
<td>${session.login ?? "–"}</td>
<td>${sessionDuration(session.startedAt, session.endedAt)}</td>
<td class="num">${session.commands}</td>
<td class="num${session.denials > 0 ? " alert" : ""}">${session.denials}</td>
${riskCells(session, threshold)}
</tr>`;
}

function table(page: SessionsPage, threshold: number | undefined): SafeHtml {
  if (page.sessions.length === 0) return html`<p class="empty">No sessions match.</p>`;
  const riskHeads =
    threshold === undefined
      ? ""
      : html`<th scope="col" class="num">Signals</th><th scope="col" class="num">Risk</th>`;
  return html`<table class="sessions">
<caption class="visually-hidden">Sessions, newest first</caption>
<thead><tr><th scope="col">Start</th><th scope="col">User</th><th scope="col">Target</th><th scope="col">Login</th><th scope="col">Duration</th><th scope="col" class="num">Commands</th><th scope="col" class="num">Denials</th>${riskHeads}</tr></thead>
<tbody>${page.sessions.map((session) => sessionRow(session, threshold))}</tbody>
</table>`;
}

export function registerSessionsPage(app: FastifyInstance, deps: ViewerDependencies): void {
  app.get("/sessions", async (request, reply) => {
    const viewer = requireViewer(request);
    const query = parseSessionQuery(request.query as Record<string, unknown>);
    const page = findSessions(deps, viewer, query);
    const heading = viewer.roles.auditor ? "Sessions" : "Your sessions";
    return reply.type("text/html; charset=utf-8").send(
      layout({
        title: heading,
        viewer,
        current: "/sessions",
        main: html`<h1>${heading}</h1>
${filterForm(query, viewer)}
${table(page, viewer.roles.auditor ? riskThreshold(deps.settings) : undefined)}
${pager("/sessions", query, page.hasNext)}`,
      }),
    );
  });
}
