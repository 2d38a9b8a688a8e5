// The list pages' query strings: the sessions page's (user, target, from,
// to, decision, q, min_risk, page) and the signals page's (user, rule,
// source, min_score, from, to, page). What they may hold, how each becomes an
// index filter (a non-auditor's session filter is always pinned to their own
// user and has no risk filter) and how a page link keeps the other values
// (GET forms: every page is bookmarkable). Times are UTC (`YYYY-MM-DDTHH:MM`
// as a datetime-local field sends them).

import type { SessionFilter, SignalFilter } from "../store/index.js";
import { ViewerRefusal } from "./refusal.js";
import type { Viewer } from "./roles.js";

export const PAGE_SIZE = 50;
export const DECISIONS = ["allow", "warn", "approve", "deny"] as const;
export const SIGNAL_SOURCES = ["policy", "behaviour", "integrity"] as const;
const MAX_TEXT = 200;
const MAX_PAGE = 100_000;

const SESSION_FIELDS = ["user", "target", "from", "to", "decision", "q", "min_risk"] as const;
const SIGNAL_FIELDS = ["user", "rule", "source", "min_score", "from", "to"] as const;

/** A list page's query: its fields by their query-string names (as given, trimmed), and the page. */
export type ListQuery<Field extends string> = Readonly<Record<Field, string>> & {
  readonly page: number;
};
export type SessionQuery = ListQuery<(typeof SESSION_FIELDS)[number]>;
export type SignalQuery = ListQuery<(typeof SIGNAL_FIELDS)[number]>;

function text(value: unknown): string {
  return typeof value === "string" ? value.trim().slice(0, MAX_TEXT) : "";
}

function pageNumber(value: unknown): number {
  if (value === undefined || value === "") return 1;
  const page = Number(value);
  if (!Number.isInteger(page) || page < 1 || page > MAX_PAGE)
    throw new ViewerRefusal(400, "page must be a whole number from 1");
  return page;
}

function readFields<Field extends string>(
  fields: readonly Field[],
  query: Record<string, unknown>,
): ListQuery<Field> {
  const values = Object.fromEntries(fields.map((field) => [field, text(query[field])]));
  return { ...(values as Record<Field, string>), page: pageNumber(query.page) };
}

function checkOneOf(value: string, allowed: readonly string[], field: string): void {
  if (value !== "" && !allowed.includes(value))
    throw new ViewerRefusal(400, `${field} must be one of ${allowed.join(", ")}`);
}

/** `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`, read as UTC; 400 otherwise. */
export function parseUtc(value: string, field: string): Date {
  const match = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/.exec(value);
  const date = match === null ? undefined : new Date(`${value}${match[1] ? "" : "T00:00"}Z`);
  if (date === undefined || Number.isNaN(date.getTime()))
    throw new ViewerRefusal(400, `${field} must be a UTC time such as 2025-01-31T09:30`);
  return date;
}

/** A `min_…` field: undefined when empty, else a number from 0 (400 otherwise). */
function minimum(value: string, field: string): number | undefined {
  if (value === "") return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0)
    throw new ViewerRefusal(400, `${field} must be a number from 0`);
  return number;
}

/** The `from`/`to` fields as the index's `since`/`until`. */
function timeRange(query: { readonly from: string; readonly to: string }) {
  return {
    ...(query.from === "" ? {} : { since: parseUtc(query.from, "from") }),
    ...(query.to === "" ? {} : { until: parseUtc(query.to, "to") }),
  };
}

function paging(page: number, limit: number) {
  return { limit, offset: (page - 1) * PAGE_SIZE };
}

export function parseSessionQuery(query: Record<string, unknown>): SessionQuery {
  const parsed = readFields(SESSION_FIELDS, query);
  checkOneOf(parsed.decision, DECISIONS, "decision");
  timeRange(parsed);
  minimum(parsed.min_risk, "min_risk");
  return parsed;
}

export function parseSignalQuery(query: Record<string, unknown>): SignalQuery {
  const parsed = readFields(SIGNAL_FIELDS, query);
  checkOneOf(parsed.source, SIGNAL_SOURCES, "source");
  timeRange(parsed);
  minimum(parsed.min_score, "min_score");
  return parsed;
}

/** The index filter for this viewer: auditors filter freely, others only within their own sessions. */
export function indexFilter(query: SessionQuery, viewer: Viewer, limit: number): SessionFilter {
  const { auditor } = viewer.roles;
  const user = auditor ? query.user : viewer.user;
  const minRisk = auditor ? minimum(query.min_risk, "min_risk") : undefined;
  return {
    ...(user === "" ? {} : { user }),
    ...(query.target === "" ? {} : { target: query.target }),
    ...timeRange(query),
    ...(query.decision === "" ? {} : { decision: query.decision }),
    ...(query.q === "" ? {} : { text: query.q }),
    ...(minRisk === undefined ? {} : { minRisk }),
    ...paging(query.page, limit),
  };
}

/** The signals page's index filter (the page is for auditors only). */
export function signalFilter(query: SignalQuery, limit: number): SignalFilter {
  const minScore = minimum(query.min_score, "min_score");
  return {
    ...(query.user === "" ? {} : { user: query.user }),
    ...(query.rule === "" ? {} : { rule: query.rule }),
    ...(query.source === "" ? {} : { source: query.source }),
    ...(minScore === undefined ? {} : { minScore }),
    ...timeRange(query),
    ...paging(query.page, limit),
  };
}

function filledFields<Field extends string>(query: ListQuery<Field>): [string, string][] {
  return Object.entries<string | number>(query).filter(
    (entry): entry is [string, string] => entry[0] !== "page" && entry[1] !== "",
  );
}

/** The query string of `query` at another page (empty fields left out). */
export function queryString<Field extends string>(query: ListQuery<Field>, page: number): string {
  const params = new URLSearchParams(filledFields(query));
  if (page > 1) params.set("page", String(page));
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

export function hasFilters<Field extends string>(query: ListQuery<Field>): boolean {
  return filledFields(query).length > 0;
}
