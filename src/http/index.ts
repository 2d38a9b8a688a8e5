// Public API of the HTTP listener (certificate issuance and discovery).
export {
  type DiscoveryDocument,
  type DiscoverySource,
  discoveryDocument,
} from "./discovery.js";
export { type BastionParts, startConfiguredHttpServer } from "./from-config.js";
export {
  type CertificateRequest,
  type CertificateResponse,
  type IssuanceDependencies,
  issueCertificate,
} from "./issuance.js";
export { RequestRefused } from "./refusal.js";
export {
  CERTS_ROUTE,
  DISCOVERY_ROUTE,
  type HttpServerOptions,
  MAX_BODY_BYTES,
  type RunningHttpServer,
  startHttpServer,
} from "./server.js";
