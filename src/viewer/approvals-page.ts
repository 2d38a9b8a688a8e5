// `GET /approvals` and `POST /approvals/:id/decide` (approvers only): the
// pending requests with a decision form each, and the history of decided
// ones, paged. A decision goes through the approvals service exactly as the
// CLI's and the SSH console's do (`decide(…, "web")`): the service applies
// the rules (no self-approval, listed approvers only, quorum) and audits the
// vote with `via: "web"`; a refusal comes back as the page with the reason.
// Plain forms work without JavaScript; viewer.js adds the live updates
// (approvals-events.ts).

import type { FastifyInstance, FastifyReply } from "fastify";
import { ApprovalError, type ApprovalKind, type ApprovalVerdict } from "../approvals/index.js";
import { HISTORY_PAGE_SIZE, registerApprovalEvents } from "./approvals-events.js";
import {
  COMMENT_MAX_LENGTH,
  historyTable,
  pendingList,
  principalOf,
  refusalText,
} from "./approvals-view.js";
import type { ViewerDependencies } from "./context.js";
import { requireRole, stateChanging } from "./guard.js";
import { html, type SafeHtml } from "./html.js";
import { layout } from "./layout.js";
import { ViewerRefusal } from "./refusal.js";
import type { Viewer } from "./roles.js";
import { VIEWER_SCRIPT } from "./static-assets.js";

export const APPROVALS_PATH = "/approvals";
const MAX_PAGE = 10_000;
/** What an approval lets the requester do now, per kind. */
const APPROVED_NOW: Readonly<Record<ApprovalKind, string>> = {
  command: "command runs now",
  session: "session may start",
  file_transfer: "file transfers may start",
};

interface Notice {
  readonly kind: "done" | "refused";
  readonly text: string;
}

const REFUSAL_STATUS: Readonly<Record<string, number>> = {
  ERR_APPROVAL_NOT_FOUND: 404,
  ERR_APPROVAL_NOT_PENDING: 409,
  ERR_APPROVAL_EXPIRED: 409,
};

function pageNumber(value: unknown): number {
  const page = Number(value);
  return Number.isInteger(page) && page > 0 && page <= MAX_PAGE ? page : 0;
}

function pager(page: number, hasOlder: boolean): SafeHtml {
  const link = (to: number, label: string, rel: string) =>
    html`<a href="${APPROVALS_PATH}?page=${to}#history-h" rel="${rel}">${label}</a>`;
  return html`<nav class="pager" aria-label="History pages">
${page > 0 ? link(page - 1, "← Newer", "prev") : ""}
${hasOlder ? link(page + 1, "Older →", "next") : ""}
</nav>`;
}

function noticeBlock(notice: Notice | undefined): SafeHtml | string {
  if (notice === undefined) return "";
  return notice.kind === "refused"
    ? html`<p class="notice refused" role="alert">${notice.text}</p>`
    : html`<p class="notice done" role="status">${notice.text}</p>`;
}

function renderPage(
  deps: ViewerDependencies,
  viewer: Viewer,
  page: number,
  notice?: Notice,
): string {
  const now = deps.now();
  const pending = deps.approvals.pending();
  const decided = deps.approvals.history(HISTORY_PAGE_SIZE + 1, page * HISTORY_PAGE_SIZE);
  const hasOlder = decided.length > HISTORY_PAGE_SIZE;
  return layout({
    title: "Approvals",
    viewer,
    current: APPROVALS_PATH,
    scripts: [VIEWER_SCRIPT],
    main: html`<h1>Approvals</h1>
${noticeBlock(notice)}
<section aria-labelledby="pending-h" class="approvals" data-live-approvals="${APPROVALS_PATH}/events">
<h2 id="pending-h">Pending <span class="count" id="pending-count">${pending.length}</span></h2>
<p class="live-status" id="live-status" role="status" aria-live="polite"></p>
<div id="pending-list">${pendingList(pending, viewer, now)}</div>
</section>
<section aria-labelledby="history-h">
<h2 id="history-h">History</h2>
<div id="history-list"${page === 0 ? html` data-live="true"` : ""}>${historyTable(decided.slice(0, HISTORY_PAGE_SIZE))}</div>
${pager(page, hasOlder)}
</section>`,
  });
}

function verdictOf(value: unknown): ApprovalVerdict {
  if (value === "approve" || value === "deny") return value;
  throw new ViewerRefusal(400, "Choose Approve or Deny.");
}

function commentOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length > COMMENT_MAX_LENGTH)
    throw new ViewerRefusal(400, `A comment is text of at most ${COMMENT_MAX_LENGTH} characters.`);
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

function decidedText(deps: ViewerDependencies, id: string, verdict: ApprovalVerdict): string {
  const request = deps.approvals.get(id);
  if (request === undefined || request.status === "pending") {
    const approved = request?.votes.filter((vote) => vote.verdict === "approve").length ?? 0;
    return `Your approval of ${id} is recorded (${approved} of ${request?.quorum ?? "?"}); it waits for more approvers.`;
  }
  return verdict === "approve" && request.status === "approved"
    ? `Approved ${id}: the requester's ${APPROVED_NOW[request.kind]}.`
    : `${id} is ${request.status}.`;
}

function sendPage(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.status(status).type("text/html; charset=utf-8").send(body);
}

export function registerApprovalsPage(app: FastifyInstance, deps: ViewerDependencies): void {
  app.get<{ Querystring: { page?: string; done?: string; verdict?: string } }>(
    APPROVALS_PATH,
    async (request, reply) => {
      const viewer = requireRole(request, "approver");
      const { done, verdict } = request.query;
      const notice: Notice | undefined =
        typeof done === "string" && (verdict === "approve" || verdict === "deny")
          ? { kind: "done", text: decidedText(deps, done, verdict) }
          : undefined;
      return sendPage(reply, 200, renderPage(deps, viewer, pageNumber(request.query.page), notice));
    },
  );

  app.post<{ Params: { id: string }; Body: { verdict?: unknown; comment?: unknown } }>(
    `${APPROVALS_PATH}/:id/decide`,
    { preHandler: stateChanging(app) },
    async (request, reply) => {
      const viewer = requireRole(request, "approver");
      const verdict = verdictOf(request.body?.verdict);
      const comment = commentOf(request.body?.comment);
      const { id } = request.params;
      try {
        deps.approvals.decide(id, principalOf(viewer), verdict, comment, "web");
      } catch (error) {
        if (!(error instanceof ApprovalError)) throw error;
        const text = refusalText(error, deps.approvals.get(id));
        const status = REFUSAL_STATUS[error.code] ?? 403;
        return sendPage(reply, status, renderPage(deps, viewer, 0, { kind: "refused", text }));
      }
      const query = new URLSearchParams({ done: id, verdict });
      return reply.redirect(`${APPROVALS_PATH}?${query}`, 303);
    },
  );

  registerApprovalEvents(app, deps);
}
