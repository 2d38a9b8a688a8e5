// `portcullis demo`: everything on loopback, no root, no system sshd; prints
// the ssh command to paste and runs until Ctrl-C.

import type { Command } from "commander";
import { DEMO_USER, startDemo } from "../../demo/demo.js";
import { portOption } from "../option-parsers.js";
import { waitForStopSignal } from "./serve.js";

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("run a throwaway bastion with a demo target on loopback")
    .option("--port <port>", "SSH port of the bastion (0 = any free port)", portOption, 2222)
    .action(async (options: { port: number }) => {
      const demo = await startDemo(options.port);
      const stopSignal = waitForStopSignal();
      process.stdout.write(
        [
          `Portcullis demo is running (bastion on 127.0.0.1:${demo.port}, files in ${demo.dir}).`,
          `A certificate for ${DEMO_USER} (group demo) was issued. Connect with:`,
          "",
          `  ${demo.sshCommand.join(" ")}`,
          "",
          `Run one command:  ${demo.sshCommand.join(" ")} uname -a`,
          `See policy work:  ${demo.sshCommand.join(" ")} 'rm -rf /'   (blocked)`,
          "In the shell, try `rm -r /` or `sudo true`: each line is checked when you press Enter.",
          `Audit log:        ${demo.auditFile}`,
          "Press Ctrl-C to stop; the directory is removed.",
          "",
        ].join("\n"),
      );
      await stopSignal;
      await demo.close();
    });
}
