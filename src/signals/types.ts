// The shared vocabulary of insider-threat signals (docs/signals.md): the
// baseline a user's history gives, the scoring settings, and the alert sent
// when a session's score crosses the threshold. Policy-side types (rules,
// behaviour settings, SignalHit) live in src/policy/types.ts.
export type {
  BehaviourSettings,
  SessionFacts,
  SignalAction,
  SignalEvidence,
  SignalHit,
  SignalRule,
  SignalSettings,
  SignalSource,
} from "../policy/types.js";

/** What a user's sessions in the lookback say is usual for them (built by baseline.ts, pure). */
export interface Baseline {
  /** Sessions in the lookback. */
  readonly sessions: number;
  /** Target names used. */
  readonly targets: ReadonlySet<string>;
  /** `key=value` labels of the targets used (as the policy labels them now). */
  readonly labels: ReadonlySet<string>;
  /** Source networks used, as `new_network` groups them (by default the IPv4 /24 or IPv6 /64), e.g. `10.1.2.0/24`. */
  readonly networks: ReadonlySet<string>;
  /** Sessions started per hour of the day (24 entries), in `signals.business_hours`' zone or UTC. */
  readonly startHours: readonly number[];
  /** 90th percentile of bytes downloaded per session (0 without history). */
  readonly downloadP90: number;
  /** The lookback, ms (for reasons: "in 30 days"). */
  readonly lookbackMs: number;
}

/** Config `signals:`: how scores add up and where alerts go. */
export interface SignalScoring {
  /** An alert is sent once per session when its score reaches this. */
  readonly threshold: number;
  /** A signal's contribution halves every this many ms. */
  readonly halfLifeMs: number;
}

/** Sent (webhook) and audited (`signal.alert`) when a session's score crosses the threshold. */
export interface SignalAlert {
  readonly session: string;
  readonly user: string;
  readonly target: string;
  readonly login: string;
  readonly sourceIp: string;
  readonly score: number;
  readonly threshold: number;
  readonly time: Date;
  /** The signals so far in the session, oldest first. */
  readonly signals: readonly Pick<
    import("../policy/types.js").SignalHit,
    "rule" | "score" | "reason"
  >[];
}
