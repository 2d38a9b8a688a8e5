// `portcullis ca sign|revoke|sign-host|known-hosts`: break-glass user
// certificate issuance, the revocation list (which a running server picks
// up without a restart), and the bastion's own host certificate.

import type { Command } from "commander";
import { secondsToDate } from "../../auth/validity.js";
import { signUserKeyFile } from "../../ca/authority.js";
import {
  bastionHostNames,
  hostCaKnownHostsLine,
  hostCaPrivateKeyPath,
  signHostKeyFile,
} from "../../ca/host-ca.js";
import { revoke } from "../../ca/revocation.js";
import { ConfigError } from "../../util/errors.js";
import { parseDuration } from "../../util/units.js";
import { configFor } from "../config-option.js";
import { durationOption } from "../option-parsers.js";

interface SignHostOptions {
  hostName: string[];
  ttl?: string;
  caKey?: string;
}

interface SignOptions {
  user: string;
  groups?: string;
  ttl?: string;
  permitPortForwarding?: boolean;
}

export function registerCaCommands(program: Command): void {
  const ca = program.command("ca").description("user and host certificate authorities");
  ca.command("sign")
    .description("issue a user certificate for KEY.pub, written to KEY-cert.pub")
    .requiredOption("--user <email>", "identity (key id and principal)")
    .option("--groups <a,b>", "groups carried in the groups@portcullis extension")
    .option("--ttl <duration>", "validity, e.g. 8h (default: ca.default_ttl)", durationOption)
    .option(
      "--permit-port-forwarding",
      "add permit-port-forwarding (the policy still decides each tunnel)",
    )
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
        ...(options.permitPortForwarding === true ? { permitPortForwarding: true } : {}),
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
  registerHostCommands(ca);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function registerHostCommands(ca: Command): void {
  ca.command("sign-host")
    .description("issue the bastion's host certificate (ssh.host_certificate) with the host CA")
    .option(
      "--host-name <name>",
      "a name users reach the bastion by; repeat for several (default: ssh.host_names)",
      collect,
      [],
    )
    .option("--ttl <duration>", "validity (default: ssh.host_certificate_ttl)", durationOption)
    .option("--ca-key <file>", "host CA private key (default: ssh.host_ca without .pub)")
    .action((options: SignHostOptions, command: Command) => {
      const { ssh } = configFor(command).config;
      const certificate = signHostKeyFile({
        hostCaKeyPath: options.caKey ?? hostCaPrivateKeyPath(ssh),
        hostKeyPath: ssh.host_key,
        certificatePath: ssh.host_certificate,
        hostNames: options.hostName.length > 0 ? options.hostName : bastionHostNames(ssh),
        ttlMs: options.ttl ? parseDuration(options.ttl) : ssh.host_certificate_ttl,
        now: new Date(),
      });
      const until = secondsToDate(certificate.validBefore).toISOString();
      process.stdout.write(
        `${ssh.host_certificate}\nvalid for ${certificate.principals.join(", ")} until ${until}; restart portcullis serve to present it\n`,
      );
    });
  ca.command("known-hosts")
    .description("print the @cert-authority known_hosts line that trusts the bastion's host CA")
    .action((_options, command: Command) => {
      const line = hostCaKnownHostsLine(configFor(command).config);
      if (line === undefined) {
        throw new ConfigError(["ssh.host_ca: no host CA public key (run portcullis init)"]);
      }
      process.stdout.write(`${line}\n`);
    });
}
