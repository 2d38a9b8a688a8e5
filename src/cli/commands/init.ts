// `portcullis init [DIR]`: writes a working setup (see src/setup/init.ts).

import type { Command } from "commander";
import { initSetup } from "../../setup/init.js";
import { listenOption } from "../option-parsers.js";

export function registerInitCommand(program: Command): void {
  program
    .command("init")
    .description(
      "create a working setup: config, host key, user CA, vault master key, example policies",
    )
    .argument("[dir]", "directory to set up", ".")
    .option("--listen <host:port>", "SSH listen address", listenOption, "0.0.0.0:2222")
    .action((dir: string, options: { listen: string }) => {
      const result = initSetup(dir, { sshListen: options.listen });
      process.stdout.write(
        [
          `wrote ${result.configPath}`,
          `user CA public key: ${result.userCaPath}.pub`,
          "next: add a target (portcullis vault generate NAME; portcullis targets scan HOST) and run portcullis serve",
          "",
        ].join("\n"),
      );
    });
}
