// `portcullis doctor [--json]`: checks a setup before (or while) it runs and
// prints one line per check — ok, warn, FAIL with what to fix, or skip —
// or, with --json, one document. Exit 0 when nothing failed, 1 otherwise.

import type { Command } from "commander";
import { exitStatus, formatResult, jsonReport } from "../../doctor/check.js";
import { runDoctor } from "../../doctor/run.js";

export function registerDoctorCommand(program: Command): void {
  program
    .command("doctor")
    .description(
      "check config, key files, vault, policy, database, disk space, the IdP, the clock and every target",
    )
    .option("--json", "print the checks as one JSON document")
    .action(async (options: { json?: boolean }, command: Command) => {
      const configFile = command.optsWithGlobals<{ config?: string }>().config;
      const results = await runDoctor({ ...(configFile !== undefined ? { configFile } : {}) });
      process.stdout.write(
        options.json === true
          ? `${jsonReport(results)}\n`
          : `${results.map(formatResult).join("\n")}\n`,
      );
      process.exitCode = exitStatus(results);
    });
}
