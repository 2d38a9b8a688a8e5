// Pieces the list pages (sessions, signals) share: labelled filter fields,
// the "Newer/Older" pager that keeps the query string, and a risk score with
// its level against the alert threshold (told in words too, not by colour
// alone).

import { type ListQuery, queryString } from "./filters.js";
import { type RiskLevel, riskLevel, score } from "./format.js";
import { html, type SafeHtml } from "./html.js";

export interface FieldOptions {
  readonly type?: "text" | "search" | "datetime-local" | "number";
  readonly placeholder?: string;
}

export function field(
  name: string,
  label: string,
  value: string,
  { type = "text", placeholder }: FieldOptions = {},
): SafeHtml {
  const number = type === "number" ? html` min="0" step="any" inputmode="decimal"` : "";
  const hint = placeholder === undefined ? "" : html` placeholder="${placeholder}"`;
  return html`<div class="field"><label for="f-${name}">${label}</label>
<input id="f-${name}" name="${name}" type="${type}" value="${value}"${number}${hint}></div>`;
}

/** A select with "any" (empty) first. */
export function selectField(
  name: string,
  label: string,
  values: readonly string[],
  selected: string,
): SafeHtml {
  const options = ["", ...values].map(
    (value) =>
      html`<option value="${value}"${value === selected ? html` selected` : ""}>${value === "" ? "any" : value}</option>`,
  );
  return html`<div class="field"><label for="f-${name}">${label}</label>
<select id="f-${name}" name="${name}">${options}</select></div>`;
}

/** Newer/Older links of a list at `path`, keeping the query's filters. */
export function pager<Field extends string>(
  path: string,
  query: ListQuery<Field>,
  hasNext: boolean,
): SafeHtml {
  const previous =
    query.page > 1
      ? html`<a rel="prev" href="${path}${queryString(query, query.page - 1)}">← Newer</a>`
      : "";
  const next = hasNext
    ? html`<a rel="next" href="${path}${queryString(query, query.page + 1)}">Older →</a>`
    : "";
  return html`<nav class="pager" aria-label="Pages">${previous}<span>Page ${query.page}</span>${next}</nav>`;
}

const LEVEL_TEXT: Readonly<Record<RiskLevel, string>> = {
  none: "no signals",
  low: "low",
  raised: "raised: at least half the alert threshold",
  high: "high: at or above the alert threshold",
};

/** A risk score with its level as a class and in words (for screen readers and the tooltip). */
export function riskBadge(value: number, threshold: number): SafeHtml {
  const level = riskLevel(value, threshold);
  const words = `${LEVEL_TEXT[level]}; alert threshold ${threshold}`;
  return html`<span class="risk ${level}" data-level="${level}" title="${words}">${score(value)}<span class="visually-hidden"> (${LEVEL_TEXT[level]})</span></span>`;
}
