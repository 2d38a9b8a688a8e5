// The HTTP listener of `portcullis serve` (fastify): `GET
// /.well-known/portcullis` and `POST /v1/certs`, JSON bodies checked against
// a schema (unknown fields refused, 32 KiB at most), a rate limit per source
// address, TLS from files, plain http only on loopback. Every refusal of
// `POST /v1/certs` is answered `{error, message}` and audited as
// `cert.rejected` (a rate-limited address once per window). Further route
// sets (the web viewer) come in as plugins, each in its own encapsulated
// scope (its own hooks, headers and error handler).

import type { AddressInfo } from "node:net";
import rateLimit from "@fastify/rate-limit";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyRequest,
} from "fastify";
import type { AuditLog } from "../audit/log.js";
import { isLoopbackHost } from "../oidc/index.js";
import { formatHostPort, type HostPort } from "../policy/index.js";
import { ConfigError, errorMessage } from "../util/errors.js";
import { type DiscoverySource, discoveryDocument } from "./discovery.js";
import { type IssuanceDependencies, issueCertificate } from "./issuance.js";
import { RequestRefused } from "./refusal.js";

export const MAX_BODY_BYTES = 32_768;
export const CERTS_ROUTE = "/v1/certs";
export const DISCOVERY_ROUTE = "/.well-known/portcullis";
/** The discovery document is cheap: it gets this many times the certificate route's limit. */
const DISCOVERY_RATE_FACTOR = 10;

export interface HttpServerOptions {
  readonly listen: HostPort;
  /** PEM contents; absent: plain http, refused unless `listen` is loopback. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly rateLimit: { readonly max: number; readonly windowMs: number };
  readonly discovery: DiscoverySource;
  readonly issuance: IssuanceDependencies;
  readonly audit: AuditLog;
  readonly now: () => Date;
  /** Registered after the login server's routes, each encapsulated (e.g. the web viewer). */
  readonly plugins?: readonly FastifyPluginAsync[];
}

export interface RunningHttpServer {
  readonly host: string;
  readonly port: number;
  /** `http(s)://host:port` as listened on. */
  readonly url: string;
  close(): Promise<void>;
}

const certificateRequestSchema = {
  type: "object",
  required: ["token", "public_key"],
  additionalProperties: false,
  properties: {
    token: { type: "string", minLength: 1, maxLength: 16_384 },
    public_key: { type: "string", minLength: 1, maxLength: 8_192 },
  },
} as const;

interface CertificateRequestBody {
  token: string;
  public_key: string;
}

/** Audits a rate-limited address once per window, not every refused request. */
class OncePerWindow {
  readonly #last = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  first(key: string, nowMs: number): boolean {
    const last = this.#last.get(key);
    if (last !== undefined && nowMs - last < this.windowMs) return false;
    if (this.#last.size > 10_000) this.#forgetOlderThan(nowMs - this.windowMs);
    this.#last.set(key, nowMs);
    return true;
  }

  #forgetOlderThan(cutoff: number): void {
    for (const [key, time] of this.#last) if (time < cutoff) this.#last.delete(key);
  }
}

function asRefusal(error: FastifyError | RequestRefused): RequestRefused {
  if (error instanceof RequestRefused) return error;
  if (error.validation !== undefined)
    return new RequestRefused(400, "bad_request", `request ${error.message}`);
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new RequestRefused(
        413,
        "body_too_large",
        `the request body exceeds ${MAX_BODY_BYTES} bytes`,
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new RequestRefused(
        415,
        "unsupported_media_type",
        "expected Content-Type: application/json",
      );
    default:
      return error.statusCode === 400
        ? new RequestRefused(400, "bad_request", "the request body is not valid JSON")
        : new RequestRefused(500, "internal", "internal error");
  }
}

function isCertificateRoute(request: FastifyRequest): boolean {
  return request.url.split("?")[0] === CERTS_ROUTE;
}

function installErrorHandler(app: FastifyInstance, options: HttpServerOptions): void {
  const { audit } = options;
  app.setErrorHandler<FastifyError | RequestRefused>((error, request, reply) => {
    const refusal = asRefusal(error);
    if (refusal.reason === "internal")
      audit.error("http request failed", { reason: errorMessage(error) });
    if (isCertificateRoute(request) && refusal.audited) {
      audit.emit("cert.rejected", {
        source_ip: request.ip,
        code: refusal.reason,
        reason: refusal.message,
        ...refusal.context,
      });
    }
    void reply.status(refusal.status).send({ error: refusal.reason, message: refusal.message });
  });
}

async function installRoutes(app: FastifyInstance, options: HttpServerOptions): Promise<void> {
  const { max, windowMs } = options.rateLimit;
  const throttle = new OncePerWindow(windowMs);
  const limited = (limit: number) => ({
    max: limit,
    timeWindow: windowMs,
    errorResponseBuilder: (request: FastifyRequest) =>
      new RequestRefused(
        429,
        "rate_limited",
        "too many requests from this address; try again later",
        {
          audited: throttle.first(request.ip, options.now().getTime()),
        },
      ),
  });
  await app.register(rateLimit, { global: false });
  app.get(
    DISCOVERY_ROUTE,
    { config: { rateLimit: limited(max * DISCOVERY_RATE_FACTOR) } },
    (request) => discoveryDocument(options.discovery, request.hostname),
  );
  app.post<{ Body: CertificateRequestBody }>(
    CERTS_ROUTE,
    { schema: { body: certificateRequestSchema }, config: { rateLimit: limited(max) } },
    (request) =>
      issueCertificate(options.issuance, {
        token: request.body.token,
        publicKey: request.body.public_key,
        sourceIp: request.ip,
        now: options.now(),
      }),
  );
}

function requireTlsOffLoopback(options: HttpServerOptions): void {
  if (options.tls === undefined && !isLoopbackHost(options.listen.host)) {
    throw new ConfigError([
      `http.listen: plain http is only allowed on a loopback address (${formatHostPort(options.listen)}): set http.tls.cert and http.tls.key`,
    ]);
  }
}

function createApp(options: HttpServerOptions): FastifyInstance {
  const common = {
    bodyLimit: MAX_BODY_BYTES,
    logger: false,
    trustProxy: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
  };
  const { tls } = options;
  return (
    tls === undefined
      ? Fastify(common)
      : Fastify({ ...common, https: { cert: tls.cert, key: tls.key } })
  ) as FastifyInstance;
}

/** Starts listening; throws ConfigError for plain http off loopback. */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  requireTlsOffLoopback(options);
  const app = createApp(options);
  app.removeContentTypeParser("text/plain");
  installErrorHandler(app, options);
  await installRoutes(app, options);
  for (const plugin of options.plugins ?? []) await app.register(plugin);
  await app.listen({ host: options.listen.host, port: options.listen.port });
  const address = app.server.address() as AddressInfo;
  const scheme = options.tls === undefined ? "http" : "https";
  return {
    host: address.address,
    port: address.port,
    url: `${scheme}://${formatHostPort({ host: address.address, port: address.port })}`,
    close: () => app.close(),
  };
}
