// The validated policy model (SPEC §5): targets, access entries and command
// rulesets as produced by the loader. Field names follow the YAML keys; values
// are parsed (durations in ms, sizes in bytes, regexes compiled, references
// checked). Lookups keyed by user-chosen names use Maps, never plain objects.
import type { SourceLocation } from "../util/yaml-source.js";
import type { HostPort } from "./address.js";
import type { Cidr, CidrSet } from "./cidr.js";
import type { ForwardingSetting } from "./forwarding.js";
import type { PublicKey } from "./public-key.js";
import type { Schedule } from "./schedule.js";

export type { SourceLocation } from "../util/yaml-source.js";

/** What a command (or an unresolvable one) gets. Severity: deny > approve > warn > allow. */
export type RuleAction = "allow" | "warn" | "approve" | "deny";
export type SessionAction = "allow" | "deny" | "approve";
export type FileTransferMode = "allow" | "deny" | "approve" | "readonly" | "writeonly";

export interface Principals {
  readonly groups: readonly string[];
  readonly users: readonly string[];
}

export interface Target {
  readonly name: string;
  readonly source: SourceLocation;
  readonly address: HostPort;
  /** Non-empty; the first one is the default login. */
  readonly logins: readonly string[];
  /** Vault entry name for every login (a single `credential:` string applies to all). */
  readonly credentials: ReadonlyMap<string, string>;
  /** Exactly one of host_key / host_ca is set. */
  readonly host_key?: PublicKey;
  readonly host_ca?: PublicKey;
  readonly labels: ReadonlyMap<string, string>;
  /**
   * Which shell interactive sessions run with the command gate installed:
   * `auto` uses the login's shell from the target (bash or zsh).
   */
  readonly shell: "auto" | "bash" | "zsh";
}

export interface TargetSelection {
  readonly names: readonly string[];
  /** When present (never empty), a target whose labels include all of these matches. */
  readonly labels?: ReadonlyMap<string, string>;
}

/** How a command approval is decided; on a rule, or as an access entry's defaults (docs/approvals.md). */
export interface ApprovalTuning {
  /** Distinct approvers needed (default 1). */
  readonly quorum?: number;
  /** ms during which the requester may run the same approved line again without asking. */
  readonly reuse?: number;
  /** The requester must give a reason. */
  readonly justify?: boolean;
}

export interface Approval extends ApprovalTuning {
  readonly approvers: Principals;
  /** How long a granted session approval lasts (ms); absent: until the session ends. */
  readonly grant?: number;
  /** How long a request waits for a decision (ms); absent: config `approvals.timeout`. */
  readonly timeout?: number;
}

export interface FileRule {
  readonly action: "allow" | "deny";
  readonly glob: string;
  readonly source: SourceLocation;
}

/** A built-in detector by name (SPEC §9), or a custom one with its regex (compiled without flags). */
export interface MaskSpec {
  readonly name: string;
  readonly regex?: RegExp;
}

export interface AccessEntry {
  readonly name: string;
  readonly source: SourceLocation;
  readonly subjects: Principals;
  readonly targets: TargetSelection;
  /** Absent: every login of the matched target. */
  readonly logins?: readonly string[];
  readonly when?: Schedule;
  readonly from?: CidrSet;
  readonly session: SessionAction;
  readonly approval?: Approval;
  /** ms */
  readonly max_session?: number;
  /** Ruleset names (all exist in the policy); every one applies. */
  readonly commands: readonly string[];
  readonly on_dynamic: RuleAction;
  readonly on_unverified: RuleAction;
  readonly file_transfer: FileTransferMode;
  readonly files: readonly FileRule[];
  /** bytes */
  readonly max_download?: number;
  /** `-L`/`-W`/`-R` tunnels (docs/forwarding.md); default deny. */
  readonly forwarding: ForwardingSetting;
  readonly mask: readonly MaskSpec[];
  /** Detectors for the input the recording keeps (`mask_input: true`: the same as `mask`). */
  readonly mask_input: readonly MaskSpec[];
  /** `masking.recording_only` (the entry's, else the policy's, else false): the user sees output unmasked. */
  readonly mask_recording_only: boolean;
  /** Absent: config `recordings.record_input`. */
  readonly record_input?: boolean;
}

export type Pattern =
  /** Any of these word patterns (matching is implemented by the command matcher). */
  | { readonly kind: "words"; readonly alternatives: readonly string[] }
  /** Compiled without flags, against the normalized text of one simple command. */
  | { readonly kind: "regex"; readonly regex: RegExp }
  /** A command that writes, by redirection, a file matching a glob and no `except` glob. */
  | {
      readonly kind: "writes";
      readonly globs: readonly string[];
      readonly except: readonly string[];
    };

export interface Rule extends ApprovalTuning {
  /** `rulesetName#N`, N counted from 1 in file order. */
  readonly id: string;
  readonly action: RuleAction;
  readonly pattern: Pattern;
  readonly reason?: string;
  /** 0–100 */
  readonly risk?: number;
  readonly exact: boolean;
  readonly approvers?: Principals;
  readonly source: SourceLocation;
}

export interface Ruleset {
  readonly name: string;
  readonly source: SourceLocation;
  /** What a command no rule matches gets. */
  readonly default: RuleAction;
  /** First matching rule wins. */
  readonly rules: readonly Rule[];
}

export interface Policy {
  readonly targets: ReadonlyMap<string, Target>;
  readonly rulesets: ReadonlyMap<string, Ruleset>;
  /** In file order (files in lexical name order); first match wins. */
  readonly access: readonly AccessEntry[];
  /** Signal rules of every file in file order; behaviour and business hours from at most one file. */
  readonly signals: SignalSettings;
}

// ---- Insider-threat signals (docs/signals.md) ----

/** What a signal does besides adding its score: `end-session` denies the line and ends the session. */
export type SignalAction = "warn" | "approve" | "deny" | "end-session";

/** Where a signal comes from: a policy rule, the user's behaviour, or the bastion's own integrity checks. */
export type SignalSource = "policy" | "behaviour" | "integrity";

/** Evidence values kept with a signal (never secrets: command text is as the audit keeps it). */
export type SignalEvidence = Readonly<
  Record<string, string | number | boolean | readonly string[]>
>;

/** One signal raised in a session. */
export interface SignalHit {
  /** A policy rule's `name`; a behavioural signal's name (`first-target`…); an integrity check's (`unverified`…). */
  readonly rule: string;
  readonly source: SignalSource;
  /** Added to the session's risk score (0–1000). */
  readonly score: number;
  /** One explainable sentence: "alice has never accessed env=prod in 30 days". */
  readonly reason: string;
  readonly evidence: SignalEvidence;
  readonly action?: SignalAction;
}

/** Session facts a signal rule's `when:` may test (all that are given must hold). */
export interface SignalCondition {
  readonly targets?: TargetSelection;
  readonly logins?: readonly string[];
  readonly subjects?: Principals;
  /** Only outside `signals.business_hours` (never when no business hours are set). */
  readonly off_hours?: boolean;
  /** Only when the session's source address is outside these networks. */
  readonly from_outside?: CidrSet;
}

/** Transfer paths a signal rule matches (sftp, scp, rsync), with the same globs as `files:` rules. */
export interface SignalPaths {
  readonly globs: readonly string[];
  /** Absent: both directions. */
  readonly direction?: "download" | "upload";
}

/**
 * A `signals.rules` entry. It fires on a command line when `commands` matches
 * one of the line's simple commands (and `except` matches none of them), on a
 * file transfer when `paths` matches, and once at session start when it has
 * neither; `when` narrows all three. Every firing rule adds its score; its
 * action is combined with the command's own decision (most severe wins).
 */
export interface SignalRule {
  readonly name: string;
  readonly source: SourceLocation;
  readonly score: number;
  readonly action?: SignalAction;
  readonly reason?: string;
  readonly commands?: Pattern;
  readonly except?: Pattern;
  /** As a command rule's `exact:`. */
  readonly exact: boolean;
  readonly paths?: SignalPaths;
  readonly when?: SignalCondition;
}

/** A behavioural signal counted over a sliding window. */
export interface WindowedSignal {
  /** How many events within `within` raise it. */
  readonly count: number;
  /** ms */
  readonly within: number;
  /** 0 turns it off. */
  readonly score: number;
}

/** `signals.behaviour.new_network`; the short form `new_network: 20` is just the score. */
export interface NewNetworkSettings {
  readonly score: number;
  /** Each is one network: an address inside (the most specific entry wins) belongs to it. */
  readonly networks: readonly Cidr[];
  /** How other addresses group into networks (default 24 and 64). */
  readonly ipv4_prefix: number;
  readonly ipv6_prefix: number;
}

/** `signals.behaviour` (defaults in docs/signals.md); a score of 0 turns a signal off. */
export interface BehaviourSettings {
  /** ms of history the baselines look at (default 30d). */
  readonly lookback: number;
  /** Sessions in the lookback a user needs before novelty signals (first target/label, new network) fire (default 3). */
  readonly min_history: number;
  readonly first_target: number;
  readonly first_label: number;
  readonly new_network: NewNetworkSettings;
  /** Outside `signals.business_hours`. */
  readonly off_hours: number;
  /** Outside the hours this user usually starts sessions (needs `min_history` sessions of its own). */
  readonly unusual_hour: { readonly score: number; readonly min_history: number };
  /** Denied lines in a row within a window. */
  readonly denial_streak: WindowedSignal;
  /** Commands with risk ≥ `min_risk` in quick succession. */
  readonly privileged_burst: WindowedSignal & { readonly min_risk: number };
  /** Bytes downloaded in the session above `factor` × the user's usual (90th percentile), and above `floor`. */
  readonly download_volume: {
    readonly factor: number;
    /** bytes */
    readonly floor: number;
    readonly score: number;
  };
  /** After an approval request, `count` more commands of the same program within `within`. */
  readonly approval_fanout: WindowedSignal;
  /** A line denied, then within `within` a line running the same program allowed or approved. */
  readonly denial_override: { readonly within: number; readonly score: number };
}

export interface SignalSettings {
  readonly rules: readonly SignalRule[];
  readonly behaviour: BehaviourSettings;
  readonly business_hours?: Schedule;
}

/** What signal rules may know about the session a line, transfer or start belongs to (pure input). */
export interface SessionFacts {
  readonly user: string;
  readonly groups: readonly string[];
  readonly target: Target;
  readonly login: string;
  readonly sourceIp: string;
  /** When the line is decided (for `off_hours`). */
  readonly at: Date;
}
