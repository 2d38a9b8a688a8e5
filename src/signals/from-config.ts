// Signals as `portcullis serve` runs them, from the `signals` section of
// portcullis.yaml (docs/signals.md): scoring settings, baselines from the
// audit index, and the alert webhook when one is configured (src/signals/alerts.ts).
import type { AuditLog } from "../audit/log.js";
import type { Config } from "../config/index.js";
import type { AuditIndex } from "../store/index.js";
import { alertNotifierFromConfig } from "./alerts.js";
import { createSignalService, type SignalService } from "./service.js";

export interface ConfiguredSignals {
  service: SignalService;
  /** Abandons alert deliveries still being retried. */
  close(): void;
}

export function signalsFromConfig(
  config: Config,
  index: Pick<AuditIndex, "userHistory">,
  audit: AuditLog,
  now: () => Date,
): ConfiguredSignals {
  const { threshold, half_life } = config.signals;
  const notifier = alertNotifierFromConfig(config, audit, now);
  const service = createSignalService({
    scoring: { threshold, halfLifeMs: half_life },
    history: index,
    ...(notifier === undefined ? {} : { notify: (alert) => notifier.notify(alert) }),
    report: (message, fields) => audit.error(message, fields),
  });
  return { service, close: () => notifier?.close() };
}
