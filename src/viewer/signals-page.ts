// `GET /signals` (auditors only): the insider-threat signals the index holds
// (`signal` audit events), newest first, with the filter form (user, rule,
// source, minimum score, time range; a GET form, the query string is the
// whole state) and paging by previous/next links (one extra row read, no
// COUNT). Each row links to its session's page opened at the signal
// (`?at=` ms into the session). A signal's reason and evidence are rendered
// here for the session page's signal list too.

import type { FastifyInstance } from "fastify";
import type { SignalRow } from "../store/index.js";
import { riskThreshold, type ViewerDependencies } from "./context.js";
import {
  hasFilters,
  PAGE_SIZE,
  parseSignalQuery,
  SIGNAL_SOURCES,
  type SignalQuery,
  signalFilter,
} from "./filters.js";
import { offset, score, utcTime } from "./format.js";
import { requireRole } from "./guard.js";
import { html, type SafeHtml } from "./html.js";
import { layout } from "./layout.js";
import { field, pager, riskBadge, selectField } from "./list-parts.js";

export interface SignalsPage {
  readonly signals: readonly SignalRow[];
  readonly hasNext: boolean;
}

/** One page of signals for this query. */
export function findSignals(deps: ViewerDependencies, query: SignalQuery): SignalsPage {
  const rows = deps.index.listSignals(signalFilter(query, PAGE_SIZE + 1));
  return { signals: rows.slice(0, PAGE_SIZE), hasNext: rows.length > PAGE_SIZE };
}

/** The session page opened at the signal; undefined for a signal outside any session. */
export function signalUrl(signal: SignalRow): string | undefined {
  if (signal.session === undefined) return undefined;
  return `/sessions/${encodeURIComponent(signal.session)}?at=${signal.offsetMs}#player`;
}

function evidenceValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(", ");
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

/** The reason, and the evidence behind it folded under it (no script needed). */
export function signalReason(signal: SignalRow): SafeHtml {
  const entries = Object.entries(signal.evidence);
  if (entries.length === 0) return html`${signal.reason}`;
  return html`${signal.reason}
<details class="evidence"><summary>Evidence</summary><dl>${entries.map(
    ([name, value]) => html`<dt>${name}</dt><dd>${evidenceValue(value)}</dd>`,
  )}</dl></details>`;
}

function filterForm(query: SignalQuery): SafeHtml {
  return html`<form class="filters" method="get" action="/signals" role="search" aria-label="Filter signals">
${field("user", "User", query.user)}
${field("rule", "Rule", query.rule)}
${selectField("source", "Source", SIGNAL_SOURCES, query.source)}
${field("min_score", "Min score", query.min_score, { type: "number" })}
${field("from", "From (UTC)", query.from, { type: "datetime-local" })}
${field("to", "Until (UTC)", query.to, { type: "datetime-local" })}
<div class="actions"><button type="submit">Filter</button>
${hasFilters(query) ? html`<a href="/signals">Clear</a>` : ""}</div>
</form>`;
}

function sessionLink(signal: SignalRow): SafeHtml {
  const url = signalUrl(signal);
  if (url === undefined) return html`–`;
  return html`<a class="open-session" href="${url}">${offset(signal.offsetMs)}<span class="visually-hidden"> into session ${signal.session}</span></a>`;
}

function signalRow(signal: SignalRow, threshold: number): SafeHtml {
  return html`<tr data-seq="${signal.seq}">
<td>${utcTime(signal.time)}</td>
<td>${signal.user ?? "–"}</td>
<td>${signal.target ?? "–"}</td>
<td><code>${signal.rule}</code></td>
<td>${signal.source}</td>
<td class="num">${score(signal.score)}</td>
<td class="num">${riskBadge(signal.sessionScore, threshold)}</td>
<td>${signalReason(signal)}</td>
<td>${signal.action ?? "–"}</td>
<td class="num">${sessionLink(signal)}</td>
</tr>`;
}

function table(page: SignalsPage, threshold: number): SafeHtml {
  if (page.signals.length === 0) return html`<p class="empty">No signals match.</p>`;
  return html`<table class="signals">
<caption class="visually-hidden">Signals, newest first</caption>
<thead><tr><th scope="col">Time</th><th scope="col">User</th><th scope="col">Target</th><th scope="col">Rule</th><th scope="col">Source</th><th scope="col" class="num">Score</th><th scope="col" class="num">Session score</th><th scope="col">Reason</th><th scope="col">Action</th><th scope="col" class="num">Replay</th></tr></thead>
<tbody>${page.signals.map((signal) => signalRow(signal, threshold))}</tbody>
</table>`;
}

export function registerSignalsPage(app: FastifyInstance, deps: ViewerDependencies): void {
  app.get("/signals", async (request, reply) => {
    const viewer = requireRole(request, "auditor");
    const query = parseSignalQuery(request.query as Record<string, unknown>);
    const page = findSignals(deps, query);
    return reply.type("text/html; charset=utf-8").send(
      layout({
        title: "Signals",
        viewer,
        current: "/signals",
        main: html`<h1>Signals</h1>
${filterForm(query)}
${table(page, riskThreshold(deps.settings))}
${pager("/signals", query, page.hasNext)}`,
      }),
    );
  });
}
