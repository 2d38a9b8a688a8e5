// One user's SSH connection to the bastion: certificate authentication
// (delegated to src/auth, which alone says yes), target selection from the
// SSH user name, the session access decision (src/policy), the upstream
// connection with the vaulted key, command policy on each channel (through
// command-gate.ts), and the session's audit trail.

import type {
  AcceptSftpConnection,
  AuthContext,
  Connection,
  PublicKeyAuthContext,
  RejectConnection,
  ServerChannel,
  Session,
  Client as UpstreamClient,
} from "ssh2";
import type { AuditFields } from "../audit/log.js";
import { decideUserCertificate } from "../auth/certificate-check.js";
import { DEFAULT_GUARD_TIMING } from "../interactive/shell-guard.js";
import { approvalSettings, sessionApprovalSettings } from "../policy/approval-settings.js";
import type { AccessDecision, AccessEntry, Target } from "../policy/index.js";
import {
  APPROVER_CONSOLE_USER,
  decideSessionAccess,
  parseTargetSelector,
  reachableTargets,
} from "../policy/index.js";
import type { SessionRecording } from "../recording/index.js";
import { SessionTransfers } from "../sftp/index.js";
import {
  INTEGRITY_SCORES,
  type IntegrityCheck,
  SessionSignals,
} from "../signals/session-signals.js";
import { errorMessage } from "../util/errors.js";
import { type ApprovalGateContext, type ApprovalSubject, commandSubject } from "./approval-gate.js";
import { runApproverConsole } from "./approver-console.js";
import { type ChannelMasking, maskChannel } from "./channel-masking.js";
import { type ChannelRecorder, recordChannel } from "./channel-recording.js";
import { planChannel } from "./command-gate.js";
import type { BastionContext } from "./context.js";
import { forwardTunnels } from "./forwarding.js";
import { SessionApproval } from "./session-approval.js";
import {
  type ChannelStart,
  endWithMessage,
  endWithStatus,
  handleSessionChannel,
  openUpstreamChannel,
  type PlanResult,
  type ProxyPlan,
  pipeChannels,
} from "./session-channel.js";
import { serveSftp } from "./sftp-channel.js";
import { runTargetMenu } from "./target-menu.js";
import { TransferApproval } from "./transfer-approval.js";
import { connectUpstream, HostKeyRejectedError, hostKeyTrustOf } from "./upstream.js";

type Identity = Extract<ReturnType<typeof decideUserCertificate>, { ok: true }>["identity"];

/** What the SSH user name resolved to once the user is authenticated. */
type Selection =
  | { kind: "target"; access: AccessDecision }
  /** `session: approve`: the first channel asks, the session starts once approved. */
  | { kind: "approval"; access: AccessDecision; approval: SessionApproval }
  | { kind: "menu" }
  /** The reserved user name `approvals`: the approver console, answered by the bastion. */
  | { kind: "console" }
  | { kind: "refused"; reason: string };

export class BastionConnection {
  private readonly fields: AuditFields;
  private readonly openChannels = new Set<ServerChannel>();
  private readonly recorders = new WeakMap<ServerChannel, ChannelRecorder>();
  private readonly maskings = new WeakMap<ServerChannel, ChannelMasking>();
  /** Bytes moved over sftp in this session (`max_download` counts across channels). */
  private readonly fileTransfers = new SessionTransfers();
  private channelCount = 0;
  private identity: Identity | undefined;
  private sshUsername = "";
  private selection: Selection | undefined;
  private upstream: Promise<UpstreamClient> | undefined;
  private startedAt: Date | undefined;
  private sessionTimer: NodeJS.Timeout | undefined;
  private sessionApproval: SessionApproval | undefined;
  /** `file_transfer: approve`: one answer for the connection's transfers, once a target is in use. */
  private transferApproval: TransferApproval | undefined;
  /** The session's insider-threat signals, once a target is chosen. */
  private signals: SessionSignals | undefined;
  private endReason = "client closed the connection";

  constructor(
    private readonly client: Connection,
    private readonly context: BastionContext,
    sessionId: string,
    sourceIp: string,
  ) {
    this.fields = { session: sessionId, source_ip: sourceIp };
    const loginTimer = setTimeout(() => this.end("login timed out"), context.loginTimeoutMs);
    client.on("authentication", (ctx) => this.authenticate(ctx));
    client.on("ready", () => {
      clearTimeout(loginTimer);
      this.onReady();
    });
    client.on("session", (accept) => this.onSession(accept()));
    forwardTunnels(client, {
      sessionId,
      entry: () => this.forwardingEntry(),
      certificatePermits: () => this.requireIdentity().permitPortForwarding,
      upstream: () => this.connectOnce(),
      audit: (event, fields) => this.audit(event, fields),
      marker: (label) => this.sessionRecorder()?.marker(label),
      now: () => this.context.now(),
    });
    client.on("error", (error) => {
      this.endReason = `connection error: ${errorMessage(error)}`;
    });
    client.on("close", () => {
      clearTimeout(loginTimer);
      this.onClose();
    });
  }

  /** Writes `portcullis: <message>` on every open channel's stderr; the session goes on. */
  tell(message: string): void {
    for (const channel of this.openChannels) channel.stderr.write(`portcullis: ${message}\r\n`);
  }

  /** Ends the connection, telling every open channel why. */
  end(reason: string): void {
    this.endReason = reason;
    for (const channel of this.openChannels) endWithMessage(channel, reason);
    setTimeout(() => this.client.end(), 200).unref();
  }

  private authenticate(ctx: AuthContext): void {
    if (ctx.method !== "publickey") {
      if (ctx.method !== "none") {
        this.audit("auth.failure", {
          reason: `${ctx.method} authentication is not allowed`,
          code: "method_not_allowed",
        });
      }
      ctx.reject(["publickey"]);
      return;
    }
    const pk = ctx as PublicKeyAuthContext;
    const decision = decideUserCertificate(
      {
        keyAlgo: pk.key.algo,
        keyBlob: pk.key.data,
        ...(pk.signature ? { signature: pk.signature, signedData: pk.blob } : {}),
        sourceIp: String(this.fields.source_ip),
      },
      this.context.trust(),
      this.context.now(),
    );
    if (!decision.ok) {
      this.audit("auth.failure", {
        code: decision.code,
        reason: decision.reason,
        ssh_user: ctx.username,
        key_id: decision.keyId,
        serial: decision.serial?.toString(),
        ca: decision.caFingerprint,
      });
      ctx.reject(["publickey"]);
      return;
    }
    if (decision.probe) {
      ctx.accept();
      return;
    }
    this.identity = decision.identity;
    this.sshUsername = ctx.username;
    this.fields.user = decision.identity.user;
    this.audit("auth.success", {
      ssh_user: ctx.username,
      key_id: decision.identity.keyId,
      serial: decision.identity.serial.toString(),
      groups: decision.identity.groups,
      ca: decision.identity.caFingerprint,
    });
    ctx.accept();
  }

  private onReady(): void {
    const selector = parseTargetSelector(this.sshUsername);
    const policy = this.context.policy();
    if (this.sshUsername === APPROVER_CONSOLE_USER) {
      this.selection = { kind: "console" };
    } else if (policy.targets.has(selector.target)) {
      this.selectTarget(selector.target, selector.login);
    } else if (selector.login !== undefined) {
      this.refuse(`unknown target "${selector.target}"`);
    } else {
      this.selection = { kind: "menu" };
    }
  }

  private selectTarget(target: string, login?: string): AccessDecision {
    const identity = this.requireIdentity();
    const access = decideSessionAccess(this.context.policy(), {
      user: identity.user,
      groups: identity.groups,
      target,
      ...(login !== undefined ? { login } : {}),
      sourceIp: String(this.fields.source_ip),
      at: this.context.now(),
    });
    this.fields.target = target;
    if (access.login) this.fields.login = access.login;
    if (access.decision !== "deny") this.watchSignals(access, identity);
    if (access.decision === "allow") {
      this.sessionAllowed(access);
    } else if (access.decision === "approve") {
      this.awaitSessionApproval(access, identity);
    } else {
      this.refuse(`access to ${target} denied: ${access.reason}`);
    }
    return access;
  }

  /** Starts the session's signals for the chosen target (they report from its start on). */
  private watchSignals(access: AccessDecision, identity: Identity): void {
    const { target, login } = access;
    if (target === undefined || login === undefined) return;
    this.signals = new SessionSignals({
      sessionId: String(this.fields.session),
      facts: {
        user: identity.user,
        groups: identity.groups,
        target,
        login,
        sourceIp: String(this.fields.source_ip),
      },
      policy: () => this.context.policy(),
      service: this.context.signals,
      now: () => this.context.now(),
      audit: (event, fields) => this.audit(event, fields),
      endSession: (reason) => this.end(reason),
    });
  }

  /** An integrity signal: through the session's signals, or audited alone before a target is chosen. */
  private integritySignal(check: IntegrityCheck, reason: string, fields: AuditFields = {}): void {
    if (this.signals) {
      this.signals.integrity(check, reason, fields);
      return;
    }
    const score = INTEGRITY_SCORES[check];
    this.audit("signal", {
      kind: check,
      rule: check,
      source: "integrity",
      score,
      reason,
      ...fields,
    });
  }

  /** An open grant lets the session start now; otherwise the first channel asks for one. */
  private awaitSessionApproval(access: AccessDecision, identity: Identity): void {
    const target = access.target?.name ?? "";
    const approval = new SessionApproval({
      gate: this.approvalGate(access),
      subject: this.sessionSubject(access),
      approvals: this.context.approvals,
      tell: (message) => this.tell(message),
      end: (reason) => this.end(reason),
    });
    this.sessionApproval = approval;
    const grant = this.context.approvals.activeGrant(identity.user, target);
    if (grant === undefined) {
      this.selection = { kind: "approval", access, approval };
      return;
    }
    this.audit("approval.reused", { target, grant: grant.id, request: grant.request });
    this.sessionAllowed(access);
    approval.follow(grant);
  }

  private sessionSubject(access: AccessDecision): ApprovalSubject {
    const target = access.target?.name ?? "";
    const entryName = access.entry?.name;
    return {
      kind: "session",
      line: "session",
      rule: `access:${entryName ?? ""}`,
      reason: access.reason,
      description: `access to ${target} (${access.reason})`,
      settings: () => {
        const entry = this.context.policy().access.find((e) => e.name === entryName);
        return entry && sessionApprovalSettings(entry, this.context.approvalTimeoutMs);
      },
    };
  }

  /** Every channel waits for the same answer; the first one carries the conversation. */
  private async afterSessionApproval(
    selection: Extract<Selection, { kind: "approval" }>,
    start: ChannelStart,
    channel: ServerChannel,
  ): Promise<ProxyPlan | undefined> {
    const allowed = await selection.approval.whenApproved(start, channel);
    if (!allowed) {
      if (this.selection === selection) this.refuse("access was not approved");
      endWithStatus(channel, 1);
      return undefined;
    }
    if (this.selection === selection) this.sessionAllowed(selection.access);
    return this.planFor(selection.access, start, channel);
  }

  private refuse(reason: string): void {
    this.selection = { kind: "refused", reason };
    this.audit("session.denied", { reason });
    // The user learns why on the first channel they open; don't linger.
    setTimeout(() => this.end(reason), 30_000).unref();
  }

  /** The session may use its target (allowed, or approved): its limit and signals start now. */
  private sessionAllowed(access: AccessDecision): void {
    this.selection = { kind: "target", access };
    this.transferApproval = new TransferApproval({
      entryName: access.entry?.name,
      policy: () => this.context.policy(),
      defaultTimeoutMs: this.context.approvalTimeoutMs,
      audit: (event, fields) => this.audit(event, fields),
    });
    this.limitSessionLength(access);
    this.signals?.started();
  }

  private limitSessionLength(access: AccessDecision): void {
    const maxSession = access.entry?.max_session;
    if (maxSession === undefined) return;
    this.sessionTimer = setTimeout(
      () => this.end(`session time limit reached (${access.entry?.name})`),
      maxSession,
    );
    this.sessionTimer.unref();
  }

  private onSession(session: Session): void {
    this.channelCount += 1;
    const channelNumber = this.channelCount;
    let recorder: ChannelRecorder | undefined;
    handleSessionChannel(session, {
      upstream: () => this.connectOnce(),
      ptyPermitted: this.requireIdentity().permitPty,
      refused: (what) => this.audit("session.denied", { reason: `${what} is not allowed` }),
      resized: (cols, rows) => recorder?.resize(cols, rows),
      sftp: (accept, reject, reason) => this.onSftp(channelNumber, accept, reject, reason),
      intercept: (start, channel) => {
        const masking = maskChannel(
          this.selectedEntry(),
          {
            audit: (fields) => this.audit("mask", fields),
            marker: (label) => this.recorders.get(channel)?.marker(label),
            failed: (reason) => this.maskingFailed(channel, reason),
          },
          this.context.maskingDetection,
        );
        if (masking) this.maskings.set(channel, masking);
        const recording = this.startRecording(channelNumber, start, channel, masking);
        if (recording === "refused") return undefined;
        recorder = recording;
        if (recording) this.recorders.set(channel, recording);
        return this.onChannelStart(start, channel);
      },
    });
  }

  /** An sftp channel: file transfer under the access entry (src/ssh/sftp-channel.ts). */
  private onSftp(
    channelNumber: number,
    accept: AcceptSftpConnection,
    reject: RejectConnection,
    reason: string | undefined,
  ): void {
    const selection = this.selection;
    const unavailable = sftpUnavailable(selection);
    const transfers = this.transferApproval;
    serveSftp(accept, reject, {
      entry: selection?.kind === "target" ? selection.access.entry : undefined,
      ...(unavailable === undefined ? {} : { unavailable }),
      upstream: () => this.connectOnce(),
      openRecording: () => this.openRecording(channelNumber, { kind: "exec", env: {} }),
      recordingsRequired: this.context.recordings.required,
      transfers: this.fileTransfers,
      audit: (event, fields) => this.audit(event, fields),
      integrity: (check, reason, fields) => this.integritySignal(check, reason, fields),
      transferStarts: (path, direction, home) =>
        this.signals?.transferStarts(path, direction, home),
      ...(selection?.kind === "target" && transfers
        ? {
            approval: {
              transfers,
              gate: this.approvalGate(selection.access),
              ...(reason === undefined ? {} : { reason }),
            },
          }
        : {}),
    });
  }

  /**
   * Starts the channel's recording (SPEC §7). When it cannot be created, a
   * `required` recording refuses the channel; a best-effort one goes without.
   */
  private startRecording(
    channelNumber: number,
    start: ChannelStart,
    channel: ServerChannel,
    masking: ChannelMasking | undefined,
  ): ChannelRecorder | undefined | "refused" {
    const { recordings } = this.context;
    try {
      const recording = this.openRecording(channelNumber, start);
      return recordChannel(channel, recording, {
        recordInput: this.selectedEntry()?.record_input ?? recordings.recordInput,
        failed: (reason) => this.recordingFailed(channel, reason),
        ...(masking ? { masking } : {}),
      });
    } catch (error) {
      const reason = `cannot record the session: ${errorMessage(error)}`;
      this.recordingFailed(channel, reason);
      return recordings.required ? "refused" : undefined;
    }
  }

  /** The channel's recording file; throws a one-line error when it cannot be created. */
  private openRecording(channelNumber: number, start: ChannelStart): SessionRecording {
    const sessionId = String(this.fields.session);
    const id = channelNumber === 1 ? sessionId : `${sessionId}.${channelNumber}`;
    return this.context.recordings.open(id, sessionId, {
      width: start.pty?.cols || 80,
      height: start.pty?.rows || 24,
      title: this.recordingTitle(),
      startedAt: this.context.now(),
      ...(start.pty?.term ? { term: start.pty.term } : {}),
    });
  }

  /** The access entry of the chosen target (also while its session approval is pending). */
  private selectedEntry(): AccessEntry | undefined {
    const selection = this.selection;
    return selection?.kind === "target" || selection?.kind === "approval"
      ? selection.access.entry
      : undefined;
  }

  private recordingFailed(channel: ServerChannel, reason: string): void {
    const { required } = this.context.recordings;
    this.integritySignal("recording", reason, { action: required ? "deny" : "allow" });
    if (required) endWithMessage(channel, `${reason}; the session cannot go on`);
  }

  /** Masking failed: the channel passes nothing more, so it ends (fail closed). */
  private maskingFailed(channel: ServerChannel, reason: string): void {
    this.integritySignal("masking", reason, { action: "deny" });
    endWithMessage(channel, `${reason}; the session cannot go on`);
  }

  private recordingTitle(): string {
    const user = this.identity?.user ?? "?";
    const { login, target } = this.fields;
    return target === undefined ? `${user} → ${this.sshUsername}` : `${user} → ${login}@${target}`;
  }

  /** How to proxy the channel; undefined when the bastion answers it itself. */
  private onChannelStart(start: ChannelStart, channel: ServerChannel): PlanResult {
    this.openChannels.add(channel);
    channel.on("close", () => this.openChannels.delete(channel));
    const selection = this.selection;
    if (selection?.kind === "refused") {
      endWithMessage(channel, selection.reason, 1);
      return undefined;
    }
    if (selection?.kind === "menu") {
      this.serveMenu(start, channel);
      return undefined;
    }
    if (selection?.kind === "approval") return this.afterSessionApproval(selection, start, channel);
    if (selection?.kind === "console") {
      const { user, groups } = this.requireIdentity();
      runApproverConsole(channel, start, this.context.approvals, { user, groups }, () =>
        this.context.now(),
      );
      return undefined;
    }
    if (selection?.kind !== "target") {
      endWithMessage(channel, "no target selected", 1);
      return undefined;
    }
    return this.planFor(selection.access, start, channel);
  }

  private planFor(access: AccessDecision, start: ChannelStart, channel: ServerChannel): PlanResult {
    const recorder = this.recorders.get(channel);
    const masking = this.maskings.get(channel);
    const gate = this.approvalGate(access, recorder, masking);
    const held = this.transferApproval?.holdExec(start, channel, gate);
    if (held) return held.then((go) => (go ? this.planFor(access, start, channel) : undefined));
    const plan = planChannel(start, channel, {
      // A connection whose file transfers were approved decides them as `allow`.
      policy: () => this.transferApproval?.policy() ?? this.context.policy(),
      access,
      ...(recorder ? { recorder } : {}),
      audit: (event, fields) => this.audit(event, fields),
      guardTiming: { ...DEFAULT_GUARD_TIMING, startupMs: this.context.shellStartupTimeoutMs },
      approval: gate,
      warmUpstream: () => {
        this.connectOnce().catch(() => undefined); // a failure is reported when the channel opens
      },
      approvalSubject: (line, verdict) =>
        commandSubject(line, verdict, () =>
          approvalSettings(
            this.context.policy(),
            access.entry?.name,
            verdict,
            this.context.approvalTimeoutMs,
          ),
        ),
      ...(masking ? { keptLine: (line: string) => masking.keptLine(line) } : {}),
      transfers: this.fileTransfers,
      ...(this.signals ? { signals: this.signals } : {}),
      integrity: (check, reason, fields) => this.integritySignal(check, reason, fields),
    });
    const onChannel = masking?.onChannel === true ? masking : undefined;
    // Masked before the client (and so the recording) sees it, unless only
    // the recording is masked; the recording must keep up: output waits while
    // its disk backlog is high.
    const finish = (ready: ProxyPlan | undefined): ProxyPlan | undefined => {
      if (ready === undefined) return undefined;
      if (ready.fileTransfer) {
        recorder?.omitOutput(); // file contents: the transfer's markers say what moved
        return ready;
      }
      const stdout = onChannel?.output();
      const output = [
        ...(ready.filters?.output ?? []),
        ...(stdout ? [stdout] : []),
        ...(recorder ? [recorder.pacing()] : []),
      ];
      const errorOutput = onChannel?.output();
      return {
        ...ready,
        filters: { ...ready.filters, output, ...(errorOutput ? { errorOutput } : {}) },
      };
    };
    return plan instanceof Promise ? plan.then(finish) : finish(plan);
  }

  /** What an `approve` verdict in this channel needs: who asks, for which target, and the service. */
  private approvalGate(
    access: AccessDecision,
    recorder?: ChannelRecorder,
    masking?: ChannelMasking,
  ): ApprovalGateContext {
    const identity = this.requireIdentity();
    return {
      approvals: this.context.approvals,
      requester: { user: identity.user, groups: identity.groups },
      session: String(this.fields.session),
      target: access.target?.name ?? this.sshUsername,
      ...(access.login === undefined ? {} : { login: access.login }),
      // The label holds the command line: kept as the audit keeps it.
      marker: (label) => recorder?.marker(masking ? masking.keptLine(label) : label),
      now: () => this.context.now(),
    };
  }

  private serveMenu(start: ChannelStart, channel: ServerChannel): void {
    const identity = this.requireIdentity();
    const choices = reachableTargets(this.context.policy(), {
      user: identity.user,
      groups: identity.groups,
      sourceIp: String(this.fields.source_ip),
      at: this.context.now(),
    });
    const unknown = `"${this.sshUsername}" is not a target`;
    if (!start.pty || start.kind === "exec") {
      const names = choices.map((choice) => choice.target.name).join(", ") || "none";
      this.audit("session.denied", { reason: unknown });
      endWithMessage(channel, `${unknown}; targets you may reach: ${names}`, 1);
      return;
    }
    runTargetMenu(channel, choices).then(
      (chosen) =>
        chosen
          ? this.startChosen(chosen, start, channel)
          : endWithMessage(channel, "no target chosen", 1),
      (error: unknown) => endWithMessage(channel, errorMessage(error)),
    );
  }

  private startChosen(target: Target, start: ChannelStart, channel: ServerChannel): void {
    const access = this.selectTarget(target.name);
    if (access.decision !== "allow") {
      endWithMessage(channel, `access to ${target.name} denied: ${access.reason}`, 1);
      return;
    }
    Promise.resolve(this.planFor(access, start, channel))
      .then(async (plan) => {
        if (plan === undefined) return;
        const upstream = await openUpstreamChannel(await this.connectOnce(), plan.request);
        pipeChannels(channel, upstream, plan.filters);
      })
      .catch((error: unknown) => endWithMessage(channel, errorMessage(error)));
  }

  private connectOnce(): Promise<UpstreamClient> {
    this.upstream ??= this.connect();
    return this.upstream;
  }

  private async connect(): Promise<UpstreamClient> {
    const selection = this.selection;
    if (selection?.kind !== "target" || !selection.access.target || !selection.access.login) {
      throw new Error("no target selected");
    }
    const { target, login } = selection.access;
    try {
      const client = await connectUpstream({
        host: target.address.host,
        port: target.address.port,
        username: login,
        privateKey: this.context.credential(credentialName(target, login)),
        hostKeyTrust: hostKeyTrustOf(target, this.context.clockSkewMs),
        now: this.context.now,
        timeoutMs: this.context.upstreamTimeoutMs,
      });
      client.on("close", () => this.end(`connection to ${target.name} closed`));
      client.on("error", (error) => {
        this.audit("upstream.error", { reason: errorMessage(error) });
      });
      this.startedAt = this.context.now();
      this.audit("session.start", {
        access: selection.access.entry?.name,
        address: `${target.address.host}:${target.address.port}`,
      });
      return client;
    } catch (error) {
      if (error instanceof HostKeyRejectedError) {
        this.audit("upstream.host_key_rejected", {
          presented_key: error.presentedKey,
          pinned_key: target.host_key,
        });
      } else {
        this.audit("upstream.error", { reason: errorMessage(error) });
      }
      throw error;
    }
  }

  /** The entry tunnels are decided under: the current policy's version of the session's entry. */
  private forwardingEntry(): AccessEntry | { refused: string } {
    const selection = this.selection;
    if (selection?.kind === "refused") return { refused: selection.reason };
    if (selection?.kind === "approval") return { refused: "the session is waiting for approval" };
    if (selection?.kind !== "target") return { refused: "no target session is open" };
    const name = selection.access.entry?.name;
    const entry = this.context.policy().access.find((candidate) => candidate.name === name);
    return entry ?? { refused: `access entry ${name ?? "?"} is no longer in the policy` };
  }

  /** The recorder of the oldest open session channel (tunnels are marked there). */
  private sessionRecorder(): ChannelRecorder | undefined {
    for (const channel of this.openChannels) {
      const recorder = this.recorders.get(channel);
      if (recorder) return recorder;
    }
    return undefined;
  }

  private onClose(): void {
    clearTimeout(this.sessionTimer);
    this.sessionApproval?.stop();
    this.upstream?.then((client) => client.end()).catch(() => undefined);
    if (!this.startedAt) return;
    this.audit("session.end", {
      reason: this.endReason,
      duration_ms: this.context.now().getTime() - this.startedAt.getTime(),
    });
  }

  private requireIdentity(): Identity {
    if (!this.identity) throw new Error("not authenticated");
    return this.identity;
  }

  private audit(
    event: Parameters<BastionContext["audit"]["emit"]>[0],
    fields: AuditFields = {},
  ): void {
    this.context.audit.emit(event, { ...this.fields, ...withoutUndefined(fields) });
    if (event === "file.transfer") this.signals?.downloaded(this.fileTransfers.downloaded);
  }
}

/** Why a connection in this state serves no sftp channel; undefined when it may. */
function sftpUnavailable(selection: Selection | undefined): string | undefined {
  if (selection?.kind === "target") return undefined;
  if (selection?.kind === "refused") return selection.reason;
  if (selection?.kind === "approval") return "the session needs approval first (open a shell)";
  return "no target chosen";
}

function credentialName(target: Target, login: string): string {
  const name = target.credentials.get(login);
  if (name === undefined) throw new Error(`no credential for ${login}@${target.name}`);
  return name;
}

function withoutUndefined(fields: AuditFields): AuditFields {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
