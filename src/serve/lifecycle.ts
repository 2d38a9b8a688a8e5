// A running bastion's answers to process signals (`portcullis serve`).
// SIGHUP reloads the policy and the revocation list (each audited by its own
// loader). SIGTERM/SIGINT shut down gracefully: stop accepting at once, warn
// every open session, let the sessions go on for the grace period, then end
// the remaining ones with a message and close (recordings closed and signed,
// `server.stop` audited). A second SIGTERM/SIGINT cuts the grace short.

import { setTimeout as delay } from "node:timers/promises";
import type { StartedServer } from "./start.js";

export const SHUTDOWN_REASON = "the bastion is shutting down";

/** What readiness reporting (systemd, /readyz) hears from the lifecycle. */
export interface LifecycleReadiness {
  ready(): void;
  reloading(): void;
  stopping(): void;
}

export interface LifecycleOptions {
  /** How long open sessions may go on after SIGTERM (`ssh.shutdown_grace`); 0 ends them at once. */
  graceMs: number;
  readiness?: LifecycleReadiness;
}

/** Serves until SIGTERM/SIGINT, reloading on SIGHUP; resolves once the bastion has stopped. */
export async function serveUntilStopped(
  server: StartedServer,
  options: LifecycleOptions,
): Promise<void> {
  const reload = () => reloadAll(server, options.readiness);
  process.on("SIGHUP", reload);
  const stops = stopSignals();
  try {
    await stops.first;
    options.readiness?.stopping();
    await shutDown(server, options.graceMs, stops.second);
  } finally {
    process.off("SIGHUP", reload);
    stops.dispose();
  }
}

function reloadAll(server: StartedServer, readiness: LifecycleReadiness | undefined): void {
  readiness?.reloading();
  server.reloadPolicy();
  server.reloadRevocations();
  readiness?.ready();
}

async function shutDown(server: StartedServer, graceMs: number, cut: Promise<void>): Promise<void> {
  const drained = server.ssh.stopAccepting();
  if (graceMs > 0) {
    const grace = new AbortController();
    server.ssh.tell(`${SHUTDOWN_REASON}; this session ends in ${Math.ceil(graceMs / 1000)}s`);
    await Promise.race([
      drained,
      cut,
      delay(graceMs, undefined, { signal: grace.signal }).catch(() => undefined),
    ]);
    grace.abort();
  }
  await server.close(SHUTDOWN_REASON);
}

/**
 * The first and the second SIGTERM/SIGINT. Listening replaces Node's default
 * (exit at once) until `dispose`, so a third signal during the close does
 * not cut the recordings short either.
 */
function stopSignals(): { first: Promise<void>; second: Promise<void>; dispose(): void } {
  const received: (() => void)[] = [];
  const first = new Promise<void>((resolve) => received.push(resolve));
  const second = new Promise<void>((resolve) => received.push(resolve));
  let count = 0;
  const onSignal = () => {
    received[count]?.();
    count += 1;
  };
  const signals = ["SIGTERM", "SIGINT"] as const;
  for (const signal of signals) process.on(signal, onSignal);
  return {
    first,
    second,
    dispose: () => {
      for (const signal of signals) process.off(signal, onSignal);
    },
  };
}
