// One SSH session's insider-threat signals (docs/signals.md): the single
// place the data path reports what it saw — session start, decided command
// lines, file transfers, integrity problems — and where each signal is
// scored, audited as a `signal` event, marked in the recording and, once the
// session's decayed score reaches the threshold, alerted. Deciding is left
// to the pure parts: signal rules (src/policy/signal-rules.ts), behaviour
// (behaviour.ts) and scoring (score.ts). State lives in this object, one per
// session, never in the module.

import type { AuditEventName } from "../audit/events.js";
import type { AuditFields } from "../audit/log.js";
import type { LineVerdict } from "../policy/command-types.js";
import { sessionStartSignals, transferSignals } from "../policy/index.js";
import type { Policy, SessionFacts, SignalAction, SignalHit } from "../policy/types.js";
import { BehaviourTracker, startSignals } from "./behaviour.js";
import { crossed, RiskScore } from "./score.js";
import type { SignalService } from "./service.js";
import type { Baseline } from "./types.js";

/** Integrity signals the bastion raises itself, with their scores (docs/signals.md). */
export const INTEGRITY_SCORES = {
  /** A line or shell the bastion cannot be sure about (`on_unverified`), tampering included. */
  unverified: 40,
  /** The session's recording could not be written. */
  recording: 50,
  /** Output masking failed (the channel ended). */
  masking: 50,
  /** A malformed sftp request. */
  sftp: 20,
} as const;

export type IntegrityCheck = keyof typeof INTEGRITY_SCORES;

const ACTION_SEVERITY: Readonly<Record<SignalAction, number>> = {
  warn: 1,
  approve: 2,
  deny: 3,
  "end-session": 4,
};

export interface SessionSignalsOptions {
  readonly sessionId: string;
  /** The session's facts but the moment (each report uses the clock's). */
  readonly facts: Omit<SessionFacts, "at">;
  policy(): Policy;
  readonly service: SignalService;
  now(): Date;
  audit(event: Extract<AuditEventName, "signal" | "signal.alert">, fields: AuditFields): void;
  /** Ends the SSH session (a signal with `action: end-session`). */
  endSession(reason: string): void;
}

/** Text as the audit keeps it (`mask_input` applied); identity when nothing is masked. */
export type KeepText = (text: string) => string;

export class SessionSignals {
  private readonly score: RiskScore;
  private readonly tracker: BehaviourTracker;
  private readonly baseline: Baseline;
  private readonly raised: SignalHit[] = [];
  private ended = false;
  private hasStarted = false;

  constructor(private readonly options: SessionSignalsOptions) {
    const { service, facts, sessionId } = options;
    const policy = options.policy();
    this.score = new RiskScore(service.scoring.halfLifeMs);
    this.baseline = service.baseline(facts.user, sessionId, policy, options.now());
    this.tracker = new BehaviourTracker(policy.signals.behaviour, this.baseline, facts.user);
  }

  /** The session may use its target: behaviour at start and the policy's session rules (once). */
  started(): void {
    if (this.hasStarted) return;
    this.hasStarted = true;
    const policy = this.options.policy();
    const facts = this.facts();
    const { behaviour, business_hours } = policy.signals;
    for (const hit of startSignals(behaviour, business_hours, facts, this.baseline)) {
      this.raise(hit);
    }
    for (const hit of sessionStartSignals(policy, facts)) this.raise(hit);
  }

  /** A decided command line: the rules that fired on it and what the user's pace says. */
  line(verdict: LineVerdict, keptLine: string, keep: KeepText, marker?: (label: string) => void) {
    const at = this.options.now(); // a line's signals are raised together
    for (const hit of verdict.signals ?? []) this.raise(keptEvidence(hit, keep), { marker, at });
    const behaviour = this.tracker.line(at.getTime(), verdict, keptLine);
    for (const hit of behaviour) this.raise(hit, { marker, at });
  }

  /**
   * A file about to be opened for transfer: the rules on its path fire now;
   * the one with the most severe action is returned for the caller to apply.
   */
  transferStarts(
    path: string,
    direction: "download" | "upload",
    home?: string,
  ): SignalHit | undefined {
    const hits = transferSignals(this.options.policy(), this.facts(), path, direction, home);
    for (const hit of hits) this.raise(hit);
    return mostSevere(hits);
  }

  /** The session's downloads so far (bytes): volume far above the user's usual raises a signal. */
  downloaded(sessionBytesDown: number): void {
    for (const hit of this.tracker.transfer(sessionBytesDown)) this.raise(hit);
  }

  /** Something the bastion needs to see could not be seen or kept. */
  integrity(check: IntegrityCheck, reason: string, fields: AuditFields = {}): void {
    const hit: SignalHit = {
      rule: check,
      source: "integrity",
      score: INTEGRITY_SCORES[check],
      reason,
      evidence: {},
    };
    this.raise(hit, { fields });
  }

  /** The session's facts as of now, for deciding a line. */
  facts(): SessionFacts {
    return { ...this.options.facts, at: this.options.now() };
  }

  /** `fields`: extra audit fields (an integrity check's `action` is the entry's `on_unverified`). */
  private raise(
    hit: SignalHit,
    how: { marker?: ((label: string) => void) | undefined; fields?: AuditFields; at?: Date } = {},
  ): void {
    const at = how.at ?? this.options.now();
    const peakBefore = this.score.peak;
    const sessionScore = this.score.add(at.getTime(), hit.score);
    this.raised.push(hit);
    const { rule, source, score, reason, action, evidence } = hit;
    this.options.audit("signal", {
      ...(source === "integrity" ? { kind: rule } : {}),
      rule,
      source,
      score,
      session_score: round(sessionScore),
      reason,
      action,
      evidence,
      ...how.fields,
    });
    how.marker?.(`signal: ${rule} +${score}`);
    if (crossed(peakBefore, sessionScore, this.options.service.scoring.threshold)) {
      this.alert(sessionScore, at);
    }
    if (action === "end-session") this.endFor(hit);
  }

  /** The score reached the threshold (once per session: the peak never falls). */
  private alert(sessionScore: number, at: Date): void {
    const { threshold } = this.options.service.scoring;
    const { facts, sessionId } = this.options;
    const summary = this.raised.map(({ rule, score, reason }) => ({ rule, score, reason }));
    this.options.audit("signal.alert", {
      score: round(sessionScore),
      threshold,
      signals: summary.length,
    });
    this.options.service.alert({
      session: sessionId,
      user: facts.user,
      target: facts.target.name,
      login: facts.login,
      sourceIp: facts.sourceIp,
      score: round(sessionScore),
      threshold,
      time: at,
      signals: summary,
    });
  }

  private endFor(hit: SignalHit): void {
    if (this.ended) return;
    this.ended = true;
    this.options.endSession(`session ended: ${hit.reason} (signal ${hit.rule})`);
  }
}

function keptEvidence(hit: SignalHit, keep: KeepText): SignalHit {
  const entries = Object.entries(hit.evidence).map(([key, value]) => [
    key,
    typeof value === "string" ? keep(value) : value,
  ]);
  return { ...hit, evidence: Object.fromEntries(entries) };
}

/** The hit whose action is the most severe; undefined when none has an action. */
function mostSevere(hits: readonly SignalHit[]): SignalHit | undefined {
  const severity = (hit: SignalHit | undefined) => (hit?.action ? ACTION_SEVERITY[hit.action] : 0);
  let worst: SignalHit | undefined;
  for (const hit of hits) if (severity(hit) > severity(worst)) worst = hit;
  return worst;
}

function round(score: number): number {
  return Math.round(score * 10) / 10;
}
