// `portcullis targets scan NAME|HOST[:PORT]`: fetch the host key a target
// presents and print the `host_key:` line to pin (and whether it matches
// the key pinned today).

import type { Command } from "commander";
import { loadPolicyDir } from "../../policy/index.js";
import { hostKeyAlgorithm, scanHostKey, type UpstreamEndpoint } from "../../ssh/upstream.js";
import { ConfigError } from "../../util/errors.js";
import { configFor } from "../config-option.js";

const SCAN_TIMEOUT_MS = 10_000;

export function registerTargetsCommands(program: Command): void {
  const targets = program.command("targets").description("upstream servers");
  targets
    .command("scan")
    .description("print the host_key line to pin for a target (by name, or HOST[:PORT])")
    .argument("<target>")
    .option("--type <algorithm>", "host key algorithm to ask for, e.g. ssh-ed25519")
    .action(async (name: string, options: { type?: string }, command: Command) => {
      const { config } = configFor(command);
      const target = loadPolicyDir(config.policy.dir).targets.get(name);
      const endpoint = target?.address ?? parseEndpoint(name);
      // Ask for the pinned key's type, so a server with several keys is compared like for like.
      const type =
        options.type ?? (target?.host_key ? hostKeyAlgorithm(target.host_key.type) : undefined);
      const presented = await scanHostKey(endpoint, SCAN_TIMEOUT_MS, type);
      process.stdout.write(`host_key: "${presented}"\n`);
      if (target?.host_key) {
        const same = presented.split(" ")[1] === target.host_key.blob.toString("base64");
        process.stderr.write(
          same
            ? `matches the key pinned for ${name}\n`
            : `WARNING: differs from the key pinned for ${name}\n`,
        );
      }
    });
}

function parseEndpoint(text: string): UpstreamEndpoint {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3] ?? 22);
  if (!host || port < 1 || port > 65535) {
    throw new ConfigError([`"${text}" is neither a target in the policy nor HOST[:PORT]`]);
  }
  return { host, port };
}
