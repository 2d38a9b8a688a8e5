// Resolves the configuration for a subcommand from the global --config
// option (then $PORTCULLIS_CONFIG, then ./portcullis.yaml).

import type { Command } from "commander";
import { type LoadedConfig, loadConfig } from "../config/index.js";

export function configFor(command: Command): LoadedConfig {
  const explicit = command.optsWithGlobals<{ config?: string }>().config;
  return loadConfig(explicit);
}
