// The one authorization check every viewer route goes through: an onRequest
// hook resumes the signed-in session from its cookie (request.viewer), and
// `requireViewer` / `requireRole` turn its absence into 401/403. The CSRF
// secret of the session is exposed as `request.session._csrf`, where
// @fastify/csrf-protection (in its session mode) looks for it, so tokens are
// tied to the signed-in session and survive a restart.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { WebSessionRow } from "../store/web-sessions.js";
import type { ViewerDependencies } from "./context.js";
import { forbidden, notSignedIn } from "./refusal.js";
import { type Roles, rolesOf, type Viewer } from "./roles.js";
import { cookieName, cookieOptions, type WebSessions } from "./web-sessions.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The signed-in person, when there is one (set by the viewer's onRequest hook). */
    viewer: Viewer | null;
    /** The signed-in session's id as in its cookie. */
    viewerSessionId: string | null;
    /** For @fastify/csrf-protection's session mode: the session's CSRF secret. */
    session: { _csrf?: string } | null;
  }
}

export const SESSION_COOKIE = "portcullis_session";

/** The signed-in person, or a 401 refusal. */
export function requireViewer(request: FastifyRequest): Viewer {
  if (request.viewer === null) throw notSignedIn();
  return request.viewer;
}

/**
 * The preHandlers of every state-changing route (POST forms, later the
 * approvals): signed in first (401), then a CSRF token of this session (403).
 */
export function stateChanging(app: FastifyInstance) {
  const signedIn = async (request: FastifyRequest) => {
    requireViewer(request);
  };
  return [signedIn, app.csrfProtection];
}

/** The signed-in person holding `role`, else 401/403. */
export function requireRole(request: FastifyRequest, role: keyof Roles): Viewer {
  const viewer = requireViewer(request);
  if (!viewer.roles[role]) throw forbidden(`This page is for ${role}s.`);
  return viewer;
}

function viewerOf(row: WebSessionRow, deps: ViewerDependencies, csrfToken: string): Viewer {
  return {
    user: row.user,
    groups: row.groups,
    roles: rolesOf(row.groups, deps.settings),
    csrfToken,
  };
}

/** The onRequest hook: resumes the session named by the cookie, if it is still live. */
export function viewerLoader(deps: ViewerDependencies, sessions: WebSessions) {
  const name = cookieName(deps.secure, SESSION_COOKIE);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    request.viewer = null;
    request.viewerSessionId = null;
    request.session = null;
    const id = request.cookies[name];
    if (id === undefined || id === "") return;
    const row = sessions.resume(id, deps.now());
    if (row === undefined) {
      reply.clearCookie(name, cookieOptions(deps.secure)); // `__Host-` needs Secure to be cleared
      return;
    }
    request.viewerSessionId = id;
    request.session = { _csrf: row.csrfSecret };
    request.viewer = viewerOf(row, deps, reply.generateCsrf());
  };
}
