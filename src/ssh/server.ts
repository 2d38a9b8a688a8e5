// The bastion's SSH listener: owns the ssh2 Server and the set of live
// connections (so that a shutdown can warn each one, then end it with a
// message). Each
// connection's state lives in its own BastionConnection, never here. With a
// host certificate, the (patched) ssh2 offers it first and the plain key too.

import type { AddressInfo, Server as NetServer } from "node:net";
import type { EncryptedPrivateKey } from "ssh2";
import ssh2 from "ssh2";
import { newSessionId } from "../session/session-id.js";
import { PortcullisError } from "../util/errors.js";
import { BastionConnection } from "./connection.js";
import type { BastionContext } from "./context.js";

const { Server } = ssh2;

export interface SshListen {
  host: string;
  port: number;
}

export interface BastionHostKey {
  /** The host private key file's contents. */
  key: Buffer;
  /** An OpenSSH host certificate blob for `key`, checked by the caller (src/ca/host-ca.ts). */
  certificate?: Buffer;
}

export interface RunningBastion {
  port: number;
  host: string;
  /** Stops accepting connections; resolves once the last open one has closed. */
  stopAccepting(): Promise<void>;
  /** Writes `portcullis: <message>` on every open session channel; the sessions go on. */
  tell(message: string): void;
  /** Stops accepting, ends every session with `reason`, resolves when all are closed. */
  close(reason: string): Promise<void>;
}

export async function startBastion(
  hostKey: BastionHostKey,
  listen: SshListen,
  context: BastionContext,
): Promise<RunningBastion> {
  const connections = new Set<BastionConnection>();
  // `certificate` is the patch's addition to ssh2's { key } host key entry.
  const hostKeys: EncryptedPrivateKey[] = [hostKey];
  const server = new Server({ hostKeys, ident: "Portcullis" }, (client, info) => {
    const connection = new BastionConnection(client, context, newSessionId(context.now()), info.ip);
    connections.add(connection);
    // Interactive echo must not wait for Nagle's algorithm.
    // (ssh2 has Connection#setNoDelay; its type declarations lack it.)
    (client as typeof client & { setNoDelay(noDelay: boolean): void }).setNoDelay(true);
    client.on("close", () => connections.delete(connection));
  });
  await listenOn(server, listen);
  server.on("error", (error: Error) =>
    context.audit.error("ssh listener error", { error: error.message }),
  );
  const address = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const stopAccepting = () => {
    closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
    return closed;
  };
  return {
    host: address.address,
    port: address.port,
    stopAccepting,
    tell: (message) => {
      for (const connection of connections) connection.tell(message);
    },
    close: async (reason) => {
      const allClosed = stopAccepting();
      for (const connection of connections) connection.end(reason);
      await allClosed;
    },
  };
}

function listenOn(server: NetServer, listen: SshListen): Promise<void> {
  return new Promise((resolve, reject) => {
    const refuse = (error: Error) =>
      reject(
        new PortcullisError(
          "ERR_LISTEN",
          `cannot listen on ${listen.host}:${listen.port}: ${error.message}`,
        ),
      );
    server.once("error", refuse);
    server.listen(listen.port, listen.host, () => {
      server.off("error", refuse);
      resolve();
    });
  });
}
