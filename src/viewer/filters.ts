// The sessions page's query string: what it may hold (user, target, from,
// to, decision, q, page), how it becomes an IndexReader filter (a
// non-auditor's filter is always pinned to their own user) and how a page
// link keeps the other values (GET forms: every page is bookmarkable). Times
// are UTC (`YYYY-MM-DDTHH:MM` as a datetime-local field sends them).

import type { SessionFilter } from "../store/index.js";
import { ViewerRefusal } from "./refusal.js";
import type { Viewer } from "./roles.js";

export const PAGE_SIZE = 50;
export const DECISIONS = ["allow", "warn", "approve", "deny"] as const;
const MAX_TEXT = 200;
const MAX_PAGE = 100_000;

export interface SessionQuery {
  readonly user: string;
  readonly target: string;
  readonly from: string;
  readonly to: string;
  readonly decision: string;
  readonly q: string;
  readonly page: number;
}

const FIELDS = ["user", "target", "from", "to", "decision", "q"] as const;

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

/** `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`, read as UTC; 400 otherwise. */
export function parseUtc(value: string, field: string): Date {
  const match = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/.exec(value);
  const date = match === null ? undefined : new Date(`${value}${match[1] ? "" : "T00:00"}Z`);
  if (date === undefined || Number.isNaN(date.getTime()))
    throw new ViewerRefusal(400, `${field} must be a UTC time such as 2025-01-31T09:30`);
  return date;
}

export function parseSessionQuery(query: Record<string, unknown>): SessionQuery {
  const decision = text(query.decision);
  if (decision !== "" && !(DECISIONS as readonly string[]).includes(decision))
    throw new ViewerRefusal(400, `decision must be one of ${DECISIONS.join(", ")}`);
  const parsed = {
    user: text(query.user),
    target: text(query.target),
    from: text(query.from),
    to: text(query.to),
    decision,
    q: text(query.q),
    page: pageNumber(query.page),
  };
  if (parsed.from !== "") parseUtc(parsed.from, "from");
  if (parsed.to !== "") parseUtc(parsed.to, "to");
  return parsed;
}

/** The index filter for this viewer: auditors filter freely, others only within their own sessions. */
export function indexFilter(query: SessionQuery, viewer: Viewer, limit: number): SessionFilter {
  const user = viewer.roles.auditor ? query.user : viewer.user;
  return {
    ...(user === "" ? {} : { user }),
    ...(query.target === "" ? {} : { target: query.target }),
    ...(query.from === "" ? {} : { since: parseUtc(query.from, "from") }),
    ...(query.to === "" ? {} : { until: parseUtc(query.to, "to") }),
    ...(query.decision === "" ? {} : { decision: query.decision }),
    ...(query.q === "" ? {} : { text: query.q }),
    limit,
    offset: (query.page - 1) * PAGE_SIZE,
  };
}

/** The query string of `query` at another page (empty fields left out). */
export function queryString(query: SessionQuery, page: number): string {
  const params = new URLSearchParams();
  for (const field of FIELDS) if (query[field] !== "") params.set(field, query[field]);
  if (page > 1) params.set("page", String(page));
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

export function hasFilters(query: SessionQuery): boolean {
  return FIELDS.some((field) => query[field] !== "");
}
