// Signing in and out: `/` (the sign-in page, or on to the sessions), `GET
// /auth/login` (to the issuer, with a one-use attempt in a short cookie),
// `GET /auth/callback` (code redeemed, ID token checked by the bastion's
// TokenVerifier, session started) and `POST /auth/logout` (CSRF-checked).
// Every sign-in and every failed one is audited (auth.success/auth.failure
// with `via: viewer`).

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { TokenRejectedError, type VerifiedToken } from "../oidc/index.js";
import { errorMessage } from "../util/errors.js";
import type { ViewerDependencies } from "./context.js";
import { requireViewer, SESSION_COOKIE, stateChanging } from "./guard.js";
import { html } from "./html.js";
import { layout } from "./layout.js";
import { OidcSignIn, SIGN_IN_TTL_MS } from "./sign-in.js";
import { cookieName, cookieOptions, type WebSessions } from "./web-sessions.js";

const SIGN_IN_COOKIE = "portcullis_signin";
export const CALLBACK_PATH = "/auth/callback";
const DEFAULT_NEXT = "/sessions";

/** A path on this server only (no scheme, no `//host`, no backslashes): no open redirect. */
export function safeNext(value: unknown): string {
  if (typeof value !== "string" || !value.startsWith("/")) return DEFAULT_NEXT;
  const control = [...value].some((character) => character.charCodeAt(0) < 0x20);
  if (value.startsWith("//") || value.includes("\\") || control) return DEFAULT_NEXT;
  return value;
}

function signInPage(message: string, next: string): string {
  const href = `/auth/login?${new URLSearchParams({ next })}`;
  return layout({
    title: "Sign in",
    main: html`<section class="narrow">
<h1>Portcullis session viewer</h1>
<p>${message}</p>
<p><a class="button" href="${href}">Sign in</a></p>
</section>`,
  });
}

class SignInFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function registerAuthRoutes(
  app: FastifyInstance,
  deps: ViewerDependencies,
  sessions: WebSessions,
): void {
  const signIn = new OidcSignIn(deps.oidc);
  const attemptCookie = cookieName(deps.secure, SIGN_IN_COOKIE);
  const sessionCookie = cookieName(deps.secure, SESSION_COOKIE);
  const redirectUri = () => new URL(CALLBACK_PATH, deps.publicUrl()).href;

  app.get("/", async (request, reply) => {
    if (request.viewer !== null) return reply.redirect("/sessions", 303);
    return reply
      .type("text/html; charset=utf-8")
      .send(signInPage("Sign in with your organisation's account to see sessions.", "/sessions"));
  });

  app.get<{ Querystring: { next?: string } }>("/auth/login", async (request, reply) => {
    const next = safeNext(request.query.next);
    const { url, attempt } = await signIn.begin(redirectUri(), next, deps.now());
    reply.setCookie(
      attemptCookie,
      attempt,
      cookieOptions(deps.secure, Math.floor(SIGN_IN_TTL_MS / 1000)),
    );
    return reply.redirect(url.href, 303);
  });

  app.get(CALLBACK_PATH, async (request, reply) => {
    reply.clearCookie(attemptCookie, cookieOptions(deps.secure));
    try {
      const pending = signIn.attempt(request.cookies[attemptCookie] ?? "", deps.now());
      if (pending === undefined)
        throw new SignInFailure("no_attempt", "the sign-in attempt is unknown or expired");
      const callback = new URL(request.url, deps.publicUrl());
      const token = await redeem(signIn, callback, pending);
      const identity = await verified(deps, token);
      const now = deps.now();
      const { id, row } = sessions.start(identity, now);
      reply.setCookie(
        sessionCookie,
        id,
        cookieOptions(deps.secure, sessions.cookieMaxAge(row, now)),
      );
      deps.audit.emit("auth.success", {
        via: "viewer",
        user: identity.user,
        groups: [...identity.groups],
        source_ip: request.ip,
      });
      return reply.redirect(pending.next, 303);
    } catch (error) {
      return refuseSignIn(deps, request, reply, error);
    }
  });

  app.post("/auth/logout", { preHandler: stateChanging(app) }, async (request, reply) => {
    const viewer = requireViewer(request);
    if (request.viewerSessionId !== null) sessions.end(request.viewerSessionId);
    reply.clearCookie(sessionCookie, cookieOptions(deps.secure));
    deps.audit.info("viewer sign-out", { user: viewer.user, source_ip: request.ip });
    return reply.redirect("/", 303);
  });
}

async function redeem(
  signIn: OidcSignIn,
  callback: URL,
  pending: Parameters<OidcSignIn["finish"]>[1],
): Promise<string> {
  try {
    return await signIn.finish(callback, pending);
  } catch (error) {
    throw new SignInFailure(
      "code_exchange",
      `the issuer's answer was refused: ${errorMessage(error)}`,
    );
  }
}

async function verified(
  deps: ViewerDependencies,
  token: string,
): Promise<{ user: string; groups: readonly string[]; issuer: string; subject: string }> {
  let identity: VerifiedToken;
  try {
    identity = await deps.verifier.verify(token, deps.now());
  } catch (error) {
    if (error instanceof TokenRejectedError) throw new SignInFailure(error.reason, error.message);
    throw error;
  }
  if (identity.issuer.kind !== "person")
    throw new SignInFailure("workload_issuer", "workload identities cannot use the viewer");
  return {
    user: identity.username,
    groups: identity.groups,
    issuer: identity.issuer.issuer,
    subject: identity.subject,
  };
}

function refuseSignIn(
  deps: ViewerDependencies,
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
): FastifyReply {
  const failure =
    error instanceof SignInFailure ? error : new SignInFailure("internal", errorMessage(error));
  deps.audit.emit("auth.failure", {
    via: "viewer",
    code: failure.code,
    reason: failure.message,
    source_ip: request.ip,
  });
  return reply
    .status(401)
    .type("text/html; charset=utf-8")
    .send(signInPage(`Sign-in failed: ${failure.message}.`, DEFAULT_NEXT));
}
