// `GET /sessions`: the sessions a viewer may see, newest first, with the
// filter form (a GET form: the query string is the whole state) and paging
// by previous/next links. One extra row is read to know whether there is a
// next page (no COUNT over 100,000 rows).

import type { FastifyInstance } from "fastify";
import type { SessionSummary } from "../store/index.js";
import type { ViewerDependencies } from "./context.js";
import {
  DECISIONS,
  hasFilters,
  indexFilter,
  PAGE_SIZE,
  parseSessionQuery,
  queryString,
  type SessionQuery,
} from "./filters.js";
import { risk, sessionDuration, utcTime } from "./format.js";
import { requireViewer } from "./guard.js";
import { html, type SafeHtml } from "./html.js";
import { layout } from "./layout.js";
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

function field(name: string, label: string, value: string, type = "text"): SafeHtml {
  return html`<div class="field"><label for="f-${name}">${label}</label>
<input id="f-${name}" name="${name}" type="${type}" value="${value}"${type === "search" ? html` placeholder="part of a command line"` : ""}></div>`;
}

function decisionField(selected: string): SafeHtml {
  const options = ["", ...DECISIONS].map(
    (decision) =>
      html`<option value="${decision}"${decision === selected ? html` selected` : ""}>${decision === "" ? "any" : decision}</option>`,
  );
  return html`<div class="field"><label for="f-decision">Has a command</label>
<select id="f-decision" name="decision">${options}</select></div>`;
}

function filterForm(query: SessionQuery, viewer: Viewer): SafeHtml {
  return html`<form class="filters" method="get" action="/sessions" role="search" aria-label="Filter sessions">
${viewer.roles.auditor ? field("user", "User", query.user) : ""}
${field("target", "Target", query.target)}
${field("from", "From (UTC)", query.from, "datetime-local")}
${field("to", "Until (UTC)", query.to, "datetime-local")}
${decisionField(query.decision)}
${field("q", "Command text", query.q, "search")}
<div class="actions"><button type="submit">Filter</button>
${hasFilters(query) ? html`<a href="/sessions">Clear</a>` : ""}</div>
</form>`;
}

function sessionRow(session: SessionSummary): SafeHtml {
  const href = `/sessions/${encodeURIComponent(session.id)}`;
  return html`<tr>
<td><a href="${href}">${utcTime(session.startedAt)}</a></td>
<td>${session.user ?? "–"}</td>
<td>${session.target ?? "–"}</td>
<td>${session.login ?? "–"}</td>
<td>${sessionDuration(session.startedAt, session.endedAt)}</td>
<td class="num">${session.commands}</td>
<td class="num${session.denials > 0 ? " alert" : ""}">${session.denials}</td>
<td class="num">${risk(session.maxRisk)}</td>
</tr>`;
}

function table(page: SessionsPage): SafeHtml {
  if (page.sessions.length === 0) return html`<p class="empty">No sessions match.</p>`;
  return html`<table class="sessions">
<caption class="visually-hidden">Sessions, newest first</caption>
<thead><tr><th scope="col">Start</th><th scope="col">User</th><th scope="col">Target</th><th scope="col">Login</th><th scope="col">Duration</th><th scope="col" class="num">Commands</th><th scope="col" class="num">Denials</th><th scope="col" class="num">Risk</th></tr></thead>
<tbody>${page.sessions.map(sessionRow)}</tbody>
</table>`;
}

function pager(query: SessionQuery, page: SessionsPage): SafeHtml {
  const previous =
    query.page > 1
      ? html`<a rel="prev" href="/sessions${queryString(query, query.page - 1)}">← Newer</a>`
      : "";
  const next = page.hasNext
    ? html`<a rel="next" href="/sessions${queryString(query, query.page + 1)}">Older →</a>`
    : "";
  return html`<nav class="pager" aria-label="Pages">${previous}<span>Page ${query.page}</span>${next}</nav>`;
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
${table(page)}
${pager(query, page)}`,
      }),
    );
  });
}
