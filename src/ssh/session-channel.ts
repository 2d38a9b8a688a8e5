// One client "session" channel proxied to one upstream session channel:
// pty (with terminal modes), an allow-list of env variables, shell or exec,
// window changes, signals, stdin EOF, and the exit status or signal; the
// sftp subsystem is handed to a hook (src/ssh/sftp-channel.ts).
// Channels are accepted synchronously (ssh2 loses a channel whose client
// sends EOF while we are still awaiting the upstream; see FIELD-NOTES).

import type { Transform } from "node:stream";
import type {
  AcceptSftpConnection,
  ClientChannel,
  PseudoTtyInfo,
  RejectConnection,
  ServerChannel,
  Session,
  Client as UpstreamClient,
} from "ssh2";
import { errorMessage } from "../util/errors.js";

/** Environment variables passed on to the target; everything else is dropped. */
const FORWARDED_ENV = /^(LANG|LC_[A-Z]+|TZ|COLORTERM)$/;
/** `ssh -o SetEnv=PORTCULLIS_REASON=…`: the reason for an approval of an exec request. */
const REASON_ENV = "PORTCULLIS_REASON";

const EMPTY = Buffer.alloc(0);

/** Exit status for a session the bastion ended itself (like ssh's 255). */
export const BASTION_EXIT_STATUS = 255;

export interface ChannelStart {
  kind: "shell" | "exec";
  command?: string;
  pty?: PseudoTtyInfo;
  env: Record<string, string>;
  /** A reason for an approval, sent as `PORTCULLIS_REASON` (kept here, never forwarded). */
  reason?: string;
}

/** A plan now, or once the bastion has waited for something (an approval). */
export type PlanResult = ProxyPlan | undefined | Promise<ProxyPlan | undefined>;

/** How a started channel is proxied. */
export interface ProxyPlan {
  /** What to open upstream (the integrated shell instead of a plain one, say). */
  request: ChannelStart;
  /** Filters between the channels: client → upstream and upstream → client. */
  filters?: ChannelFilters;
  /** The channel carries file contents (legacy scp, rsync): neither masked nor recorded as output. */
  fileTransfer?: true;
}

export interface ChannelFilters {
  input?: Transform;
  /** Applied in order; the last one feeds the client. */
  output?: readonly Transform[];
  /** Between the target's stderr and the client's. */
  errorOutput?: Transform;
}

/**
 * Decides what happens when the client starts a shell or exec. `upstream`
 * resolves to a connected upstream client or rejects with a one-line reason
 * that is shown to the user.
 */
export interface ChannelHooks {
  upstream(): Promise<UpstreamClient>;
  /** The certificate's `permit-pty` extension (OpenSSH refuses a pty without it). */
  ptyPermitted: boolean;
  /** Called when the user asked for something the bastion refuses. */
  refused(what: string): void;
  /** The client's window changed (after it was passed upstream). */
  resized?(cols: number, rows: number): void;
  /**
   * The sftp subsystem (src/ssh/sftp-channel.ts); absent: refused. Must
   * accept or reject at once. `reason`: as for exec, for an approval.
   */
  sftp?(accept: AcceptSftpConnection, reject: RejectConnection, reason?: string): void;
  /** Offered the started channel before proxying; undefined when it handled the channel. */
  intercept?(start: ChannelStart, channel: ServerChannel): PlanResult;
}

export function handleSessionChannel(session: Session, hooks: ChannelHooks): void {
  let pty: PseudoTtyInfo | undefined;
  const env: Record<string, string> = {};
  let upstreamChannel: ClientChannel | undefined;

  // accept/reject are undefined when the client wants no reply (OpenSSH
  // sends env and window-change that way), hence the optional calls.
  session.on("pty", (accept, reject, info) => {
    if (!hooks.ptyPermitted) {
      hooks.refused("a terminal (the certificate lacks permit-pty)");
      reject?.();
      return;
    }
    pty = info;
    accept?.();
  });
  let reason: string | undefined;
  session.on("env", (accept, reject, info) => {
    if (info.key === REASON_ENV) {
      reason = info.val;
      accept?.();
      return;
    }
    if (!FORWARDED_ENV.test(info.key)) {
      reject?.();
      return;
    }
    env[info.key] = info.val;
    accept?.();
  });
  session.on("window-change", (accept, _reject, info) => {
    if (pty) pty = { ...pty, cols: info.cols, rows: info.rows };
    upstreamChannel?.setWindow(info.rows, info.cols, info.height, info.width);
    hooks.resized?.(info.cols, info.rows);
    accept?.();
  });
  session.on("signal", (accept, _reject, info) => {
    upstreamChannel?.signal(info.name);
    accept?.();
  });
  for (const refused of ["auth-agent", "x11"] as const) {
    session.on(refused, (_accept: unknown, reject: (() => void) | undefined) => {
      hooks.refused(refused === "x11" ? "X11 forwarding" : "agent forwarding");
      reject?.();
    });
  }
  session.on("subsystem", (_accept, reject, info) => {
    hooks.refused(`subsystem ${info.name}`);
    reject?.();
  });
  session.on("sftp", (accept, reject) => {
    if (hooks.sftp) return hooks.sftp(accept, reject, reason);
    hooks.refused("sftp");
    reject?.();
  });

  const start = (channel: ServerChannel, kind: ChannelStart["kind"], command?: string) => {
    const request: ChannelStart = { kind, env: { ...env } };
    if (command !== undefined) request.command = command;
    if (pty) request.pty = pty;
    if (reason !== undefined) request.reason = reason;
    planned(hooks, request, channel)
      .then((plan) => (plan === undefined ? undefined : openUpstream(plan, channel, hooks)))
      .then(
        (opened) => {
          upstreamChannel = opened;
        },
        (error: unknown) => endWithMessage(channel, errorMessage(error)),
      );
  };
  session.on("shell", (accept) => start(accept(), "shell"));
  session.on("exec", (accept, _reject, info) => start(accept(), "exec", info.command));
}

/** The hook's plan; a hook that throws (fails closed) rejects, and the channel ends with why. */
function planned(
  hooks: ChannelHooks,
  request: ChannelStart,
  channel: ServerChannel,
): Promise<ProxyPlan | undefined> {
  try {
    return Promise.resolve(hooks.intercept ? hooks.intercept(request, channel) : { request });
  } catch (error) {
    return Promise.reject(error);
  }
}

async function openUpstream(
  plan: ProxyPlan,
  channel: ServerChannel,
  hooks: ChannelHooks,
): Promise<ClientChannel> {
  const client = await hooks.upstream();
  const upstream = await openUpstreamChannel(client, plan.request);
  pipeChannels(channel, upstream, plan.filters);
  return upstream;
}

export function openUpstreamChannel(
  client: UpstreamClient,
  request: ChannelStart,
): Promise<ClientChannel> {
  const ptyOptions = request.pty
    ? {
        term: request.pty.term,
        cols: request.pty.cols,
        rows: request.pty.rows,
        width: request.pty.width,
        height: request.pty.height,
        modes: request.pty.modes,
      }
    : undefined;
  return new Promise((resolve, reject) => {
    const done = (error: Error | undefined, stream: ClientChannel) =>
      error ? reject(new Error(`target refused the session: ${error.message}`)) : resolve(stream);
    if (request.kind === "exec") {
      client.exec(request.command ?? "", { env: request.env, pty: ptyOptions ?? false }, done);
    } else {
      client.shell(ptyOptions ?? false, { env: request.env }, done);
    }
  });
}

/**
 * Copies data both ways with back-pressure. Upstream output is piped with
 * `end: false` so that the exit status can be sent after the last byte has
 * been written and before EOF (ssh2 only sends exit-status on an open channel).
 */
export function pipeChannels(
  channel: ServerChannel,
  upstream: ClientChannel,
  filters?: ChannelFilters,
): void {
  let exit: { code?: number; signal?: string; coreDumped?: boolean; message?: string } | undefined;

  const { input, output = [], errorOutput } = filters ?? {};
  if (input) channel.pipe(input).pipe(upstream);
  else channel.pipe(upstream);
  let source: NodeJS.ReadableStream = upstream;
  for (const step of output) {
    source = source.pipe(step);
    channel.on("close", () => step.destroy());
  }
  source.pipe(channel, { end: false });
  const last = output.at(-1);
  if (errorOutput) {
    upstream.stderr.pipe(errorOutput).pipe(channel.stderr, { end: false });
    channel.on("close", () => errorOutput.destroy());
  } else {
    upstream.stderr.pipe(channel.stderr, { end: false });
  }

  upstream.on(
    "exit",
    (code: number | null, signal?: string, coreDumped?: boolean, message?: string) => {
      exit =
        code !== null && code !== undefined
          ? { code }
          : { signal: signal ?? "KILL", coreDumped: coreDumped ?? false, message: message ?? "" };
    },
  );
  /** Once every filter has passed on the last of the target's output. */
  const afterOutput = (then: () => void) => {
    const pending = [last, errorOutput].filter(
      (step): step is Transform => step !== undefined && !step.readableEnded,
    );
    let left = pending.length;
    if (left === 0) return then();
    for (const step of pending)
      step.once("end", () => {
        left -= 1;
        if (left === 0) then();
      });
  };
  upstream.on("close", () =>
    afterOutput(() => {
      if (!exit) return endWithMessage(channel, "the target closed the session");
      finishChannel(channel, () => {
        if (exit?.code !== undefined) channel.exit(exit.code);
        else if (exit?.signal) channel.exit(exit.signal, exit.coreDumped, exit.message);
      });
    }),
  );
  channel.on("close", () => upstream.close());
}

/**
 * Runs `beforeEnd` (e.g. sending the exit status) once everything written so
 * far has gone out, then sends EOF and closes. A write of an empty chunk
 * calls back only after every chunk queued before it.
 */
function finishChannel(channel: ServerChannel, beforeEnd: () => void): void {
  if (channel.writableEnded) return;
  let pending = 2;
  const flushed = () => {
    pending -= 1;
    if (pending > 0 || channel.writableEnded) return;
    beforeEnd();
    channel.end();
  };
  channel.write(EMPTY, flushed);
  channel.stderr.write(EMPTY, flushed);
}

export function endWithMessage(
  channel: ServerChannel,
  message: string,
  status = BASTION_EXIT_STATUS,
): void {
  if (channel.writableEnded) return;
  channel.stderr.write(`portcullis: ${message}\r\n`);
  endWithStatus(channel, status);
}

/** Ends the channel with an exit status once what was written has gone out. */
export function endWithStatus(channel: ServerChannel, status: number): void {
  finishChannel(channel, () => channel.exit(status));
}
