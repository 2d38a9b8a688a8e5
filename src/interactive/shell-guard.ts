// The bastion half of the interactive command gate for one shell channel
// (docs/interactive.md). It sits between the user's channel and the upstream
// shell that runs our integration:
// - upstream output: strips the integration's markers (markers.ts) and tracks
//   whether the shell is at its prompt or running a command;
// - user input: at the prompt, forwards keystrokes up to a key that may accept
//   the line and holds the rest until the gate's verdict (accept-keys.ts);
// - gate: puts multi-line commands together (assemble.ts), asks `decide`,
//   answers the shell's challenge (allow) or not (the shell clears the line),
//   and drops what was typed after a refused line;
// - tampering: a command that starts without an allowed gate, or an
//   integration that never reports ready, goes to `unverified`.
// All policy and audit work happens in the hooks; this class only keeps the
// protocol's state, one instance per channel.

import { Transform, type TransformCallback } from "node:stream";
import type { LineVerdict } from "../policy/command-types.js";
import type { RuleAction } from "../policy/index.js";
import { parseShellFacts, type ShellFacts } from "../policy/interactive.js";
import { explainVerdict } from "../session/command-check.js";
import { AcceptKeyFinder } from "./accept-keys.js";
import { assembleLine } from "./assemble.js";
import { type Marker, MarkerScanner, type OutputPiece } from "./markers.js";

export interface ShellReport {
  /** The shell that reported ready, and what its startup files defined. */
  shell: string;
  facts: ShellFacts;
}

export interface ShellGuardHooks {
  /** Decides (and audits) a complete command line typed at the integrated prompt. */
  decide(line: string, context: { cwd: string; shell: ShellReport }): LineVerdict;
  /** Audits a tampering signal and returns the access entry's `on_unverified` action. */
  unverified(reason: string): RuleAction;
  /** Ends the channel with a message to the user. */
  end(message: string): void;
  /** Sees every keystroke as it arrives; `atPrompt` when the shell's line editor shows it. */
  typed?(data: Buffer, atPrompt: boolean): void;
  /**
   * An `approve` verdict: holds the line until a decision (the shell's gate
   * keeps waiting meanwhile); `write` reaches the user. Absent: refused.
   */
  approve?(line: string, verdict: LineVerdict, write: (text: string) => void): HeldLine;
}

/** A line waiting for a decision; it gets the user's keystrokes meanwhile. */
export interface HeldLine {
  readonly outcome: Promise<{ allowed: boolean }>;
  typed(data: Buffer): void;
  /** The channel went away. */
  abandon(): void;
}

export interface ShellGuardTiming {
  /** How long the integration may take to report ready (the user's startup files run first). */
  startupMs: number;
  /** How long input stays held after an accept key when no gate follows (vi `/` search). */
  acceptWaitMs: number;
  /**
   * How long input typed after an Enter is held while a command runs: until
   * the next prompt (which reads the typed-ahead line first) or this long,
   * for programs that read lines themselves (a REPL, `cat`).
   */
  runningWaitMs: number;
  /** How long a possible marker start at the end of a read is held back. */
  markerWaitMs: number;
  /**
   * How long keys held over a command's start wait after it (the shell
   * prints the start before its job owns the terminal; a Ctrl-C in between
   * interrupts the shell instead of the command).
   */
  jobStartMs: number;
}

export const DEFAULT_GUARD_TIMING: ShellGuardTiming = {
  startupMs: 15_000,
  acceptWaitMs: 300,
  runningWaitMs: 150,
  markerWaitMs: 20,
  jobStartMs: 25,
};

type Phase = "starting" | "prompt" | "running" | "unchecked";

export class ShellGuard {
  /** User keystrokes → upstream shell. */
  readonly input: Transform;
  /** Upstream shell output → user. */
  readonly output: Transform;

  private readonly markers: MarkerScanner;
  private readonly acceptKeys = new AcceptKeyFinder();
  private phase: Phase = "starting";
  private shell: ShellReport | undefined;
  private cwd = "";
  private held: Buffer[] = [];
  private holding = true;
  private holdTimer: NodeJS.Timeout | undefined;
  private markerTimer: NodeJS.Timeout | undefined;
  private pending = "";
  private gateAllowedSincePrompt = false;
  private typedAheadWhileRunning = false;
  /** An allow verdict was written and the shell has not shown (by a marker) that it read it. */
  private verdictUnread = false;
  /** An accept key went to the shell and no gate has answered it yet. */
  private acceptUnanswered = false;
  private noticeAtPrompt: string | undefined;
  private noticeAtStart: string | undefined;
  private heldLine: HeldLine | undefined;
  private readonly startupTimer: NodeJS.Timeout;

  constructor(
    nonce: string,
    private readonly hooks: ShellGuardHooks,
    private readonly timing: ShellGuardTiming = DEFAULT_GUARD_TIMING,
  ) {
    this.markers = new MarkerScanner(nonce);
    this.input = transform((chunk) => {
      hooks.typed?.(chunk, this.phase === "prompt");
      this.onInput(chunk);
    });
    this.output = transform(
      (chunk) => this.onOutput(chunk),
      () => this.flushOutput(),
    );
    this.startupTimer = setTimeout(
      () => this.tampered("the shell integration did not start"),
      timing.startupMs,
    );
    for (const stream of [this.input, this.output])
      stream.once("close", () => {
        this.stopTimers();
        this.heldLine?.abandon();
      });
  }

  // ---- user input ---------------------------------------------------------

  private onInput(chunk: Buffer): void {
    if (this.heldLine !== undefined) return void this.heldLine.typed(chunk);
    if (this.holding) {
      this.held.push(chunk);
      return;
    }
    const acceptEnd = this.acceptKeys.findAccept(chunk);
    if (acceptEnd === -1 || this.phase === "unchecked") return void this.input.push(chunk);
    this.input.push(chunk.subarray(0, acceptEnd));
    this.acceptUnanswered = true;
    if (this.phase === "running") {
      this.hold(this.timing.runningWaitMs, () => this.releaseToProgram());
    } else {
      this.hold(this.timing.acceptWaitMs, () => this.release());
    }
    if (acceptEnd < chunk.length) this.held.push(chunk.subarray(acceptEnd));
  }

  private hold(releaseAfterMs: number, onTimeout: () => void): void {
    this.holding = true;
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(onTimeout, releaseAfterMs);
  }

  /**
   * A running program got the Enter and no prompt followed: it reads lines
   * itself, so the rest goes to it at once. Should the shell read these
   * lines later instead, its gate discards what follows the first one.
   */
  private releaseToProgram(): void {
    this.holding = false;
    const held = this.held;
    this.held = [];
    for (const chunk of held) {
      if (this.acceptKeys.findAccept(chunk) !== -1) this.typedAheadWhileRunning = true;
      this.input.push(chunk);
    }
  }

  /** Lets held input go on, scanned again (it may hold at the next accept key). */
  private release(): void {
    this.verdictUnread = false;
    clearTimeout(this.holdTimer);
    this.holding = false;
    const held = this.held;
    this.held = [];
    for (const chunk of held) this.onInput(chunk);
  }

  private dropHeld(): void {
    clearTimeout(this.holdTimer);
    this.held = [];
    this.holding = false;
  }

  // ---- upstream output ----------------------------------------------------

  private onOutput(chunk: Buffer): void {
    clearTimeout(this.markerTimer);
    this.emit(this.markers.scan(chunk));
    if (this.markers.holding) {
      this.markerTimer = setTimeout(() => {
        const held = this.markers.flush();
        if (held) this.output.push(held);
      }, this.timing.markerWaitMs);
    }
  }

  private flushOutput(): void {
    this.stopTimers();
    const held = this.markers.flush();
    if (held) this.output.push(held);
  }

  private emit(pieces: readonly OutputPiece[]): void {
    for (const piece of pieces) {
      if ("data" in piece) this.output.push(piece.data);
      else this.onMarker(piece.marker);
    }
  }

  private onMarker(marker: Marker): void {
    switch (marker.kind) {
      case "ready":
        this.onReady(marker);
        return;
      case "prompt":
        this.onPrompt(marker.cwd);
        return;
      case "continuation":
        this.onContinuation();
        return;
      case "command-start":
        this.onCommandStart();
        return;
      case "gate":
        this.onGate(marker.challenge, marker.line);
        return;
      case "foreign":
        return;
    }
  }

  private onReady(marker: Extract<Marker, { kind: "ready" }>): void {
    if (this.shell !== undefined) {
      this.tampered("the shell integration started twice");
      return;
    }
    clearTimeout(this.startupTimer);
    this.shell = { shell: marker.shell, facts: parseShellFacts(marker.aliases, marker.functions) };
  }

  private onPrompt(cwd: string): void {
    if (this.shell === undefined) return;
    this.cwd = cwd;
    this.pending = "";
    this.verdictUnread = false; // released below, or held for a typed-ahead line's gate
    this.gateAllowedSincePrompt = false;
    if (this.phase !== "unchecked") this.phase = "prompt";
    this.showNotice(this.takeNoticeAtPrompt());
    // A line typed ahead is read first: wait for its gate before releasing more.
    if (this.acceptUnanswered) {
      this.hold(this.timing.acceptWaitMs, () => {
        this.acceptUnanswered = false;
        this.release();
      });
    } else {
      this.release();
    }
  }

  private takeNoticeAtPrompt(): string | undefined {
    const notice = this.noticeAtPrompt;
    this.noticeAtPrompt = undefined;
    if (!this.typedAheadWhileRunning) return notice;
    this.typedAheadWhileRunning = false;
    const typedAhead =
      "keys typed after Enter while a command ran may have been discarded; retype them";
    return notice === undefined ? typedAhead : `${notice}\r\nportcullis: ${typedAhead}`;
  }

  private onContinuation(): void {
    if (this.phase !== "unchecked") this.phase = "prompt";
    this.verdictRead();
  }

  private onCommandStart(): void {
    if (this.phase === "unchecked") return;
    if (!this.gateAllowedSincePrompt) {
      this.phase = "running";
      this.tampered("a command started without passing the gate");
      return;
    }
    this.phase = "running";
    this.showNotice(this.noticeAtStart);
    this.noticeAtStart = undefined;
    if (this.verdictUnread) this.hold(this.timing.jobStartMs, () => this.release());
  }

  // ---- the gate -----------------------------------------------------------

  private onGate(challenge: string, line: string): void {
    if (this.shell === undefined) {
      this.answer(challenge, "deny");
      return;
    }
    if (this.phase === "running") {
      // `read -e` or `vared` in a running command: data for the program,
      // which the policy decided when it started.
      this.answer(challenge, "allow");
      return;
    }
    const continuing = this.pending !== "";
    if (!continuing && line.trim() === "") {
      this.answer(challenge, "allow");
      return;
    }
    const step = assembleLine(this.pending, line);
    if (step.kind === "continue") {
      this.pending = step.pending;
      this.answer(challenge, "allow");
      return;
    }
    const verdict = this.hooks.decide(step.text, { cwd: this.cwd, shell: this.shell });
    if (verdict.decision === "allow" || verdict.decision === "warn") {
      this.pending = step.pending;
      if (verdict.decision === "warn") this.noticeAtStart = `warning: ${explainVerdict(verdict)}`;
      this.answer(challenge, "allow");
      return;
    }
    const refusal = continuing ? "cancel" : "deny";
    if (verdict.decision === "approve" && this.hooks.approve !== undefined) {
      this.output.push("\r\n"); // below the line the user just entered
      this.holdForApproval(this.hooks.approve(step.text, verdict, this.writeNow), (allowed) => {
        if (allowed) this.pending = step.pending;
        this.answer(challenge, allowed ? "allow" : refusal);
      });
      return;
    }
    const needs = verdict.decision === "approve" ? "needs approval: " : "";
    this.noticeAtPrompt = `blocked: ${needs}${explainVerdict(verdict)}`;
    this.answer(challenge, refusal);
  }

  /**
   * The gate stays unanswered (the shell waits, holding exactly this line)
   * while the user's keys go to the held line; what was typed after the
   * Enter belongs to no line now and is dropped.
   */
  private holdForApproval(held: HeldLine, decided: (allowed: boolean) => void): void {
    this.dropHeld();
    this.heldLine = held;
    void held.outcome.then(({ allowed }) => {
      this.heldLine = undefined;
      decided(allowed);
    });
  }

  private readonly writeNow = (text: string): void => {
    this.output.push(text);
  };

  /**
   * Writes the verdict the shell's gate waits for. `cancel` refuses a line
   * inside a multi-line construct: the gate keeps the construct open (an
   * emptied line would let bash run `rm -rf \` + nothing) and Ctrl-C,
   * in the same write, discards all of it.
   */
  private answer(challenge: string, verdict: "allow" | "deny" | "cancel"): void {
    this.acceptUnanswered = false;
    const written = { allow: "A", deny: "D", cancel: "D" }[verdict] + challenge;
    this.input.push(verdict === "cancel" ? `${written}\x03` : written);
    if (verdict !== "allow") {
      this.dropHeld();
      return;
    }
    this.gateAllowedSincePrompt = true;
    if (this.phase === "running") {
      this.release(); // `read -e`: no marker follows
      return;
    }
    // Keys typed after the Enter wait until the shell has read the verdict
    // (its next marker): a Ctrl-C reaching the terminal first would flush
    // the unread verdict from its input queue and hang the gate.
    this.verdictUnread = true;
    this.hold(this.timing.acceptWaitMs, () => this.release());
  }

  /**
   * The shell's next marker (a continuation prompt) shows it read the
   * verdict: what was typed after it may go. A prompt releases by itself; a
   * command's start waits jobStartMs first.
   */
  private verdictRead(): void {
    if (!this.verdictUnread) return;
    this.verdictUnread = false;
    this.release();
  }

  // ---- when the bastion cannot be sure --------------------------------------

  /** Applies `on_unverified`: deny ends the session; otherwise the shell goes on unchecked. */
  private tampered(reason: string): void {
    const action = this.hooks.unverified(reason);
    if (action === "deny" || action === "approve") {
      this.phase = "unchecked";
      this.dropHeld();
      this.hooks.end(`${reason}; the session is ended (on_unverified: ${action})`);
      return;
    }
    if (action === "warn") this.showNotice(`warning: ${reason}; commands are no longer checked`);
    this.phase = "unchecked";
    this.release();
  }

  private showNotice(notice: string | undefined): void {
    if (notice !== undefined) this.output.push(`portcullis: ${notice}\r\n`);
  }

  private stopTimers(): void {
    clearTimeout(this.startupTimer);
    clearTimeout(this.holdTimer);
    clearTimeout(this.markerTimer);
  }
}

function transform(onChunk: (chunk: Buffer) => void, onEnd?: () => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      onChunk(chunk);
      done();
    },
    flush(done: TransformCallback) {
      onEnd?.();
      done();
    },
  });
}
