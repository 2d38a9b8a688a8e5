// The operations side of a running bastion: its health (always) and, with
// `metrics` configured, its Prometheus metrics and the operations listener
// on `metrics.listen`: `GET /metrics` (Prometheus text format), `/healthz`
// and `/readyz`, plain HTTP. It is fastify, like src/http, so that both
// listeners serve the same health routes plugin.

import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import type { AuditLog } from "../audit/log.js";
import type { Config } from "../config/index.js";
import {
  BastionHealth,
  type BastionMetrics,
  createBastionMetrics,
  healthRoutes,
  meteredAuditLog,
  recordingWriteMetrics,
} from "../metrics/index.js";
import { formatHostPort, type HostPort } from "../policy/index.js";
import type { RecordingWriteObserver } from "../recording/index.js";
import type { RunningBastion } from "../ssh/server.js";

export const METRICS_ROUTE = "/metrics";

export interface Operations {
  readonly health: BastionHealth;
  /** The audit log, its events also counted into the metrics (unchanged without `metrics`). */
  metered(audit: AuditLog): AuditLog;
  /** For the recording store (undefined without `metrics`). */
  readonly recordingObserver: RecordingWriteObserver | undefined;
  /** Where the metrics read the pending approval requests (none until this is called). */
  countPendingApprovals(count: () => number): void;
  /** For the audit index's failure listener. */
  auditIndexFailed(error: Error): void;
  /** The SSH listener, made unready as soon as it stops accepting (shutdown starts). */
  unreadyWhenStopping(ssh: RunningBastion): RunningBastion;
  /** Starts the operations listener; undefined without `metrics`. */
  listen(): Promise<RunningOpsListener | undefined>;
}

export interface RunningOpsListener {
  readonly host: string;
  readonly port: number;
  /** `http://host:port` as listened on. */
  readonly url: string;
  close(): Promise<void>;
}

export function operationsFor(config: Config): Operations {
  const health = new BastionHealth({ databasePath: config.database.path });
  const listen = config.metrics?.listen;
  const pending = new PendingApprovals();
  const metrics =
    listen === undefined
      ? undefined
      : createBastionMetrics(
          () => health.readiness().ready,
          () => pending.read(),
        );
  return {
    health,
    countPendingApprovals: (count) => pending.countWith(count),
    metered: (audit) => (metrics === undefined ? audit : meteredAuditLog(audit, metrics)),
    recordingObserver: metrics === undefined ? undefined : recordingWriteMetrics(metrics),
    auditIndexFailed: (error) => {
      health.auditIndexFailed(error);
      metrics?.auditIndexFailures.inc();
    },
    unreadyWhenStopping: (ssh) => ({
      ...ssh,
      stopAccepting: () => {
        health.stopping();
        return ssh.stopAccepting();
      },
    }),
    listen: async () =>
      listen === undefined || metrics === undefined
        ? undefined
        : startOpsListener(listen, metrics, health),
  };
}

export async function startOpsListener(
  listen: HostPort,
  metrics: BastionMetrics,
  health: BastionHealth,
): Promise<RunningOpsListener> {
  const app = Fastify({ logger: false });
  await app.register(healthRoutes(() => health.readiness()));
  app.get(METRICS_ROUTE, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    url: `http://${formatHostPort({ host: address.address, port: address.port })}`,
    close: () => app.close(),
  };
}

/** The pending requests' count as last read: during shutdown the approvals close before the listener. */
class PendingApprovals {
  #count: () => number = () => 0;
  #last = 0;

  countWith(count: () => number): void {
    this.#count = count;
  }

  read(): number {
    try {
      this.#last = this.#count();
    } catch {
      // closed: the last count stands
    }
    return this.#last;
  }
}
