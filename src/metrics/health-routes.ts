// `GET /healthz` (200 while the process answers) and `GET /readyz` (200 when
// ready, else 503 with the reason in one line), as a fastify plugin: the
// operations listener serves them, and so does the HTTP listener when it runs.
// Plain text, never cached.

import type { FastifyPluginAsync, FastifyReply } from "fastify";
import type { Readiness } from "./health.js";

export const HEALTH_ROUTE = "/healthz";
export const READY_ROUTE = "/readyz";

export function healthRoutes(readiness: () => Readiness): FastifyPluginAsync {
  return async (app) => {
    app.get(HEALTH_ROUTE, (_request, reply) => plain(reply, 200, "ok"));
    app.get(READY_ROUTE, (_request, reply) => {
      const state = readiness();
      return state.ready ? plain(reply, 200, "ready") : plain(reply, 503, state.reason);
    });
  };
}

function plain(reply: FastifyReply, status: number, line: string): FastifyReply {
  return reply
    .status(status)
    .header("cache-control", "no-store")
    .type("text/plain; charset=utf-8")
    .send(`${line}\n`);
}
