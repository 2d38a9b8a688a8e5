// The demo SSH target for `portcullis demo`: a small real SSH server on
// loopback (no root, no system sshd) that accepts one public key, verifies its
// signatures itself (ssh2 does not), and runs shells and commands in a demo
// home directory — through node-pty when a terminal was requested, through
// pipes otherwise. Forwarding, agent, X11 and subsystems (sftp) are refused.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { constants as osConstants, userInfo } from "node:os";
import pty from "node-pty";
import type {
  AuthContext,
  Connection,
  ParsedKey,
  PseudoTtyInfo,
  ServerChannel,
  Session,
} from "ssh2";
import ssh2 from "ssh2";
import { PortcullisError } from "../util/errors.js";

export interface DemoTargetOptions {
  /** OpenSSH private host key. */
  readonly hostKey: string;
  /** The one public key allowed in, as an authorized_keys line. */
  readonly authorizedKey: string;
  /** Working directory and $HOME of every shell and command. */
  readonly home: string;
  readonly listenHost?: string;
}

export interface DemoTarget {
  readonly port: number;
  /** `type base64` of the host key, for known_hosts or a pinned `host_key:`. */
  readonly hostKeyLine: string;
  close(): Promise<void>;
}

/** A running shell or command, whichever way it was started. */
interface SessionProcess {
  resize(cols: number, rows: number): void;
  kill(signal: NodeJS.Signals): void;
}

interface SessionState {
  terminal?: PseudoTtyInfo;
  readonly env: Record<string, string>;
  process?: SessionProcess;
}

type ProcessExit = { readonly code: number } | { readonly signal: NodeJS.Signals };

/** RFC 4254 §6.10 signal names, the only ones a client may send or be told about. */
const SSH_SIGNALS = new Set([
  "ABRT",
  "ALRM",
  "FPE",
  "HUP",
  "ILL",
  "INT",
  "KILL",
  "PIPE",
  "QUIT",
  "SEGV",
  "TERM",
  "USR1",
  "USR2",
]);
/** Like OpenSSH's Debian default `AcceptEnv`. */
const ACCEPTED_ENV = /^(LANG|LC_[A-Z_]+|COLORTERM|NO_COLOR)$/;
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

export async function startDemoTarget(options: DemoTargetOptions): Promise<DemoTarget> {
  const authorizedKey = parsePublicKey(options.authorizedKey);
  const hostKeyLine = hostKeyLineOf(options.hostKey);
  const processes = new Set<SessionProcess>();
  const connections = new Set<Connection>();
  const server = new ssh2.Server({ hostKeys: [options.hostKey] }, (client) => {
    connections.add(client);
    client.on("close", () => connections.delete(client));
    serveConnection(client, authorizedKey, options.home, processes);
  });
  const port = await listen(server, options.listenHost ?? "127.0.0.1");
  return {
    port,
    hostKeyLine,
    close: () => {
      for (const running of processes) running.kill("SIGHUP");
      for (const client of connections) client.end();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function parsePublicKey(line: string): ParsedKey {
  const key = ssh2.utils.parseKey(line);
  if (key instanceof Error || key === undefined || key.isPrivateKey()) {
    throw new PortcullisError(
      "ERR_DEMO_KEY",
      "demo target: authorizedKey is not a public key line",
    );
  }
  return key;
}

function hostKeyLineOf(privateKey: string): string {
  const key = ssh2.utils.parseKey(privateKey);
  if (key instanceof Error || key === undefined || !key.isPrivateKey()) {
    throw new PortcullisError("ERR_DEMO_KEY", "demo target: hostKey is not a private key");
  }
  return `${key.type} ${key.getPublicSSH().toString("base64")}`;
}

function listen(server: ssh2.Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function serveConnection(
  client: Connection,
  authorizedKey: ParsedKey,
  home: string,
  processes: Set<SessionProcess>,
): void {
  client.on("error", () => {
    // A client that vanishes mid-handshake is not the demo's problem.
  });
  client.on("authentication", (ctx) => authenticate(ctx, authorizedKey));
  client.on("ready", () => {
    client.on("session", (accept) => serveSession(accept(), home, processes));
    client.on("tcpip", (_accept, reject) => reject());
    client.on("openssh.streamlocal", (_accept, reject) => reject());
    client.on("request", (_accept, reject) => reject?.());
  });
}

/** Public key only, only the authorized key, and only with a signature that verifies. */
function authenticate(ctx: AuthContext, authorizedKey: ParsedKey): void {
  if (ctx.method !== "publickey" || !ctx.key.data.equals(authorizedKey.getPublicSSH())) {
    ctx.reject(["publickey"]);
    return;
  }
  // Without a signature the client only asks whether this key would do
  // (answered with USERAUTH_PK_OK); it is not logged in by this.
  if (ctx.signature === undefined) {
    ctx.accept();
    return;
  }
  if (signatureVerifies(ctx, authorizedKey)) ctx.accept();
  else ctx.reject(["publickey"]);
}

/**
 * ssh2 never checks signatures. For a plain key whose signature blob names the
 * same algorithm as the request, ctx.signature holds the bare signature
 * (ssh2 strips the algorithm name and turns ECDSA into DER) and ctx.blob the
 * signed session data; anything else stays a whole blob and fails here.
 */
function signatureVerifies(
  ctx: AuthContext & { method: "publickey" },
  authorizedKey: ParsedKey,
): boolean {
  if (ctx.signature === undefined || ctx.blob === undefined) return false;
  // RSA with SHA-1 (`ssh-rsa` signatures) is refused, as OpenSSH does.
  if (authorizedKey.type === "ssh-rsa" && ctx.hashAlgo === undefined) return false;
  return authorizedKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true;
}

function serveSession(session: Session, home: string, processes: Set<SessionProcess>): void {
  const state: SessionState = { env: {} };
  session.on("pty", (accept, _reject, info) => {
    state.terminal = info;
    accept?.();
  });
  session.on("env", (accept, reject, { key, val }) => {
    if (!ACCEPTED_ENV.test(key)) return reject?.();
    state.env[key] = val;
    accept?.();
  });
  session.on("window-change", (accept, _reject, { cols, rows }) => {
    if (state.terminal !== undefined) state.terminal = { ...state.terminal, cols, rows };
    state.process?.resize(cols, rows);
    accept?.();
  });
  session.on("signal", (accept, reject, { name }) => {
    const signal = name.replace(/^SIG/, "");
    if (!SSH_SIGNALS.has(signal) || state.process === undefined) return reject?.();
    state.process.kill(`SIG${signal}` as NodeJS.Signals);
    accept?.();
  });
  const start = (channel: ServerChannel, file: string, args: string[]) => {
    const running = startProcess(channel, file, args, home, state);
    state.process = running;
    processes.add(running);
    channel.on("close", () => {
      processes.delete(running);
      running.kill("SIGHUP");
    });
  };
  session.on("shell", (accept) => start(accept(), loginShell(), ["-l"]));
  session.on("exec", (accept, _reject, { command }) => start(accept(), "/bin/sh", ["-c", command]));
  for (const refused of ["sftp", "subsystem", "x11", "auth-agent"]) {
    session.on(refused, (_accept: unknown, reject: (() => void) | undefined) => reject?.());
  }
}

function loginShell(): string {
  return existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";
}

function startProcess(
  channel: ServerChannel,
  file: string,
  args: string[],
  home: string,
  state: SessionState,
): SessionProcess {
  const env = childEnv(home, state);
  return state.terminal === undefined
    ? startWithPipes(channel, file, args, home, env)
    : startWithPty(
        channel,
        file,
        args,
        home,
        { ...env, TERM: state.terminal.term },
        state.terminal,
      );
}

/** A clean environment: nothing of the bastion's own (e.g. $PORTCULLIS_VAULT_KEY) leaks in. */
function childEnv(home: string, state: SessionState): Record<string, string> {
  const user = userInfo().username;
  return {
    HOME: home,
    USER: user,
    LOGNAME: user,
    SHELL: loginShell(),
    PATH: process.env.PATH ?? DEFAULT_PATH,
    ...state.env,
  };
}

function startWithPipes(
  channel: ServerChannel,
  file: string,
  args: string[],
  home: string,
  env: Record<string, string>,
): SessionProcess {
  const child = spawn(file, args, { cwd: home, env, stdio: ["pipe", "pipe", "pipe"] });
  child.stdin.on("error", () => {
    // The command exited without reading all of its input.
  });
  channel.pipe(child.stdin);
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr, { end: false });
  let finished = false;
  const finishOnce = (exit: ProcessExit) => {
    if (finished) return;
    finished = true;
    void finish(channel, exit);
  };
  child.on("error", () => finishOnce({ code: 127 }));
  child.on("close", (code, signal) => finishOnce(signal ? { signal } : { code: code ?? 1 }));
  return { resize: () => {}, kill: (signal) => killQuietly(child, signal) };
}

function startWithPty(
  channel: ServerChannel,
  file: string,
  args: string[],
  home: string,
  env: Record<string, string>,
  terminal: PseudoTtyInfo,
): SessionProcess {
  const terminalProcess = pty.spawn(file, args, {
    name: terminal.term,
    cols: terminal.cols,
    rows: terminal.rows,
    cwd: home,
    env,
  });
  let exited = false;
  terminalProcess.onData((data) => {
    if (channel.write(data)) return;
    terminalProcess.pause();
    channel.once("drain", () => terminalProcess.resume());
  });
  // A pty has no separate end of input: EOF from the client is not forwarded,
  // as with OpenSSH's sshd; the user types Ctrl-D instead.
  channel.on("data", (data: Buffer) => {
    if (!exited) terminalProcess.write(data);
  });
  terminalProcess.onExit(({ exitCode, signal }) => {
    exited = true;
    void finish(channel, signal ? { signal: signalName(signal) } : { code: exitCode });
  });
  return {
    resize: (cols, rows) => {
      if (!exited) terminalProcess.resize(cols, rows);
    },
    kill: (signal) => {
      if (!exited) terminalProcess.kill(signal);
    },
  };
}

function killQuietly(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}

function signalName(signal: number): NodeJS.Signals {
  const entry = Object.entries(osConstants.signals).find(([, number]) => number === signal);
  return (entry?.[0] ?? "SIGKILL") as NodeJS.Signals;
}

/** Sends the exit status once everything written so far has left, then ends the channel. */
async function finish(channel: ServerChannel, exit: ProcessExit): Promise<void> {
  await Promise.all([flushed(channel), flushed(channel.stderr)]);
  if ("code" in exit) {
    channel.exit(exit.code);
  } else {
    const name = exit.signal.replace(/^SIG/, "");
    if (SSH_SIGNALS.has(name)) channel.exit(name, false, "");
    else channel.exit(128 + (osConstants.signals[exit.signal] ?? 0));
  }
  channel.end();
}

/** Resolves when all earlier writes to `stream` were handed to the SSH transport. */
function flushed(stream: NodeJS.WritableStream & { writable: boolean }): Promise<void> {
  if (!stream.writable) return Promise.resolve();
  return new Promise((resolve) => stream.write(Buffer.alloc(0), () => resolve()));
}
