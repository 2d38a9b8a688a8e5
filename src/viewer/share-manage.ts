// Share links, the auditors' side: the section on the session page (make a
// link for the recording shown, list the session's live links, revoke one)
// and its two POST routes (signed in + CSRF token, then the auditor role):
// `POST /sessions/:id/shares` creates a link and shows it once (only its
// hash is kept), `POST /sessions/:id/shares/:share/revoke` ends one. Both
// are audited (`share.created`, `share.revoked`) with the link's public id,
// never its token.

import type { FastifyInstance, FastifyRequest } from "fastify";
import type { RecordingRow } from "../store/index.js";
import type { ShareLinkRow } from "../store/share-links.js";
import { recordingOf, visibleSession } from "./access.js";
import type { ViewerDependencies } from "./context.js";
import { utcTime } from "./format.js";
import { requireRole, stateChanging } from "./guard.js";
import { html, type SafeHtml } from "./html.js";
import { layout } from "./layout.js";
import { notFound, ViewerRefusal } from "./refusal.js";
import type { Viewer } from "./roles.js";
import { newShareToken, SHARE_PREFIX, ttlChoices } from "./share-tokens.js";

function sessionPath(sessionId: string): string {
  return `/sessions/${encodeURIComponent(sessionId)}`;
}

function linkRow(sessionId: string, row: ShareLinkRow, viewer: Viewer): SafeHtml {
  return html`<tr>
<td><code>${row.id}</code></td>
<td>${row.createdBy}</td>
<td>${utcTime(row.createdAt)}</td>
<td>${utcTime(row.expiresAt)}</td>
<td>${row.lastAuditedAt === undefined ? "never" : utcTime(row.lastAuditedAt)}</td>
<td><form method="post" action="${sessionPath(sessionId)}/shares/${row.id}/revoke" class="inline">
<input type="hidden" name="_csrf" value="${viewer.csrfToken}">
<button type="submit" class="deny" aria-label="Revoke link ${row.id}">Revoke</button>
</form></td>
</tr>`;
}

function linkTable(sessionId: string, rows: readonly ShareLinkRow[], viewer: Viewer): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">No active share links.</p>`;
  return html`<table class="shares">
<caption class="visually-hidden">Active share links of this session</caption>
<thead><tr><th scope="col">Link</th><th scope="col">Created by</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last opened</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>${rows.map((row) => linkRow(sessionId, row, viewer))}</tbody>
</table>`;
}

/** The session page's share section (auditors only). */
export function shareSection(
  deps: ViewerDependencies,
  viewer: Viewer,
  sessionId: string,
  recording: RecordingRow,
): SafeHtml {
  const choices = ttlChoices(deps.settings.shareMaxTtlMs);
  const defaultChoice = choices.find((choice) => choice.ms === 86_400_000) ?? choices[0];
  return html`<section aria-labelledby="share-h" class="share">
<h2 id="share-h">Share links</h2>
<p>A share link shows this recording and the session's command list to someone without an account, read only, until it expires or is revoked. Anyone holding the link can open it.</p>
<form method="post" action="${sessionPath(sessionId)}/shares" class="share-form">
<input type="hidden" name="_csrf" value="${viewer.csrfToken}">
<input type="hidden" name="recording" value="${recording.id}">
<div class="field"><label for="share-ttl">Valid for</label>
<select id="share-ttl" name="ttl">${choices.map(
    (choice) =>
      html`<option value="${choice.ms}"${choice === defaultChoice ? html` selected` : ""}>${choice.label}</option>`,
  )}</select></div>
<div class="actions"><button type="submit">Create share link</button></div>
</form>
${linkTable(sessionId, deps.shareLinks.active(sessionId, deps.now()), viewer)}
</section>`;
}

function chosenTtl(deps: ViewerDependencies, value: unknown): number {
  const ms = Number(value);
  if (!ttlChoices(deps.settings.shareMaxTtlMs).some((choice) => choice.ms === ms))
    throw new ViewerRefusal(400, "Choose one of the offered lifetimes.");
  return ms;
}

function auditorSession(deps: ViewerDependencies, request: FastifyRequest, sessionId: string) {
  const viewer = requireRole(request, "auditor");
  return { ...visibleSession(deps, request, sessionId), viewer };
}

function createdPage(viewer: Viewer, sessionId: string, url: string, expiresAt: Date): string {
  return layout({
    title: "Share link created",
    viewer,
    main: html`<section class="narrow">
<h1>Share link created</h1>
<p>Copy the link now: it is shown only this once (only a hash of it is kept).</p>
<div class="field"><label for="share-url">Link</label>
<input id="share-url" class="share-url" type="text" readonly value="${url}"></div>
<p>Valid until ${utcTime(expiresAt)}, unless revoked on the session page.</p>
<p><a href="${sessionPath(sessionId)}#share-h">← Back to the session</a></p>
</section>`,
  });
}

export function registerShareManagement(app: FastifyInstance, deps: ViewerDependencies): void {
  app.post<{ Params: { id: string }; Body: { ttl?: unknown; recording?: unknown } }>(
    "/sessions/:id/shares",
    { preHandler: stateChanging(app) },
    async (request, reply) => {
      const { viewer, session } = auditorSession(deps, request, request.params.id);
      const recording = recordingOf(session, String(request.body?.recording ?? ""));
      if (recording.prunedAt !== undefined) throw notFound();
      const ttl = chosenTtl(deps, request.body?.ttl);
      const now = deps.now();
      const { token, tokenHash, id } = newShareToken();
      const expiresAt = new Date(now.getTime() + ttl);
      deps.shareLinks.create({
        id,
        tokenHash,
        session: session.id,
        recording: recording.id,
        createdBy: viewer.user,
        createdAt: now,
        expiresAt,
      });
      deps.audit.emit("share.created", {
        user: viewer.user,
        session: session.id,
        ...(session.target === undefined ? {} : { target: session.target }),
        share: id,
        recording: recording.id,
        expires: expiresAt.toISOString(),
        via: "viewer",
        source_ip: request.ip,
      });
      const url = `${deps.publicUrl()}${SHARE_PREFIX}${token}`;
      return reply
        .status(201)
        .type("text/html; charset=utf-8")
        .send(createdPage(viewer, session.id, url, expiresAt));
    },
  );

  app.post<{ Params: { id: string; share: string } }>(
    "/sessions/:id/shares/:share/revoke",
    { preHandler: stateChanging(app) },
    async (request, reply) => {
      const { viewer, session } = auditorSession(deps, request, request.params.id);
      const link = deps.shareLinks.find(request.params.share);
      if (link === undefined || link.session !== session.id) throw notFound();
      if (deps.shareLinks.revoke(link.id, viewer.user, deps.now()))
        deps.audit.emit("share.revoked", {
          user: viewer.user,
          session: session.id,
          share: link.id,
          created_by: link.createdBy,
          via: "viewer",
          source_ip: request.ip,
        });
      return reply.redirect(`${sessionPath(session.id)}#share-h`, 303);
    },
  );
}
