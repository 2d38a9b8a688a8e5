// Public API of the policy module: the model types, loading (load.ts is the
// only file doing I/O), session access decisions, target selection and
// policy signal rules.
export {
  type AccessDecision,
  type AccessRequest,
  type AccessSubject,
  decideSessionAccess,
  mayForward,
  type ReachableTarget,
  reachableTargets,
} from "./access.js";
export { formatHostPort, type HostPort, parseHostPort } from "./address.js";
export { type Cidr, CidrSet, type IpFamily } from "./cidr.js";
export { unknownCredentials } from "./credentials.js";
export {
  DEFAULT_RISK,
  decideCommandLine,
  precompilePolicy,
} from "./decide.js";
export {
  decideInteractiveLine,
  NO_SHELL_FACTS,
  parseShellFacts,
  type ShellFacts,
} from "./interactive.js";
export { lintPolicy, type PolicyWarning } from "./lint.js";
export { loadPolicyDir } from "./load.js";
export { type PolicyFileText, parsePolicyFiles } from "./parse.js";
export { formatPublicKey, type PublicKey, parsePublicKeyLine } from "./public-key.js";
export type { HoursWindow, Schedule, Weekday } from "./schedule.js";
export {
  APPROVER_CONSOLE_USER,
  DEFAULT_BEHAVIOUR,
  MASK_DETECTORS,
  RESERVED_TARGET_NAMES,
} from "./schema.js";
export { parseTargetSelector, type TargetSelector } from "./selector.js";
export { extractCommands } from "./shell/index.js";
export {
  isOffHours,
  lineSignals,
  sessionStartSignals,
  type TransferDirection,
  transferSignals,
} from "./signal-rules.js";
export type * from "./types.js";
