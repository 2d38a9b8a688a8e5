// What the SSH layer needs from the rest of the bastion, passed in once at
// start-up. Functions (not values) so that reloads of trust anchors, policy
// and vault are picked up by the next connection without a restart.

import type { Approvals } from "../approvals/types.js";
import type { AuditLog } from "../audit/log.js";
import type { CertificateTrust } from "../auth/certificate-check.js";
import type { DetectionPool } from "../masking/detection-pool.js";
import type { Policy } from "../policy/index.js";
import type { CastHeader, SessionRecording } from "../recording/index.js";
import type { SignalService } from "../signals/service.js";

/** Where session channels are recorded (src/serve/recordings.ts). */
export interface SessionRecordings {
  /** Starts a channel's recording; throws a one-line error when it cannot be created. */
  open(id: string, sessionId: string, header: CastHeader): SessionRecording;
  /** `required`: a channel without a recording is refused, and a failed recording ends it. */
  readonly required: boolean;
  /** The config's `recordings.record_input` (an access entry's `record_input` overrides it). */
  readonly recordInput: boolean;
}

export interface BastionContext {
  audit: AuditLog;
  now(): Date;
  trust(): CertificateTrust;
  policy(): Policy;
  /** Decrypted private key of a vault entry. */
  credential(name: string): Buffer;
  /** Tolerance for certificate validity windows (config `ca.clock_skew`). */
  clockSkewMs: number;
  loginTimeoutMs: number;
  upstreamTimeoutMs: number;
  /** How long an interactive shell's startup files may take before the command gate is in place. */
  shellStartupTimeoutMs: number;
  recordings: SessionRecordings;
  /** Approval requests, votes and session grants (src/approvals). */
  approvals: Approvals;
  /** How long an approval request waits when the policy does not say (config `approvals.timeout`). */
  approvalTimeoutMs: number;
  /** The masking detection threads shared by every masked channel (terminated at shutdown). */
  maskingDetection: DetectionPool;
  /** Scoring, baselines and alerts of insider-threat signals (src/signals). */
  signals: SignalService;
}
