// `portcullis ca sign|revoke`: break-glass certificate issuance and the
// revocation list (which a running server picks up without a restart).

import type { Command } from "commander";
import { signUserKeyFile } from "../../ca/authority.js";
import { revoke } from "../../ca/revocation.js";
import { ConfigError } from "../../util/errors.js";
import { parseDuration } from "../../util/units.js";
import { configFor } from "../config-option.js";
import { durationOption } from "../option-parsers.js";

interface SignOptions {
  user: string;
  groups?: string;
  ttl?: string;
}

export function registerCaCommands(program: Command): void {
  const ca = program.command("ca").description("user certificate authority");
  ca.command("sign")
    .description("issue a user certificate for KEY.pub, written to KEY-cert.pub")
    .requiredOption("--user <email>", "identity (key id and principal)")
    .option("--groups <a,b>", "groups carried in the groups@portcullis extension")
    .option("--ttl <duration>", "validity, e.g. 8h (default: ca.default_ttl)", durationOption)
    .argument("<key.pub>", "the user's public key file")
    .action((publicKeyPath: string, options: SignOptions, command: Command) => {
      const { config } = configFor(command);
      const ttlMs = options.ttl ? parseDuration(options.ttl) : config.ca.default_ttl;
      if (ttlMs > config.ca.max_ttl) {
        throw new ConfigError([`--ttl ${options.ttl} exceeds ca.max_ttl`]);
      }
      const groups = options.groups
        ? options.groups
            .split(",")
            .map((group) => group.trim())
            .filter(Boolean)
        : [];
      const written = signUserKeyFile({
        caKeyPath: config.ca.user_key,
        publicKeyPath,
        user: options.user,
        groups,
        ttlMs,
        now: new Date(),
      });
      process.stdout.write(`${written}\n`);
    });
  ca.command("revoke")
    .description("revoke certificates by serial number or key id (takes effect without restart)")
    .argument("<serial|keyid>")
    .action((entry: string, _options, command: Command) => {
      const { config } = configFor(command);
      revoke(config.ca.revocation_file, entry);
      process.stdout.write(`revoked ${entry}\n`);
    });
}
