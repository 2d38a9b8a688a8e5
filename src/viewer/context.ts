// What the viewer needs from the running bastion, in one value handed to
// every route module: the audit index (read side), the web session store,
// the share link store, the recordings and their signing key, the approvals
// service, the token verifier, the issuer, the public URL, the role groups,
// session lifetimes, the share links' longest lifetime and the risk score's
// alert threshold, the audit log, a clock.

import type { Approvals } from "../approvals/index.js";
import type { AuditLog } from "../audit/log.js";
import type { VerifiedToken } from "../oidc/index.js";
import type { AuditKey, RecordingStore } from "../recording/index.js";
import type { AuditIndex } from "../store/index.js";
import type { ShareLinkStore } from "../store/share-links.js";
import type { WebSessionStore } from "../store/web-sessions.js";
import type { RoleGroups } from "./roles.js";
import type { SessionLifetimes } from "./web-sessions.js";

export interface ViewerSettings extends RoleGroups {
  readonly lifetimes: SessionLifetimes;
  /** The longest lifetime of a share link (`viewer.share_max_ttl`). */
  readonly shareMaxTtlMs: number;
  /** A session's risk score is shown as high from here (`signals.threshold`; default 100). */
  readonly riskThreshold?: number;
}

export const DEFAULT_RISK_THRESHOLD = 100;

export function riskThreshold(settings: ViewerSettings): number {
  return settings.riskThreshold ?? DEFAULT_RISK_THRESHOLD;
}

export interface ViewerDependencies {
  readonly index: Pick<AuditIndex, "listSessions" | "getSession" | "listSignals">;
  readonly webSessions: WebSessionStore;
  readonly shareLinks: ShareLinkStore;
  /** The one approvals service: the approvals page lists and decides through it. */
  readonly approvals: Pick<Approvals, "pending" | "history" | "decide" | "get">;
  readonly recordings: { readonly store: RecordingStore; readonly key: AuditKey };
  /** The bastion's one token check (src/oidc). */
  readonly verifier: { verify(token: string, now: Date): Promise<VerifiedToken> };
  readonly oidc: { readonly issuer: string; readonly clientId: string };
  /** `http.public_url`, else the listener's URL (known once it listens). */
  readonly publicUrl: () => string;
  /** Served over TLS (directly or behind an https `public_url`): Secure, `__Host-` cookies, HSTS. */
  readonly secure: boolean;
  readonly settings: ViewerSettings;
  readonly audit: AuditLog;
  readonly now: () => Date;
}
