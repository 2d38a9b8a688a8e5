// Port forwarding through the bastion (docs/forwarding.md): `direct-tcpip`
// channels (`ssh -L`, `-W`) are decided by src/policy/forwarding.ts and, when
// allowed, opened by the target's sshd over the bastion's own upstream
// connection (destinations are as the target sees them); `tcpip-forward`
// (`ssh -R`) asks the target to listen and relays its connections back to the
// client. Unix-socket forwarding is always refused. Every tunnel, opened or
// refused, is audited (`tunnel.open`, `tunnel.close` with bytes each way) and
// marked in the session's recording when it has one.

import type {
  ClientChannel,
  Connection,
  ServerChannel,
  TcpConnectionDetails,
  TcpipBindInfo,
  TcpipRequestInfo,
  Client as UpstreamClient,
} from "ssh2";
import type { AuditFields } from "../audit/log.js";
import {
  decideTunnel,
  formatDestination,
  type TunnelDecision,
  type TunnelRequest,
} from "../policy/forwarding.js";
import type { AccessEntry } from "../policy/types.js";
import { errorMessage } from "../util/errors.js";

/** What forwarding needs from the connection it belongs to. */
export interface TunnelHooks {
  readonly sessionId: string;
  /** The access entry the session runs under (as the current policy has it), or why there is none. */
  entry(): AccessEntry | { readonly refused: string };
  /** The user's certificate carries `permit-port-forwarding`. */
  certificatePermits(): boolean;
  /** The bastion's connection to the target (opened on first use). */
  upstream(): Promise<UpstreamClient>;
  audit(event: "tunnel.open" | "tunnel.close", fields: AuditFields): void;
  /** A marker in the session's recording, when it has one. */
  marker(label: string): void;
  now(): Date;
}

type Reply = (() => void) | undefined;

const EMPTY = Buffer.alloc(0);

/** Answers every forwarding request of one client connection. */
export function forwardTunnels(client: Connection, hooks: TunnelHooks): void {
  const tunnels = new Tunnels(client, hooks);
  client.on("tcpip", (accept, reject, info) => tunnels.openLocal(accept, reject, info));
  client.on("openssh.streamlocal", (_accept, reject, info) =>
    tunnels.refuse(reject, info.socketPath),
  );
  client.on("request", (accept, reject, requestName, info) => {
    const name: string = requestName;
    if (name === "tcpip-forward") tunnels.listen(accept, reject, info as TcpipBindInfo);
    else if (name === "cancel-tcpip-forward") tunnels.stopListening(accept, reject, info);
    else if (name.startsWith("streamlocal-forward")) tunnels.refuse(reject, "a listener");
    else reject?.();
  });
}

/** Where a tunnel leads and where it came from, as audited. */
interface TunnelEnds {
  readonly kind: "local" | "remote";
  /** local: the destination the target connects to; remote: the target's listening address. */
  readonly destination: string;
  /** Who opened the connection (absent for a listen request). */
  readonly originator?: string;
}

class Tunnels {
  #count = 0;
  readonly #listening = new Set<string>();
  readonly #relaying = new WeakSet<UpstreamClient>();
  /**
   * Settles once the client has its answer to every listen request so far: a
   * connection the target accepts right after binding must not reach the
   * client before the client knows about the listener (it would refuse it).
   */
  #answered: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: Connection,
    private readonly hooks: TunnelHooks,
  ) {}

  openLocal(accept: () => ServerChannel, reject: () => void, info: TcpipRequestInfo): void {
    const ends: TunnelEnds = {
      kind: "local",
      destination: formatDestination(info.destIP, info.destPort),
      originator: formatDestination(info.srcIP, info.srcPort),
    };
    const id = this.#decide(ends, { kind: "local", host: info.destIP, port: info.destPort });
    if (id === undefined) {
      reject();
      return;
    }
    const opened = this.hooks
      .upstream()
      .then((upstream) => openDirect(upstream, info))
      .then((upstream) => ({ upstream, channel: accept() }));
    this.#relay(id, ends, opened, reject);
  }

  /** `ssh -R`: the target listens; each connection it accepts comes back as a tunnel. */
  listen(accept: ((port?: number) => void) | undefined, reject: Reply, bind: TcpipBindInfo): void {
    const ends: TunnelEnds = {
      kind: "remote",
      destination: formatDestination(bind.bindAddr, bind.bindPort),
    };
    const id = this.#decide(ends, { kind: "remote", host: bind.bindAddr, port: bind.bindPort });
    if (id === undefined) {
      reject?.();
      return;
    }
    const answered = this.hooks
      .upstream()
      .then((upstream) => this.#forwardIn(upstream, bind))
      .then(
        (port) => {
          this.#listening.add(formatDestination(bind.bindAddr, port));
          accept?.(port);
        },
        (error: unknown) => {
          this.#closed(id, ends, { toTarget: 0, fromTarget: 0 }, errorMessage(error));
          reject?.();
        },
      );
    this.#answered = Promise.all([this.#answered, answered]).then(() => undefined);
  }

  stopListening(accept: Reply, reject: Reply, bind: TcpipBindInfo): void {
    const key = formatDestination(bind.bindAddr, bind.bindPort);
    if (!this.#listening.delete(key)) {
      reject?.();
      return;
    }
    this.hooks.upstream().then(
      (upstream) => upstream.unforwardIn(bind.bindAddr, bind.bindPort, () => accept?.()),
      () => reject?.(),
    );
  }

  /** Unix-socket forwarding (`-L`/`-R` with a path): never supported. */
  refuse(reject: Reply, what: string): void {
    const reason = "unix socket forwarding is not supported";
    this.hooks.audit("tunnel.open", {
      tunnel: this.#nextId(),
      kind: "unix",
      destination: what,
      decision: "deny",
      reason,
    });
    this.hooks.marker(`deny: tunnel to ${what} (${reason})`);
    reject?.();
  }

  async #forwardIn(upstream: UpstreamClient, bind: TcpipBindInfo): Promise<number> {
    if (!this.#relaying.has(upstream)) {
      this.#relaying.add(upstream);
      upstream.on("tcp connection", (details, accept, reject) =>
        this.#openRemote(details, accept, reject),
      );
    }
    return new Promise((resolve, reject) =>
      upstream.forwardIn(bind.bindAddr, bind.bindPort, (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
  }

  /** A connection to a target listener of `ssh -R`: decided again under the current policy. */
  #openRemote(
    details: TcpConnectionDetails,
    accept: () => ClientChannel,
    reject: () => void,
  ): void {
    const ends: TunnelEnds = {
      kind: "remote",
      destination: formatDestination(details.destIP, details.destPort),
      originator: formatDestination(details.srcIP, details.srcPort),
    };
    const request: TunnelRequest = {
      kind: "remote",
      host: details.destIP,
      port: details.destPort,
      certificatePermits: this.hooks.certificatePermits(),
    };
    const id = this.#decide(ends, request);
    if (id === undefined) {
      reject();
      return;
    }
    const opened = this.#answered
      .then(() => openForwarded(this.client, details))
      .then((channel) => ({
        channel,
        upstream: accept(),
      }));
    this.#relay(id, ends, opened, reject);
  }

  /** Decides and audits a request; the tunnel's id when it is allowed. */
  #decide(
    ends: TunnelEnds,
    request: Omit<TunnelRequest, "certificatePermits">,
  ): string | undefined {
    const id = this.#nextId();
    const entry = this.hooks.entry();
    const decision: TunnelDecision =
      "refused" in entry
        ? { decision: "deny", reason: entry.refused }
        : decideTunnel(entry, { ...request, certificatePermits: this.hooks.certificatePermits() });
    this.hooks.audit("tunnel.open", {
      tunnel: id,
      ...ends,
      decision: decision.decision,
      rule: "refused" in entry ? undefined : entry.name,
      matched: decision.matched,
      reason: decision.reason,
    });
    const what = ends.kind === "local" ? "tunnel to" : "listener on target at";
    const why = decision.decision === "deny" ? ` (${decision.reason})` : "";
    this.hooks.marker(`${decision.decision}: ${what} ${ends.destination}${why}`);
    return decision.decision === "allow" ? id : undefined;
  }

  /** Pipes both ways once both channels are open; audits the close with bytes and duration. */
  #relay(
    id: string,
    ends: TunnelEnds,
    opened: Promise<{ channel: ServerChannel; upstream: ClientChannel }>,
    reject: () => void,
  ): void {
    const startedAt = this.hooks.now();
    opened.then(
      ({ channel, upstream }) => {
        const bytes = { toTarget: 0, fromTarget: 0 };
        channel.on("data", (chunk: Buffer) => {
          bytes.toTarget += chunk.length;
        });
        upstream.on("data", (chunk: Buffer) => {
          bytes.fromTarget += chunk.length;
        });
        channel.pipe(upstream);
        upstream.pipe(channel, { end: false });
        upstream.once("end", () => halfClose(channel));
        let open = 2;
        const onClose = (other: ServerChannel | ClientChannel) => () => {
          closeWhenFlushed(other);
          open -= 1;
          if (open === 0) this.#closed(id, ends, bytes, undefined, startedAt);
        };
        channel.once("close", onClose(upstream));
        upstream.once("close", onClose(channel));
      },
      (error: unknown) => {
        reject();
        this.#closed(id, ends, { toTarget: 0, fromTarget: 0 }, errorMessage(error), startedAt);
      },
    );
  }

  #closed(
    id: string,
    ends: TunnelEnds,
    bytes: { toTarget: number; fromTarget: number },
    error?: string,
    startedAt: Date = this.hooks.now(),
  ): void {
    this.hooks.audit("tunnel.close", {
      tunnel: id,
      ...ends,
      bytes_to_target: bytes.toTarget,
      bytes_from_target: bytes.fromTarget,
      duration_ms: this.hooks.now().getTime() - startedAt.getTime(),
      error,
    });
  }

  #nextId(): string {
    this.#count += 1;
    return `${this.hooks.sessionId}.t${this.#count}`;
  }
}

/**
 * Passes the target's half-close on to the client: EOF once what is queued
 * has gone out, the channel staying open for the reply. (ssh2's `end()` on a
 * server-side channel also sends CLOSE, and OpenSSH then stops reading the
 * reply: an `-R` connection that sends its request and half-closes, as most
 * clients do, got nothing back.) A write of an empty chunk calls back only
 * after every chunk queued before it.
 */
function halfClose(channel: ServerChannel): void {
  if (!channel.writableEnded) channel.write(EMPTY, () => channel.eof());
}

/**
 * Closes one end of a tunnel whose other end has closed, once what is still
 * queued for it has gone out (closing at once would cut the last bytes).
 */
function closeWhenFlushed(channel: ServerChannel | ClientChannel): void {
  if (channel.writableFinished) {
    channel.close();
    return;
  }
  channel.once("finish", () => channel.close());
  channel.end();
}

/** Asks the target's sshd to connect to the destination (as the target sees it). */
function openDirect(upstream: UpstreamClient, info: TcpipRequestInfo): Promise<ClientChannel> {
  return new Promise((resolve, reject) =>
    upstream.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (error, channel) =>
      error
        ? reject(new Error(`target could not open the tunnel: ${error.message}`))
        : resolve(channel),
    ),
  );
}

/** Opens a `forwarded-tcpip` channel to the client for a connection the target accepted. */
function openForwarded(client: Connection, details: TcpConnectionDetails): Promise<ServerChannel> {
  return new Promise((resolve, reject) =>
    client.forwardOut(
      details.destIP,
      details.destPort,
      details.srcIP,
      details.srcPort,
      (error, channel) =>
        error ? reject(new Error(`client refused the tunnel: ${error.message}`)) : resolve(channel),
    ),
  );
}
