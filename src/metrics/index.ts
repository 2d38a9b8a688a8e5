// Public API of the operations signals: Prometheus metrics of a running
// bastion (derived from its audit events and its recording writer) and its
// health (liveness and readiness).
export { meteredAuditLog } from "./audit-metrics.js";
export { BastionHealth, type HealthOptions, type Readiness } from "./health.js";
export { HEALTH_ROUTE, healthRoutes, READY_ROUTE } from "./health-routes.js";
export { recordingWriteMetrics } from "./recording-metrics.js";
export { type BastionMetrics, createBastionMetrics } from "./registry.js";
export { type SessionOutcome, sessionOutcome } from "./session-outcome.js";
