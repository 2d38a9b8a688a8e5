// How the approvals page reads (pure): a pending request as a card (who
// asks, where, what, under which rule, who may decide, the quorum so far,
// time left) with its decision form — buttons disabled, with the reason,
// for a viewer the approval rules would refuse — and the history table of
// decided requests with every vote and comment. The same fragments go to
// the page and, live, down the event stream.

import {
  ApprovalError,
  type ApprovalRequest,
  checkVoter,
  describeApprovers,
  type Principal,
} from "../approvals/index.js";
import { duration, utcTime } from "./format.js";
import { html, type SafeHtml } from "./html.js";
import type { Viewer } from "./roles.js";

export const COMMENT_MAX_LENGTH = 500;

/** One line saying why an approval rule refuses; the service's own message for anything else. */
export function refusalText(error: ApprovalError, request: ApprovalRequest | undefined): string {
  switch (error.code) {
    case "ERR_APPROVAL_SELF":
      return "This is your own request: someone else has to decide it.";
    case "ERR_APPROVAL_NOT_APPROVER":
      return `You are not among this request's approvers (${request === undefined ? "see the rule" : describeApprovers(request.approvers)}).`;
    case "ERR_APPROVAL_ALREADY_VOTED":
      return "You already voted on this request; it waits for other approvers.";
    case "ERR_APPROVAL_NOT_PENDING":
      return `This request is no longer pending (${request?.status ?? "decided"}).`;
    case "ERR_APPROVAL_EXPIRED":
      return "This request has expired.";
    case "ERR_APPROVAL_NOT_FOUND":
      return "There is no such request.";
    default:
      return error.message;
  }
}

export function principalOf(viewer: Viewer): Principal {
  return { user: viewer.user, groups: viewer.groups };
}

/** Why `viewer` may not decide `request` now, or undefined when they may. */
export function whyNot(request: ApprovalRequest, viewer: Viewer, now: Date): string | undefined {
  try {
    checkVoter(request, principalOf(viewer), now);
    return undefined;
  } catch (error) {
    if (error instanceof ApprovalError) return refusalText(error, request);
    throw error;
  }
}

function approvals(request: ApprovalRequest): string[] {
  return request.votes.filter((vote) => vote.verdict === "approve").map((vote) => vote.approver);
}

function quorumText(request: ApprovalRequest): string {
  const approved = approvals(request);
  const who = approved.length === 0 ? "" : ` (${approved.join(", ")})`;
  return `${approved.length} of ${request.quorum} approval${request.quorum === 1 ? "" : "s"}${who}`;
}

function what(request: ApprovalRequest): SafeHtml {
  if (request.kind === "session") return html`a session on <strong>${request.target}</strong>`;
  if (request.kind === "file_transfer")
    return html`file transfer on <strong>${request.target}</strong>: <code>${request.line}</code>`;
  return html`<code>${request.line}</code>`;
}

function where(request: ApprovalRequest): string {
  return `${request.login === undefined ? "" : `${request.login}@`}${request.target}`;
}

/** A stable version of a request's state: the client replaces a card only when it changes. */
export function versionOf(request: ApprovalRequest): string {
  return `${request.status}:${request.votes.length}`;
}

function decisionForm(request: ApprovalRequest, viewer: Viewer, refusal: string | undefined) {
  const why = `why-${request.id}`;
  const disabled = refusal === undefined ? "" : html` disabled aria-describedby="${why}"`;
  return html`<form class="decide" method="post" action="/approvals/${encodeURIComponent(request.id)}/decide">
<input type="hidden" name="_csrf" value="${viewer.csrfToken}">
<div class="field"><label for="comment-${request.id}">Comment</label>
<textarea id="comment-${request.id}" name="comment" rows="2" maxlength="${COMMENT_MAX_LENGTH}"${refusal === undefined ? "" : html` disabled`}></textarea></div>
<div class="actions">
<button type="submit" name="verdict" value="approve" class="approve"${disabled}>Approve</button>
<button type="submit" name="verdict" value="deny" class="deny"${disabled}>Deny</button>
</div>
${refusal === undefined ? "" : html`<p class="refusal" id="${why}">${refusal}</p>`}
</form>`;
}

export function pendingCard(request: ApprovalRequest, viewer: Viewer, now: Date): SafeHtml {
  const leftMs = Math.max(0, request.expires.getTime() - now.getTime());
  const rows: [string, SafeHtml | string][] = [
    [
      "Requester",
      `${request.requester.user} (${request.requester.groups.join(", ") || "no groups"})`,
    ],
    ["Target", where(request)],
    ["Session", request.session],
    ["Rule", request.rule],
    ["Reason", request.reason],
    ...(request.justification === undefined
      ? []
      : ([["Justification", request.justification]] as [string, string][])),
    ["Who may approve", describeApprovers(request.approvers)],
    ["Quorum", quorumText(request)],
    [
      "Time left",
      html`<span class="countdown" data-left-ms="${leftMs}">${duration(leftMs)}</span> (until ${utcTime(request.expires)})`,
    ],
  ];
  return html`<article class="approval" id="approval-${request.id}" data-version="${versionOf(request)}" aria-labelledby="title-${request.id}">
<h3 id="title-${request.id}"><span class="request-id">${request.id}</span> ${what(request)}</h3>
<dl class="meta">${rows.map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`)}</dl>
${decisionForm(request, viewer, whyNot(request, viewer, now))}
</article>`;
}

/** The pending cards, oldest first, or a note that there are none. */
export function pendingList(
  requests: readonly ApprovalRequest[],
  viewer: Viewer,
  now: Date,
): SafeHtml {
  if (requests.length === 0) return html`<p class="empty">No pending requests.</p>`;
  return html`${requests.map((request) => pendingCard(request, viewer, now))}`;
}

function votesCell(request: ApprovalRequest): SafeHtml {
  if (request.votes.length === 0) return html`–`;
  return html`<ul class="votes">${request.votes.map(
    (vote) =>
      html`<li><span class="badge ${vote.verdict === "approve" ? "allow" : "deny"}">${vote.verdict}</span> ${vote.approver} <span class="via">via ${vote.via}</span>${vote.comment === undefined ? "" : html`: <q>${vote.comment}</q>`}</li>`,
  )}</ul>`;
}

function historyRow(request: ApprovalRequest): SafeHtml {
  return html`<tr>
<td><code>${request.id}</code></td>
<td>${request.decidedAt === undefined ? "–" : utcTime(request.decidedAt)}</td>
<td><span class="badge status-${request.status}">${request.status}</span></td>
<td>${request.requester.user}</td>
<td>${where(request)}</td>
<td>${what(request)}</td>
<td>${request.decidedBy.join(", ") || "–"}</td>
<td>${votesCell(request)}</td>
</tr>`;
}

export function historyTable(requests: readonly ApprovalRequest[]): SafeHtml {
  if (requests.length === 0) return html`<p class="empty">Nothing decided yet.</p>`;
  return html`<table class="history">
<caption class="visually-hidden">Decided requests, newest first</caption>
<thead><tr><th scope="col">Request</th><th scope="col">Decided</th><th scope="col">Outcome</th><th scope="col">Requester</th><th scope="col">Target</th><th scope="col">Command</th><th scope="col">Decided by</th><th scope="col">Votes and comments</th></tr></thead>
<tbody>${requests.map(historyRow)}</tbody>
</table>`;
}
