#!/usr/bin/env node
// The `portcullis` command: parses arguments (commander) and hands each
// subcommand to its module in ./commands. Errors become one line on stderr
// and an exit status (2 = usage or configuration error), never a stack trace.

import { Command, CommanderError } from "commander";
import { errorMessage, PortcullisError } from "../util/errors.js";
import { registerApprovalsCommands } from "./commands/approvals.js";
import { registerBackupCommands } from "./commands/backup.js";
import { registerCaCommands } from "./commands/ca.js";
import { registerDemoCommand } from "./commands/demo.js";
import { registerDoctorCommand } from "./commands/doctor.js";
import { registerInitCommand } from "./commands/init.js";
import { registerLoginCommand } from "./commands/login.js";
import { registerPolicyCommands } from "./commands/policy.js";
import { registerRecordingsCommands } from "./commands/recordings.js";
import { registerServeCommand } from "./commands/serve.js";
import { registerSignalsCommand } from "./commands/signals.js";
import { registerTargetsCommands } from "./commands/targets.js";
import { registerVaultCommands } from "./commands/vault.js";

const USAGE_ERROR = 2;

function buildProgram(): Command {
  const program = new Command("portcullis")
    .description("SSH bastion with command-level policy")
    .option(
      "-c, --config <file>",
      "configuration file (default: $PORTCULLIS_CONFIG or ./portcullis.yaml)",
    )
    .configureOutput({
      // One line, like every other error: "portcullis: unknown option '--x'".
      outputError: (text, write) => write(`portcullis: ${text.replace(/^error: /, "")}`),
    })
    .exitOverride();
  for (const register of [
    registerInitCommand,
    registerServeCommand,
    registerDemoCommand,
    registerLoginCommand,
    registerCaCommands,
    registerVaultCommands,
    registerTargetsCommands,
    registerPolicyCommands,
    registerRecordingsCommands,
    registerSignalsCommand,
    registerApprovalsCommands,
    registerBackupCommands,
    registerDoctorCommand,
  ]) {
    register(program);
  }
  program.commands.forEach(function exitOverrideAll(command: Command) {
    command.exitOverride();
    command.commands.forEach(exitOverrideAll);
  });
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    // A command that reported its own failure (e.g. `policy test`) set the status.
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : USAGE_ERROR;
    }
    if (error instanceof PortcullisError) {
      process.stderr.write(`${error.message.replace(/^/gm, "portcullis: ")}\n`);
      return error.exitCode;
    }
    process.stderr.write(`portcullis: unexpected error: ${errorMessage(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv);
