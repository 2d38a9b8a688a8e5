// `portcullis vault add|generate|list|remove`: upstream credentials, kept
// encrypted; only public keys are ever printed.

import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { KEY_TYPES, type KeyType } from "../../ssh/keygen.js";
import { ConfigError, PortcullisError } from "../../util/errors.js";
import { openVault, resolveMasterKey, type Vault } from "../../vault/index.js";
import { configFor } from "../config-option.js";

function vaultFor(command: Command): Vault {
  const { config } = configFor(command);
  return openVault(
    config.vault.path,
    resolveMasterKey({ masterKeyFile: config.vault.master_key_file }),
  );
}

export function registerVaultCommands(program: Command): void {
  const vault = program.command("vault").description("upstream credentials, encrypted at rest");
  vault
    .command("add")
    .description("store an existing private key")
    .argument("<name>")
    .requiredOption("--key-file <file>", "OpenSSH or PEM private key (unencrypted)")
    .option("--replace", "overwrite an existing entry")
    .action((name: string, options: { keyFile: string; replace?: boolean }, command: Command) => {
      const text = readPrivateKeyFile(options.keyFile);
      vaultFor(command).add(name, text, { replace: options.replace === true });
      process.stdout.write(`stored ${name}\n`);
    });
  vault
    .command("generate")
    .description("create a new key pair in the vault and print its public key")
    .argument("<name>")
    .option("--type <type>", `key type: ${KEY_TYPES.join(", ")}`, "ed25519")
    .action((name: string, options: { type: string }, command: Command) => {
      if (!KEY_TYPES.includes(options.type as KeyType)) {
        throw new ConfigError([`--type must be one of ${KEY_TYPES.join(", ")}`]);
      }
      process.stdout.write(`${vaultFor(command).generate(name, options.type as KeyType)}\n`);
    });
  vault
    .command("list")
    .description("list entries (name, type, public key)")
    .action((_options, command: Command) => {
      for (const entry of vaultFor(command).list()) {
        process.stdout.write(
          `${entry.name}\t${entry.type}\t${entry.created}\t${entry.publicKey}\n`,
        );
      }
    });
  vault
    .command("remove")
    .description("delete an entry")
    .argument("<name>")
    .action((name: string, _options, command: Command) => {
      vaultFor(command).remove(name);
      process.stdout.write(`removed ${name}\n`);
    });
}

function readPrivateKeyFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new PortcullisError(
      "ERR_KEY_FILE",
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`,
    );
  }
}
