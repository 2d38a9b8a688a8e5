// Readiness for systemd (Type=notify): the sd_notify messages READY=1,
// RELOADING=1, STOPPING=1 and STATUS=… sent to $NOTIFY_SOCKET, in order, one
// at a time; nothing at all without $NOTIFY_SOCKET. Node has no AF_UNIX
// datagram sockets, so each message is handed to the `systemd-notify` tool
// (part of systemd, present wherever $NOTIFY_SOCKET is set by it). The tool
// waits until the service manager has read the message, which lets
// NotifyAccess=all attribute it to the unit although the sender exits at once.
import { execFile } from "node:child_process";
import { errorMessage } from "../util/errors.js";

export interface Readiness {
  /** Startup or a reload is complete; `status` is shown by `systemctl status`. */
  ready(status?: string): void;
  /** A reload (SIGHUP) has begun; call ready() when it is done. */
  reloading(): void;
  /** Shutdown has begun. */
  stopping(): void;
  status(text: string): void;
  /** Resolves once every message so far has been delivered or reported as failed. */
  settled(): Promise<void>;
}

export interface ReadinessOptions {
  /** The sender; `systemd-notify` from $PATH by default. */
  command?: string;
  /** Told about a message that could not be sent (one line); stderr by default. */
  onError?: (message: string) => void;
}

const SEND_TIMEOUT_MS = 10_000;
const CONTROL_CHARACTERS = /\p{Cc}+/gu;

export function createReadiness(
  env: NodeJS.ProcessEnv = process.env,
  options: ReadinessOptions = {},
): Readiness {
  const socket = env.NOTIFY_SOCKET;
  const command = options.command ?? "systemd-notify";
  const onError =
    options.onError ?? ((message: string) => process.stderr.write(`portcullis: ${message}\n`));
  let queue = Promise.resolve();

  const send = (...fields: string[]): void => {
    if (socket === undefined || socket === "") return;
    queue = queue.then(() => runSender(command, fields, env, onError));
  };
  return {
    ready: (status) => send("READY=1", ...statusField(status)),
    reloading: () => send("RELOADING=1", `MONOTONIC_USEC=${monotonicMicroseconds()}`),
    stopping: () => send("STOPPING=1"),
    status: (text) => send(...statusField(text)),
    settled: () => queue,
  };
}

/** A status is one field: line breaks and other control characters become spaces. */
function statusField(text: string | undefined): string[] {
  return text === undefined ? [] : [`STATUS=${text.replace(CONTROL_CHARACTERS, " ")}`];
}

/** CLOCK_MONOTONIC in µs, as RELOADING=1 carries it (Type=notify-reload needs it). */
function monotonicMicroseconds(): bigint {
  return process.hrtime.bigint() / 1000n;
}

function runSender(
  command: string,
  fields: string[],
  env: NodeJS.ProcessEnv,
  onError: (message: string) => void,
): Promise<void> {
  return new Promise((resolve) => {
    execFile(command, fields, { env, timeout: SEND_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (error !== null) {
        const detail = stderr.trim().split("\n")[0] || errorMessage(error);
        onError(`cannot notify systemd (${fields[0]?.split("=")[0]}): ${detail}`);
      }
      resolve();
    });
  });
}
