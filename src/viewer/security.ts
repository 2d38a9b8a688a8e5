// The viewer's protective layer, registered before any of its routes:
// cookies, form bodies, a strict Content-Security-Policy and the other
// helmet headers (no inline script or style anywhere; WebAssembly allowed
// for the player's terminal emulator, nothing else evaluated), CSRF tokens
// bound to the signed-in session (@fastify/csrf-protection in its session
// mode, see guard.ts), and `Cache-Control: no-store` on pages and API
// answers (they hold audit data).

import cookie from "@fastify/cookie";
import csrf from "@fastify/csrf-protection";
import formbody from "@fastify/formbody";
import helmet from "@fastify/helmet";
import type { FastifyInstance, FastifyRequest } from "fastify";

const YEAR_SECONDS = 31_536_000;

export function contentSecurityPolicy(secure: boolean): Record<string, string[]> {
  return {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    fontSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    objectSrc: ["'none'"],
    ...(secure ? { upgradeInsecureRequests: [] } : {}),
  };
}

function csrfToken(request: FastifyRequest): string | undefined {
  const body = request.body as { _csrf?: unknown } | undefined;
  if (typeof body?._csrf === "string") return body._csrf;
  const header = request.headers["x-csrf-token"];
  return typeof header === "string" ? header : undefined;
}

export async function registerSecurity(app: FastifyInstance, secure: boolean): Promise<void> {
  await app.register(cookie);
  await app.register(formbody);
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy(secure) },
    strictTransportSecurity: secure ? { maxAge: YEAR_SECONDS } : false,
    referrerPolicy: { policy: "no-referrer" },
  });
  app.decorateRequest("session", null);
  await app.register(csrf, { sessionPlugin: "@fastify/session", getToken: csrfToken });
  app.addHook("onSend", async (_request, reply, payload) => {
    const type = String(reply.getHeader("content-type") ?? "");
    if (!reply.hasHeader("cache-control") && /^(text\/html|application\/json)/.test(type))
      reply.header("cache-control", "no-store");
    return payload;
  });
}
