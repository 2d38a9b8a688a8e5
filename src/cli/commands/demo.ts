// `portcullis demo`: everything on loopback, no root, no system sshd; prints
// the demo users, the `portcullis login` and ssh lines, and runs until Ctrl-C.

import { basename } from "node:path";
import type { Command } from "commander";
import { type CliInvocation, demoBanner } from "../../demo/instructions.js";
import { portOption } from "../option-parsers.js";
import { waitForStopSignal } from "./serve.js";

interface DemoOptions {
  port: number;
  httpPort: number;
}

/** `portcullis` when started through the installed command, else `node /path/to/main.js`. */
function invocation(): CliInvocation {
  const script = process.argv[1] ?? "portcullis";
  return basename(script) === "portcullis" ? ["portcullis"] : ["node", script];
}

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("run a throwaway bastion, identity provider and demo target on loopback")
    .option("--port <port>", "SSH port of the bastion (0 = any free port)", portOption, 2222)
    .option("--http-port <port>", "port of the login server (0 = any free port)", portOption, 8080)
    .action(async (options: DemoOptions) => {
      // Loaded here, not at the top: oidc-provider prints a warning on Node 20
      // when imported, which every other subcommand must not show.
      const { startDemo } = await import("../../demo/demo.js");
      const demo = await startDemo({ ssh: options.port, http: options.httpPort });
      const stopSignal = waitForStopSignal();
      process.stdout.write(demoBanner(demo, invocation()));
      await stopSignal;
      await demo.close();
    });
}
