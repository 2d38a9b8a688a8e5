// `portcullis serve`: runs the bastion until SIGTERM/SIGINT; SIGHUP reloads
// the policy (a broken policy keeps the running one and is reported). Says
// on stderr where it listens: ssh, and http when the login server runs.

import type { Command } from "commander";
import { startServer } from "../../serve/start.js";
import { configFor } from "../config-option.js";

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run the bastion (SSH listener; HTTP login server when configured)")
    .action(async (_options, command: Command) => {
      const server = await startServer(configFor(command));
      const stopSignal = waitForStopSignal();
      process.stderr.write(`portcullis: ssh listening on ${server.ssh.host}:${server.ssh.port}\n`);
      if (server.http !== undefined) {
        process.stderr.write(`portcullis: http listening on ${server.http.url}\n`);
      }
      process.on("SIGHUP", () => server.reloadPolicy());
      await stopSignal;
      await server.close("the bastion is shutting down");
    });
}

export function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const)
      process.once(signal, () => resolve(signal));
  });
}
