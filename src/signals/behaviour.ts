// Behavioural signals (docs/signals.md "Behavioural signals"): what is
// unusual for this user given their baseline — at session start (first
// target or label, new network, off hours, unusual hour) and while it runs
// (denial streaks, privileged bursts, approval fan-out, denials overridden,
// download volume). Pure: times are numbers of ms (or the session's start
// Date) passed in; the caller scores and audits the hits.
import { posix } from "node:path";
import type { CommandVerdict, LineVerdict } from "../policy/command-types.js";
import { checkSchedule, type HoursWindow, localClock, type Schedule } from "../policy/schedule.js";
import { effectsOf } from "../policy/shell/wrappers.js";
import type { RuleAction } from "../policy/types.js";
import { labelText, networkOf } from "./baseline.js";
import type {
  Baseline,
  BehaviourSettings,
  SessionFacts,
  SignalEvidence,
  SignalHit,
} from "./types.js";

export type BehaviourSignal =
  | "first-target"
  | "first-label"
  | "new-network"
  | "off-hours"
  | "unusual-hour"
  | "denial-streak"
  | "privileged-burst"
  | "approval-fanout"
  | "denial-override"
  | "download-volume";

const HOURS_PER_DAY = 24;
const SPAN_UNITS: readonly (readonly [string, number])[] = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1_000],
];
const NUMBER = new Intl.NumberFormat("en-US");

function hit(
  rule: BehaviourSignal,
  score: number,
  reason: string,
  evidence: SignalEvidence,
): SignalHit {
  return { rule, source: "behaviour", score, reason, evidence };
}

// ── at session start ────────────────────────────────────────────────────

/** The signals a session raises when it starts; `businessHours` and the baseline's hours share a zone. */
export function startSignals(
  settings: BehaviourSettings,
  businessHours: Schedule | undefined,
  facts: SessionFacts,
  baseline: Baseline,
): SignalHit[] {
  const novelty = baseline.sessions >= settings.min_history;
  return [
    ...(novelty ? noveltySignals(settings, facts, baseline) : []),
    ...offHours(settings.off_hours, businessHours, facts),
    ...unusualHour(settings.unusual_hour, businessHours?.tz ?? "UTC", facts, baseline),
  ];
}

/** What novelty signals say about the history they compare with. */
interface History {
  readonly baseline: Baseline;
  /** `in 30 days (12 sessions)` */
  readonly text: string;
  readonly evidence: SignalEvidence;
}

/** First target, first labels, new network: what the lookback has not seen. */
function noveltySignals(
  settings: BehaviourSettings,
  facts: SessionFacts,
  baseline: Baseline,
): SignalHit[] {
  const history: History = {
    baseline,
    text: `in ${spanText(baseline.lookbackMs)} (${plural(baseline.sessions, "session")})`,
    evidence: { sessions: baseline.sessions, lookbackMs: baseline.lookbackMs },
  };
  return [
    ...firstTarget(settings.first_target, facts, history),
    ...firstLabels(settings.first_label, facts, history),
    ...newNetwork(settings.new_network, facts, history),
  ];
}

function firstTarget(score: number, { user, target }: SessionFacts, history: History) {
  if (score === 0 || history.baseline.targets.has(target.name)) return [];
  const reason = `${user} has not accessed ${target.name} ${history.text}`;
  return [hit("first-target", score, reason, { target: target.name, ...history.evidence })];
}

/** One signal per label of the target that no target in the lookback had. */
function firstLabels(score: number, { user, target }: SessionFacts, history: History) {
  if (score === 0) return [];
  const labels = [...target.labels].map(([key, value]) => labelText(key, value));
  return labels
    .filter((label) => !history.baseline.labels.has(label))
    .map((label) => {
      const reason = `${user} has not accessed a target labelled ${label} ${history.text}`;
      return hit("first-label", score, reason, { label, target: target.name, ...history.evidence });
    });
}

/** The source address's network (as `settings` group them) is not among the baseline's. */
function newNetwork(
  settings: BehaviourSettings["new_network"],
  { user, sourceIp }: SessionFacts,
  history: History,
) {
  if (settings.score === 0) return [];
  const network = networkOf(settings)(sourceIp);
  if (network === undefined || history.baseline.networks.has(network)) return [];
  const reason = `${user} connected from ${network}, a network not used ${history.text}`;
  return [hit("new-network", settings.score, reason, { sourceIp, network, ...history.evidence })];
}

function offHours(
  score: number,
  businessHours: Schedule | undefined,
  facts: SessionFacts,
): SignalHit[] {
  if (score === 0 || businessHours === undefined) return [];
  const result = checkSchedule(businessHours, facts.at);
  if (result === "inside") return [];
  const { tz } = businessHours;
  const clock = localClock(facts.at, tz);
  const time = clockText(clock.hour, clock.minute);
  const day = result === "outside-days" ? ` on ${clock.weekday}` : "";
  const reason = `${facts.user} started a session at ${time} ${tz}${day}, outside business hours (${scheduleText(businessHours)})`;
  const evidence = {
    localTime: time,
    weekday: clock.weekday,
    timeZone: tz,
    outside: result === "outside-days" ? "days" : "hours",
  };
  return [hit("off-hours", score, reason, evidence)];
}

/** No session of the user started within ±1 hour of this hour of the day (needs history of their own). */
function unusualHour(
  settings: BehaviourSettings["unusual_hour"],
  timeZone: string,
  facts: SessionFacts,
  baseline: Baseline,
): SignalHit[] {
  if (settings.score === 0 || baseline.sessions < Math.max(1, settings.min_history)) return [];
  const { hour, minute } = localClock(facts.at, timeZone);
  const nearby = [hour - 1, hour, hour + 1].map(
    (h) => baseline.startHours[(h + HOURS_PER_DAY) % HOURS_PER_DAY] ?? 0,
  );
  if (nearby.some((count) => count > 0)) return [];
  const time = clockText(hour, minute);
  const usual = usualHours(baseline.startHours);
  const reason = `${facts.user} started a session at ${time} ${timeZone}; in ${spanText(baseline.lookbackMs)} their sessions started between ${usual.replace("-", " and ")}`;
  const evidence = {
    localTime: time,
    timeZone,
    usualHours: usual,
    sessions: baseline.sessions,
    lookbackMs: baseline.lookbackMs,
  };
  return [hit("unusual-hour", settings.score, reason, evidence)];
}

/**
 * The shortest stretch of the day (wrapping past midnight) holding every
 * session start, as `08:00-18:59`: the complement of the longest run of
 * hours without one. `startHours` has at least one start.
 */
export function usualHours(startHours: readonly number[]): string {
  let gap = { start: 0, length: 0 };
  for (let start = 0; start < HOURS_PER_DAY; start++) {
    let length = 0;
    while (length < HOURS_PER_DAY && (startHours[(start + length) % HOURS_PER_DAY] ?? 0) === 0)
      length++;
    if (length > gap.length) gap = { start, length };
  }
  const first = (gap.start + gap.length) % HOURS_PER_DAY;
  const last = (gap.start + HOURS_PER_DAY - 1) % HOURS_PER_DAY;
  return `${clockText(first, 0)}-${clockText(last, 59)}`;
}

function scheduleText(schedule: Schedule): string {
  const days = schedule.days?.join(",") ?? "every day";
  return schedule.hours === undefined ? days : `${days} ${hoursText(schedule.hours)}`;
}

function hoursText({ start, end }: HoursWindow): string {
  const text = (minutes: number) => clockText(Math.floor(minutes / 60), minutes % 60);
  return `${text(start)}-${text(end)}`;
}

function clockText(hour: number, minute: number): string {
  return `${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}`;
}

/** `30 days`, `2 minutes`, `1 hour 30 minutes`. */
export function spanText(ms: number): string {
  let rest = ms;
  const parts: string[] = [];
  for (const [unit, size] of SPAN_UNITS) {
    const count = Math.floor(rest / size);
    if (count === 0) continue;
    parts.push(plural(count, unit));
    rest -= count * size;
  }
  return parts.length === 0 ? `${ms} ms` : parts.join(" ");
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

// ── during the session ──────────────────────────────────────────────────

/**
 * Counts events in a sliding window of `within` ms (an event exactly
 * `within` ms ago still counts) and reports a burst once: when the window
 * first holds `count` events. It re-arms when an event arrives after a
 * whole window without events.
 */
class BurstWindow {
  #times: number[] = [];
  #armed = true;

  constructor(
    readonly count: number,
    readonly within: number,
  ) {}

  /** Records `events` events at `atMs`; true when they complete a burst. */
  add(atMs: number, events: number): boolean {
    if (events === 0) return false;
    this.#times = this.#times.filter((time) => atMs - time <= this.within);
    if (this.#times.length === 0) this.#armed = true;
    for (let i = 0; i < events; i++) this.#times.push(atMs);
    if (!this.#armed || this.#times.length < this.count) return false;
    this.#armed = false;
    return true;
  }

  /** Events in the window as of the last `add`. */
  get size(): number {
    return this.#times.length;
  }
}

/** A line later lines are compared with: when it was decided and its kept text. */
interface MarkedLine {
  readonly atMs: number;
  readonly line: string;
}

/** An approval request watched for fan-out. */
interface WatchedApproval extends MarkedLine {
  /** Lines after it that ran the same program. */
  followers: number;
  fired: boolean;
}

const OUTCOME: Readonly<Record<RuleAction, string>> = {
  allow: "allowed",
  warn: "allowed with a warning",
  approve: "sent for approval",
  deny: "denied",
};

/**
 * The running behavioural signals of one session: feed it every decided
 * line (with the text the audit keeps, secrets masked) and the session's
 * download total as it grows.
 */
export class BehaviourTracker {
  readonly #settings: BehaviourSettings;
  readonly #baseline: Baseline;
  readonly #user: string;
  readonly #denials: BurstWindow;
  readonly #privileged: BurstWindow;
  /** Program → its latest denied line not yet overridden. */
  readonly #denied = new Map<string, MarkedLine>();
  /** Program → the approval request being watched for fan-out. */
  readonly #approvals = new Map<string, WatchedApproval>();
  #downloadFired = false;

  constructor(settings: BehaviourSettings, baseline: Baseline, user: string) {
    this.#settings = settings;
    this.#baseline = baseline;
    this.#user = user;
    const { denial_streak: streak, privileged_burst: burst } = settings;
    this.#denials = new BurstWindow(streak.count, streak.within);
    this.#privileged = new BurstWindow(burst.count, burst.within);
  }

  /** The signals a decided line raises. */
  line(atMs: number, verdict: LineVerdict, keptLine: string): SignalHit[] {
    return [
      ...this.#denialStreak(atMs, verdict, keptLine),
      ...this.#privilegedBurst(atMs, verdict, keptLine),
      ...this.#denialOverride(atMs, verdict, keptLine),
      ...this.#approvalFanout(atMs, verdict, keptLine),
    ];
  }

  /** download-volume, once, when the session's download total exceeds max(floor, factor × the user's p90). */
  transfer(sessionBytesDown: number): SignalHit[] {
    const { factor, floor, score } = this.#settings.download_volume;
    const p90 = this.#baseline.downloadP90;
    const limit = Math.max(floor, factor * p90);
    if (score === 0 || this.#downloadFired || sessionBytesDown <= limit) return [];
    this.#downloadFired = true;
    const bytes = (count: number) => `${NUMBER.format(count)} bytes`;
    const reason = `${this.#user} downloaded ${bytes(sessionBytesDown)} in this session, above ${bytes(limit)} (${factor} × their 90th percentile of ${bytes(p90)} per session in ${spanText(this.#baseline.lookbackMs)}, at least ${bytes(floor)})`;
    const evidence = { bytes: sessionBytesDown, limit, downloadP90: p90, factor, floor };
    return [hit("download-volume", score, reason, evidence)];
  }

  #denialStreak(atMs: number, verdict: LineVerdict, line: string): SignalHit[] {
    const { score, count, within } = this.#settings.denial_streak;
    const denied = verdict.decision === "deny" ? 1 : 0;
    if (score === 0 || !this.#denials.add(atMs, denied)) return [];
    const reason = `${this.#user} had ${plural(this.#denials.size, "line")} denied within ${spanText(within)}`;
    const evidence = { line, denials: this.#denials.size, count, withinMs: within };
    return [hit("denial-streak", score, reason, evidence)];
  }

  #privilegedBurst(atMs: number, verdict: LineVerdict, line: string): SignalHit[] {
    const { score, count, within, min_risk: minRisk } = this.#settings.privileged_burst;
    // Denied lines did not run, and approved ones went through change management.
    const ranUnchecked = verdict.decision === "allow" || verdict.decision === "warn";
    const privileged = ranUnchecked
      ? verdict.commands.filter((command) => command.risk >= minRisk).length
      : 0;
    if (score === 0 || !this.#privileged.add(atMs, privileged)) return [];
    const commands = this.#privileged.size;
    const reason = `${this.#user} ran ${plural(commands, "command")} with risk ${minRisk} or more within ${spanText(within)}`;
    const evidence = { line, commands, count, minRisk, withinMs: within };
    return [hit("privileged-burst", score, reason, evidence)];
  }

  /** A denied line's program run again, not denied, within the window (once per denial). */
  #denialOverride(atMs: number, verdict: LineVerdict, line: string): SignalHit[] {
    const { score, within } = this.#settings.denial_override;
    if (score === 0) return [];
    if (verdict.decision === "deny") {
      for (const program of decidedPrograms(verdict, "deny")) {
        this.#denied.set(program, { atMs, line });
      }
      return [];
    }
    for (const program of programsOf(verdict.commands)) {
      const denial = this.#denied.get(program);
      if (denial === undefined) continue;
      this.#denied.delete(program);
      if (atMs - denial.atMs > within) continue;
      const reason = `${this.#user} ran ${program} ${spanText(atMs - denial.atMs)} after a line running it was denied, and this time it was ${OUTCOME[verdict.decision]}`;
      const evidence = {
        program,
        deniedLine: denial.line,
        line,
        decision: verdict.decision,
        afterMs: atMs - denial.atMs,
        withinMs: within,
      };
      return [hit("denial-override", score, reason, evidence)];
    }
    return [];
  }

  /** `count` lines running an approval request's program within the window after it (once per request). */
  #approvalFanout(atMs: number, verdict: LineVerdict, line: string): SignalHit[] {
    const { score, count, within } = this.#settings.approval_fanout;
    if (score === 0) return [];
    const hits: SignalHit[] = [];
    for (const program of programsOf(verdict.commands)) {
      const approval = this.#approvals.get(program);
      if (approval === undefined || approval.fired) continue;
      if (atMs - approval.atMs > within) continue;
      approval.followers++;
      if (approval.followers < count) continue;
      approval.fired = true;
      const reason = `${this.#user} ran ${program} ${plural(approval.followers, "more time")} within ${spanText(within)} after requesting approval for it`;
      const evidence = { program, approvedLine: approval.line, line, count, withinMs: within };
      hits.push(hit("approval-fanout", score, reason, evidence));
    }
    if (verdict.decision === "approve") this.#watchApproval(atMs, verdict, line, within);
    return hits;
  }

  /** Starts watching the line's approved programs, unless a request for one is watched already. */
  #watchApproval(atMs: number, verdict: LineVerdict, line: string, within: number): void {
    for (const program of decidedPrograms(verdict, "approve")) {
      const watched = this.#approvals.get(program);
      if (watched !== undefined && atMs - watched.atMs <= within) continue;
      this.#approvals.set(program, { atMs, line, followers: 0, fired: false });
    }
  }
}

/**
 * The programs behind a line's `decision`: those of the commands so decided,
 * or (when the decision came from wrappers only, or from a signal rule) of
 * all its commands.
 */
function decidedPrograms(verdict: LineVerdict, decision: RuleAction): Set<string> {
  const decided = programsOf(verdict.commands.filter((command) => command.decision === decision));
  return decided.size > 0 ? decided : programsOf(verdict.commands);
}

/**
 * The basenames of the programs a line's commands run, leaving out wrappers
 * (`sudo`, `env`, `nice`, `bash -c`, `xargs`, …): the extractor already lists
 * what they run as commands of their own.
 */
function programsOf(commands: readonly CommandVerdict[]): Set<string> {
  const programs = new Set<string>();
  for (const { argv } of commands) {
    const program = posix.basename(argv[0] ?? "");
    if (program !== "" && !runsAnotherCommand(program, argv.slice(1))) programs.add(program);
  }
  return programs;
}

function runsAnotherCommand(program: string, args: readonly string[]): boolean {
  const words = args.map((literal) => ({ literal }));
  const effects = effectsOf(program, words, { unknown: "the terminal" });
  return effects.some((effect) => "run" in effect || "code" in effect);
}
