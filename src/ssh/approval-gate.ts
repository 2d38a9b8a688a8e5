// A command line, or a whole session, held for a second pair of eyes
// (issue 7; docs/approvals.md "In a session"). For what the policy decided
// `approve`: reuse a recent approval of the exact line, else (after asking
// for a reason when the policy wants one) create a request, show who may
// approve it and a live countdown, and wait for the outcome; Ctrl-C or a
// closed channel withdraws. The caller goes on only when told `allowed` —
// for a shell line, by answering the gate that still holds exactly it.

import type {
  ApprovalKind,
  ApprovalOutcome,
  ApprovalRequest,
  Approvals,
  Principal,
} from "../approvals/types.js";
import type { ApprovalSettings } from "../policy/approval-settings.js";
import type { LineVerdict } from "../policy/command-types.js";
import { explainVerdict } from "../session/command-check.js";
import { errorMessage } from "../util/errors.js";
import { LineInput } from "./line-input.js";

const CTRL_C = 0x03;
const MAX_REASON_BYTES = 500;
const COUNTDOWN_EVERY_MS = 1000;

export interface ApprovalGateContext {
  readonly approvals: Approvals;
  readonly requester: Principal;
  readonly session: string;
  readonly target: string;
  readonly login?: string;
  /** A marker in the channel's recording. */
  marker(label: string): void;
  now(): Date;
}

/** What needs approval. */
export interface ApprovalSubject {
  readonly kind: ApprovalKind;
  /** The exact command line, "session", or the transfer that asked ("sftp", `scp -f …`). */
  readonly line: string;
  readonly rule: string;
  readonly reason: string;
  /** What the user is told needs approval, e.g. "restarts need approval (rule ops#2)". */
  readonly description: string;
  /** The policy's settings now; undefined when nothing could approve it. */
  settings(): ApprovalSettings | undefined;
}

/** The subject for a command line the policy decided `approve`. */
export function commandSubject(
  line: string,
  verdict: LineVerdict,
  settings: () => ApprovalSettings | undefined,
): ApprovalSubject {
  return {
    kind: "command",
    line,
    rule: verdict.rule ?? "",
    reason: verdict.reason ?? "",
    description: explainVerdict(verdict),
    settings,
  };
}

export interface ApprovalWait {
  /** `allowed`: run the line. Either way, everything to tell the user was written. */
  readonly outcome: Promise<{ allowed: boolean }>;
  /** A keystroke while waiting: Ctrl-C withdraws; text answers the reason prompt. */
  typed(data: Buffer): void;
  /** The channel went away: withdraw. */
  abandon(): void;
}

export interface WaitOptions {
  /** Writes to the user (a terminal: the countdown line is redrawn in place). */
  write(text: string): void;
  /** Whether the user can type (a terminal); without one a reason must come with the request. */
  interactive: boolean;
  /** A reason given with the request (exec: the `PORTCULLIS_REASON` environment variable). */
  reason?: string;
}

export function waitForApproval(
  context: ApprovalGateContext,
  subject: ApprovalSubject,
  options: WaitOptions,
): ApprovalWait {
  return new ApprovalConversation(context, subject, options).start();
}

type Stage = "reason" | "waiting" | "done";

class ApprovalConversation implements ApprovalWait {
  readonly outcome: Promise<{ allowed: boolean }>;
  private finish: (allowed: boolean) => void = () => undefined;
  private stage: Stage = "waiting";
  private reason = "";
  private reasonInput: LineInput | undefined;
  private request: ApprovalRequest | undefined;
  private countdown: NodeJS.Timeout | undefined;

  constructor(
    private readonly context: ApprovalGateContext,
    private readonly subject: ApprovalSubject,
    private readonly options: WaitOptions,
  ) {
    this.outcome = new Promise((resolve) => {
      this.finish = (allowed) => {
        this.stage = "done";
        clearInterval(this.countdown);
        resolve({ allowed });
      };
    });
  }

  start(): this {
    const settings = this.subject.settings();
    if (settings === undefined || !anyApprover(settings)) {
      this.refuse(`blocked: needs approval, but the policy names no approver: ${this.why()}`);
      return this;
    }
    const reused =
      this.subject.kind === "command"
        ? this.context.approvals.reusable(
            this.context.requester.user,
            this.context.target,
            this.subject.line,
          )
        : undefined;
    if (reused !== undefined) {
      this.say(`approved earlier by ${reused.decidedBy.join(", ")} (request ${reused.id}, reused)`);
      this.context.marker(`approved by ${reused.decidedBy.join(", ")} (reused): ${this.line}`);
      this.finish(true);
      return this;
    }
    const given = this.options.reason?.trim() ?? "";
    if (!settings.justify || given !== "") {
      this.reason = given;
      this.submit(settings);
    } else if (this.options.interactive) {
      this.say(`needs approval: ${this.why()}`);
      this.askReason();
    } else {
      this.refuse(
        `blocked: needs approval with a reason: ${this.why()}; give one with ssh -o SetEnv=PORTCULLIS_REASON="…"`,
      );
    }
    return this;
  }

  typed(data: Buffer): void {
    if (this.stage === "reason") this.reasonTyped(data);
    else if (this.stage === "waiting" && data.includes(CTRL_C)) this.withdraw("withdrawn");
  }

  abandon(): void {
    if (this.stage !== "done") this.withdraw("the connection closed");
  }

  // ---- the reason prompt ---------------------------------------------------

  private askReason(): void {
    this.stage = "reason";
    this.reasonInput = new LineInput((text) => this.options.write(text.toString()), {
      maxBytes: MAX_REASON_BYTES,
    });
    this.options.write("portcullis: reason? ");
  }

  private reasonTyped(data: Buffer): void {
    const event = this.reasonInput?.feed(data);
    if (event === undefined) return;
    this.options.write("\r\n");
    this.reason = event.kind === "line" ? event.text.trim() : "";
    const settings = this.subject.settings();
    if (event.kind === "cancel") this.withdraw("withdrawn");
    else if (this.reason === "") this.askReason();
    else if (settings === undefined) this.refuse("blocked: the approval rule went away");
    else this.submit(settings);
  }

  // ---- the request ---------------------------------------------------------

  private submit(settings: ApprovalSettings): void {
    this.stage = "waiting";
    let request: ApprovalRequest;
    try {
      request = this.context.approvals.request({
        kind: this.subject.kind,
        requester: this.context.requester,
        session: this.context.session,
        target: this.context.target,
        ...(this.context.login === undefined ? {} : { login: this.context.login }),
        line: this.subject.line,
        rule: this.subject.rule,
        reason: this.subject.reason,
        approvers: settings.approvers,
        quorum: settings.quorum,
        ...(settings.reuseMs === undefined ? {} : { reuseMs: settings.reuseMs }),
        ...(settings.grantMs === undefined ? {} : { grantMs: settings.grantMs }),
        ...(this.reason === "" ? {} : { justification: this.reason }),
        timeoutMs: settings.timeoutMs,
      });
    } catch (error) {
      this.refuse(`blocked: the approval request could not be created: ${errorMessage(error)}`);
      return;
    }
    this.request = request;
    if (!settings.justify) this.say(`needs approval: ${this.why()}`);
    this.say(`request ${request.id} sent to ${approverList(settings)}`);
    this.startCountdown(request);
    this.context.approvals.outcome(request.id).then(
      (outcome) => this.decided(outcome),
      (error: unknown) => this.refuse(`blocked: the approval failed: ${errorMessage(error)}`),
    );
  }

  private startCountdown(request: ApprovalRequest): void {
    const draw = () => {
      const left = request.expires.getTime() - this.context.now().getTime();
      const hint = this.options.interactive ? " (Ctrl-C withdraws)" : "";
      this.options.write(`\r\x1b[Kportcullis: waiting for approval, ${clock(left)} left${hint}`);
    };
    if (!this.options.interactive) {
      this.say(
        `waiting for approval, up to ${clock(request.expires.getTime() - request.created.getTime())}`,
      );
      return;
    }
    draw();
    this.countdown = setInterval(draw, COUNTDOWN_EVERY_MS);
  }

  private decided(outcome: ApprovalOutcome): void {
    if (this.stage === "done") return;
    const { request, status } = outcome;
    const by = request.decidedBy.join(", ");
    const comment = request.comment === undefined ? "" : `: ${request.comment}`;
    this.clearCountdownLine();
    if (status === "approved") {
      this.say(`approved by ${by}${comment}`);
      this.context.marker(`approved by ${by}: ${this.line}`);
      this.finish(true);
      return;
    }
    const told = {
      denied: `denied by ${by}${comment}; ${this.notDone}`,
      expired: `request ${request.id} expired; ${this.notDone}`,
      withdrawn: `request ${request.id} withdrawn; ${this.notDone}`,
    }[status];
    this.context.marker(`${status}${by === "" ? "" : ` by ${by}`}: ${this.line}`);
    this.say(told);
    this.finish(false);
  }

  private withdraw(why: string): void {
    const request = this.request;
    if (request === undefined) {
      this.clearCountdownLine();
      this.say(`${why}: ${this.notDone}`);
      this.finish(false);
      return;
    }
    try {
      this.context.approvals.withdraw(request.id, this.context.requester.user);
    } catch (error) {
      // The service is gone (shutdown): the request expires on its own; nothing runs.
      this.refuse(`blocked: the request could not be withdrawn: ${errorMessage(error)}`);
    }
  }

  private refuse(message: string): void {
    this.clearCountdownLine();
    this.say(message);
    this.context.marker(`${message}: ${this.line}`);
    this.finish(false);
  }

  private clearCountdownLine(): void {
    if (this.options.interactive) this.options.write("\r\x1b[K");
  }

  private say(text: string): void {
    this.options.write(`portcullis: ${text}\r\n`);
  }

  private why(): string {
    return this.subject.description;
  }

  /** What a refusal means to the user: what did not happen. */
  private get notDone(): string {
    return NOT_DONE[this.subject.kind];
  }

  /** What the recording's markers name: the line, or "session". */
  private get line(): string {
    return this.subject.line;
  }
}

const NOT_DONE: Readonly<Record<ApprovalKind, string>> = {
  command: "the line was not run",
  session: "the session was not started",
  file_transfer: "nothing was transferred",
};

function anyApprover({ approvers }: ApprovalSettings): boolean {
  return approvers.users.length + approvers.groups.length > 0;
}

function approverList(settings: ApprovalSettings): string {
  const names = [
    ...settings.approvers.users,
    ...settings.approvers.groups.map((group) => `group ${group}`),
  ].join(", ");
  return settings.quorum > 1 ? `${names} (${settings.quorum} approvals needed)` : names;
}

/** m:ss, never negative. */
export function clock(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}
