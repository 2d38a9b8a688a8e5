// Share links, the visitor's side, without sign-in: `GET /share/:token`
// shows one session's metadata, the shared recording's player and the
// command list (no navigation, nothing else), `GET /share/:token/recording.cast`
// serves that one recording. The token is looked up by its hash; an unknown,
// expired or revoked token gets the same 404 page. Both answers carry
// `Referrer-Policy: no-referrer`, `X-Robots-Tag: noindex` and
// `Cache-Control: no-store`. A use is audited (`share.used`, the link's id,
// never its token) at most once an hour per link.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ShareLinkRow } from "../store/share-links.js";
import { sendRecording } from "./cast-route.js";
import type { ViewerDependencies } from "./context.js";
import { utcTime } from "./format.js";
import { html } from "./html.js";
import { IntegrityChecks } from "./integrity.js";
import { layout } from "./layout.js";
import { metadata, playerOptions, replayOf } from "./session-page.js";
import { hashToken, isLive, looksLikeToken, SHARE_PREFIX } from "./share-tokens.js";
import { PLAYER_SCRIPT, PLAYER_STYLESHEET, VIEWER_SCRIPT } from "./static-assets.js";

const USE_AUDIT_WINDOW_MS = 3_600_000;
const CAST_FILE = "recording.cast";

class LinkGone extends Error {}

function protect(reply: FastifyReply): void {
  reply
    .header("referrer-policy", "no-referrer")
    .header("x-robots-tag", "noindex, nofollow")
    .header("cache-control", "no-store");
}

function liveLink(deps: ViewerDependencies, token: string): ShareLinkRow {
  const row = looksLikeToken(token) ? deps.shareLinks.findByTokenHash(hashToken(token)) : undefined;
  if (row === undefined || !isLive(row, deps.now())) throw new LinkGone();
  return row;
}

function auditUse(deps: ViewerDependencies, request: FastifyRequest, link: ShareLinkRow): void {
  if (!deps.shareLinks.claimUseAudit(link.id, deps.now(), USE_AUDIT_WINDOW_MS)) return;
  deps.audit.emit("share.used", {
    session: link.session,
    share: link.id,
    created_by: link.createdBy,
    via: "share",
    source_ip: request.ip,
  });
}

function sendGone(reply: FastifyReply): FastifyReply {
  return reply
    .status(404)
    .type("text/html; charset=utf-8")
    .send(
      layout({
        title: "Link no longer valid",
        main: html`<section class="narrow"><h1>This link is no longer valid</h1>
<p>It has expired or was revoked, or it was never a link. Ask the person who sent it for a new one.</p></section>`,
      }),
    );
}

/** Runs `handle` on the link's row, or answers the "no longer valid" page. */
async function withLink(
  deps: ViewerDependencies,
  request: FastifyRequest<{ Params: { token: string } }>,
  reply: FastifyReply,
  handle: (link: ShareLinkRow) => Promise<FastifyReply>,
): Promise<FastifyReply> {
  protect(reply);
  try {
    const link = liveLink(deps, request.params.token);
    auditUse(deps, request, link);
    return await handle(link);
  } catch (error) {
    if (error instanceof LinkGone) return sendGone(reply);
    throw error;
  }
}

function sharedSession(deps: ViewerDependencies, link: ShareLinkRow) {
  const found = deps.index.getSession(link.session);
  const recording = found?.session.recordings.find((row) => row.id === link.recording);
  if (found === undefined || recording === undefined) throw new LinkGone();
  return { ...found, recording };
}

export function registerSharePage(app: FastifyInstance, deps: ViewerDependencies): void {
  const integrity = new IntegrityChecks(deps.recordings);

  app.get<{ Params: { token: string }; Querystring: Record<string, unknown> }>(
    `${SHARE_PREFIX}:token`,
    (request, reply) =>
      withLink(deps, request, reply, async (link) => {
        const { session, commands, transfers, recording } = sharedSession(deps, link);
        const page = `${SHARE_PREFIX}${request.params.token}`;
        const urls = { page, cast: `${page}/${CAST_FILE}` };
        const parts = await replayOf(integrity, recording, playerOptions(request.query), urls, {
          commands,
          transfers,
        });
        return reply.type("text/html; charset=utf-8").send(
          layout({
            title: `Shared session ${session.id}`,
            stylesheets: [PLAYER_STYLESHEET],
            scripts: [PLAYER_SCRIPT, VIEWER_SCRIPT],
            main: html`<p class="shared-note">Shared read-only by ${link.createdBy}; this link works until ${utcTime(link.expiresAt)}.</p>
<h1>Session <code>${session.id}</code></h1>
${metadata(session)}
<section aria-labelledby="replay-h"><h2 id="replay-h">Replay</h2>
${parts.replay}
</section>
<section aria-labelledby="commands-h"><h2 id="commands-h">Commands</h2>
${parts.commands}
</section>`,
          }),
        );
      }),
  );

  app.get<{ Params: { token: string } }>(`${SHARE_PREFIX}:token/${CAST_FILE}`, (request, reply) =>
    withLink(deps, request, reply, async (link) => {
      const { recording } = sharedSession(deps, link);
      return sendRecording(deps, recording, request, reply, "no-store");
    }),
  );
}
