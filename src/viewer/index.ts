// The auditors' web viewer (SPEC §11), as a fastify plugin for the HTTP
// listener: security layer first (security.ts), then the signed-in session
// (guard.ts), the error pages, the static files and the routes: sessions,
// one session, casts, signals (auditors), the API, approvals (approvers),
// share links (made by auditors, opened without sign-in). Every route is behind
// requireViewer/requireRole except sign-in and the share page, and renders
// through layout().

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { registerApi } from "./api.js";
import { registerApprovalsPage } from "./approvals-page.js";
import { registerAuthRoutes } from "./auth-routes.js";
import { registerCastRoute } from "./cast-route.js";
import type { ViewerDependencies } from "./context.js";
import { viewerLoader } from "./guard.js";
import { html } from "./html.js";
import { layout } from "./layout.js";
import { ViewerRefusal } from "./refusal.js";
import { registerSecurity } from "./security.js";
import { registerSessionPage } from "./session-page.js";
import { registerSessionsPage } from "./sessions-page.js";
import { registerShareManagement } from "./share-manage.js";
import { registerSharePage } from "./share-page.js";
import { redactSharePath } from "./share-tokens.js";
import { registerSignalsPage } from "./signals-page.js";
import { registerStaticAssets } from "./static-assets.js";
import { WebSessions } from "./web-sessions.js";

export type { ViewerDependencies, ViewerSettings } from "./context.js";
export { requireRole, requireViewer, stateChanging } from "./guard.js";
export { html, SafeHtml, trustedHtml } from "./html.js";
export { layout, type Page } from "./layout.js";
export { ViewerRefusal } from "./refusal.js";
export type { Roles, Viewer } from "./roles.js";

function asRefusal(error: FastifyError | ViewerRefusal): ViewerRefusal | undefined {
  if (error instanceof ViewerRefusal) return error;
  if (error.code === "FST_CSRF_INVALID_TOKEN" || error.code === "FST_CSRF_MISSING_SECRET")
    return new ViewerRefusal(
      403,
      "The form's security token is missing or out of date: reload the page and try again.",
    );
  if (error.validation !== undefined || error.statusCode === 400 || error.statusCode === 415)
    return new ViewerRefusal(400, "The request was not understood.");
  return undefined;
}

function wantsJson(request: FastifyRequest): boolean {
  const path = request.url.split("?")[0] ?? "";
  return path.startsWith("/api/") || path.endsWith(".cast");
}

function sendRefusal(request: FastifyRequest, reply: FastifyReply, refusal: ViewerRefusal) {
  reply.status(refusal.status);
  if (wantsJson(request))
    return reply.send({
      error: refusal.title.toLowerCase().replace(/ /g, "_"),
      message: refusal.message,
    });
  const next = request.method === "GET" ? request.url : "/sessions";
  const signIn =
    refusal.status === 401
      ? html`<p><a class="button" href="/auth/login?${new URLSearchParams({ next }).toString()}">Sign in</a></p>`
      : "";
  return reply.type("text/html; charset=utf-8").send(
    layout({
      title: refusal.title,
      ...(request.viewer === null ? {} : { viewer: request.viewer }),
      main: html`<section class="narrow"><h1>${refusal.title}</h1><p>${refusal.message}</p>${signIn}</section>`,
    }),
  );
}

function installErrorHandler(app: FastifyInstance, deps: ViewerDependencies): void {
  app.setErrorHandler<FastifyError | ViewerRefusal>((error, request, reply) => {
    const refusal = asRefusal(error);
    if (refusal !== undefined) return sendRefusal(request, reply, refusal);
    deps.audit.error("viewer request failed", {
      path: redactSharePath(request.url),
      reason: error.message,
    });
    return sendRefusal(request, reply, new ViewerRefusal(500, "Something went wrong; try again."));
  });
}

/** Registers the viewer on `app` (use inside app.register for its own encapsulated scope). */
export async function viewerPlugin(app: FastifyInstance, deps: ViewerDependencies): Promise<void> {
  await registerSecurity(app, deps.secure);
  const sessions = new WebSessions(deps.webSessions, deps.settings.lifetimes);
  app.decorateRequest("viewer", null);
  app.decorateRequest("viewerSessionId", null);
  app.addHook("onRequest", viewerLoader(deps, sessions));
  installErrorHandler(app, deps);
  await registerStaticAssets(app);
  registerAuthRoutes(app, deps, sessions);
  registerSessionsPage(app, deps);
  registerSessionPage(app, deps);
  registerCastRoute(app, deps);
  registerSignalsPage(app, deps);
  registerApi(app, deps);
  registerApprovalsPage(app, deps);
  registerShareManagement(app, deps);
  registerSharePage(app, deps);
}
