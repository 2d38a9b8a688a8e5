// `portcullis serve`: runs the bastion until SIGTERM/SIGINT (a graceful
// shutdown, src/serve/lifecycle.ts); SIGHUP reloads the policy and the
// revocation list (a broken file keeps the running one and is reported). Says
// on stderr where it listens: ssh, http when the login server runs, and
// metrics when the operations listener runs (before ssh, which tests wait for).
// Tells systemd (Type=notify) when it is ready, reloading and stopping.

import type { Command } from "commander";
import { serveUntilStopped } from "../../serve/lifecycle.js";
import { createReadiness } from "../../serve/readiness.js";
import { startServer } from "../../serve/start.js";
import { configFor } from "../config-option.js";

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run the bastion (SSH listener; HTTP login server when configured)")
    .action(async (_options, command: Command) => {
      const loaded = configFor(command);
      const server = await startServer(loaded);
      const readiness = createReadiness();
      const stopped = serveUntilStopped(server, {
        graceMs: loaded.config.ssh.shutdown_grace,
        readiness,
      });
      if (server.ops !== undefined) {
        process.stderr.write(`portcullis: metrics listening on ${server.ops.url}\n`);
      }
      process.stderr.write(`portcullis: ssh listening on ${server.ssh.host}:${server.ssh.port}\n`);
      if (server.http !== undefined) {
        process.stderr.write(`portcullis: http listening on ${server.http.url}\n`);
      }
      readiness.ready(`ssh on ${server.ssh.host}:${server.ssh.port}`);
      await stopped;
    });
}

export function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const)
      process.once(signal, () => resolve(signal));
  });
}
