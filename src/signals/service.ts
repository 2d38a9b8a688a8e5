// What every session's signals share (docs/signals.md): the scoring
// settings, the users' baselines read from the audit index, and the alert
// channel. Built once at start-up (src/serve/start.ts).

import type { Policy } from "../policy/types.js";
import type { AuditIndex } from "../store/index.js";
import { errorMessage } from "../util/errors.js";
import { buildBaseline } from "./baseline.js";
import type { Baseline, SignalAlert, SignalScoring } from "./types.js";

export interface SignalService {
  readonly scoring: SignalScoring;
  /** What `user`'s sessions before this one (`sessionId`) say is usual for them. */
  baseline(user: string, sessionId: string, policy: Policy, at: Date): Baseline;
  /** Sends an alert (in the background). */
  alert(alert: SignalAlert): void;
}

export interface SignalServiceOptions {
  scoring: SignalScoring;
  history: Pick<AuditIndex, "userHistory">;
  /** Delivers alerts; absent: alerts are audited only. */
  notify?: (alert: SignalAlert) => void;
  /** Reports a baseline that could not be read (the session goes on with no history). */
  report(message: string, fields: Record<string, unknown>): void;
}

export function createSignalService(options: SignalServiceOptions): SignalService {
  return {
    scoring: options.scoring,
    baseline(user, sessionId, policy, at) {
      const { lookback, new_network: networkGrouping } = policy.signals.behaviour;
      const since = new Date(at.getTime() - lookback);
      let history: ReturnType<AuditIndex["userHistory"]> = [];
      try {
        history = options.history.userHistory(user, since, at).filter((s) => s.id !== sessionId);
      } catch (error) {
        options.report("cannot read the user's history for signals", {
          user,
          reason: errorMessage(error),
        });
      }
      return buildBaseline(history, (target) => policy.targets.get(target)?.labels, {
        lookbackMs: lookback,
        networkGrouping,
        ...(policy.signals.business_hours ? { timeZone: policy.signals.business_hours.tz } : {}),
      });
    },
    alert(alert) {
      options.notify?.(alert);
    },
  };
}
