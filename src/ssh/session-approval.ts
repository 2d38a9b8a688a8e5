// Just-in-time access for one connection (issue 7 item 4): an access entry
// with `session: approve` lets the user in only once an approver said yes.
// The first channel the user opens carries the conversation (approval-gate.ts:
// request, countdown, Ctrl-C); every other channel waits for the same answer.
// An approval with `grant` opens a window: sessions to that target start
// without asking until it ends, and this connection is warned five minutes
// before and ended when the grant expires or is revoked.

import type { ServerChannel } from "ssh2";
import type { Approvals, SessionGrant } from "../approvals/types.js";
import {
  type ApprovalGateContext,
  type ApprovalSubject,
  waitForApproval,
} from "./approval-gate.js";
import type { ChannelStart } from "./session-channel.js";

const WARN_BEFORE_MS = 5 * 60_000;
/** How often a grant is looked up again, so a revocation (from any process) ends the session. */
const GRANT_CHECK_EVERY_MS = 5_000;

export interface SessionApprovalHooks {
  readonly gate: ApprovalGateContext;
  readonly subject: ApprovalSubject;
  readonly approvals: Approvals;
  /** Tells every open channel (a warning). */
  tell(message: string): void;
  /** Ends the whole connection with a reason. */
  end(reason: string): void;
}

export class SessionApproval {
  private answer: Promise<boolean> | undefined;
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly hooks: SessionApprovalHooks) {}

  /** Whether the session may start; the first caller's channel asks. */
  whenApproved(start: ChannelStart, channel: ServerChannel): Promise<boolean> {
    this.answer ??= this.ask(start, channel);
    return this.answer;
  }

  /** The connection may go on while `grant` lasts. */
  follow(grant: SessionGrant): void {
    const now = this.hooks.gate.now().getTime();
    const left = grant.expires.getTime() - now;
    const at = (ms: number, then: () => void) => {
      const timer = setTimeout(then, Math.max(0, ms));
      timer.unref();
      this.timers.push(timer);
    };
    if (left > WARN_BEFORE_MS)
      at(left - WARN_BEFORE_MS, () =>
        this.hooks.tell(`your access to ${grant.target} ends in 5 minutes (grant ${grant.id})`),
      );
    at(left, () => this.hooks.end(`the access grant ${grant.id} expired`));
    const check = setInterval(() => {
      const still = this.hooks.approvals.activeGrant(grant.user, grant.target);
      if (still?.id !== grant.id) this.hooks.end(`the access grant ${grant.id} was revoked`);
    }, GRANT_CHECK_EVERY_MS);
    check.unref();
    this.timers.push(check);
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }

  private async ask(start: ChannelStart, channel: ServerChannel): Promise<boolean> {
    const interactive = start.pty !== undefined;
    const wait = waitForApproval(this.hooks.gate, this.hooks.subject, {
      write: (text) => {
        (interactive ? channel : channel.stderr).write(text);
      },
      interactive,
      ...(start.reason === undefined ? {} : { reason: start.reason }),
    });
    const typed = (data: Buffer) => wait.typed(data);
    if (interactive) channel.on("data", typed);
    channel.once("close", () => wait.abandon());
    const { allowed } = await wait.outcome;
    channel.off("data", typed);
    channel.pause(); // until the upstream channel is piped to it
    const { requester, target } = this.hooks.gate;
    const grant = allowed ? this.hooks.approvals.activeGrant(requester.user, target) : undefined;
    if (grant !== undefined) this.follow(grant);
    return allowed;
  }
}
