// The validated policy model (SPEC §5): targets, access entries and command
// rulesets as produced by the loader. Field names follow the YAML keys; values
// are parsed (durations in ms, sizes in bytes, regexes compiled, references
// checked). Lookups keyed by user-chosen names use Maps, never plain objects.
import type { SourceLocation } from "../util/yaml-source.js";
import type { HostPort } from "./address.js";
import type { CidrSet } from "./cidr.js";
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
  | { readonly kind: "regex"; readonly regex: RegExp };

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
}
