// `portcullis backup --out FILE`, `backup verify FILE` and `restore --in FILE
// --to DIR`: an encrypted backup of the database (a consistent snapshot, safe
// while serve runs), the keys, the vault, the policy and the config
// (src/backup). The passphrase comes from --passphrase-file or
// $PORTCULLIS_BACKUP_PASSPHRASE, never from the command line.

import type { Command } from "commander";
import {
  type BackupSummary,
  newBackupPassphrase,
  PASSPHRASE_ENV,
  readPassphrase,
  restoreBackup,
  verifyBackup,
  writeBackup,
} from "../../backup/index.js";
import { ConfigError } from "../../util/errors.js";
import { configFor } from "../config-option.js";

const PASSPHRASE_FILE = [
  "--passphrase-file <file>",
  `read the passphrase here (else $${PASSPHRASE_ENV})`,
] as const;

interface PassphraseOptions {
  passphraseFile?: string;
}

export function registerBackupCommands(program: Command): void {
  const backup = program
    .command("backup")
    .description("write an encrypted backup of the database, keys, vault, policy and config")
    .option("--out <file>", "the backup file to write (mode 0600)")
    .option(...PASSPHRASE_FILE)
    .action((options: PassphraseOptions & { out?: string }, command: Command) => {
      if (options.out === undefined) throw new ConfigError(["backup: --out FILE is required"]);
      const passphrase = newBackupPassphrase(options.passphraseFile);
      const written = writeBackup(configFor(command), options.out, passphrase);
      process.stdout.write(`${describe(options.out, written)}\n`);
    });
  backup
    .command("verify")
    .description(
      `check that a backup opens and is whole (passphrase: backup --passphrase-file, or $${PASSPHRASE_ENV})`,
    )
    .argument("<file>")
    // --passphrase-file is backup's option: commander gives it to the parent wherever it stands.
    .action((file: string, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<PassphraseOptions>();
      const checked = verifyBackup(file, readPassphrase(options.passphraseFile));
      process.stdout.write(`${describe(file, checked)}\n`);
      for (const path of checked.files) process.stdout.write(`  ${path}\n`);
    });
  program
    .command("restore")
    .description("write a backup's files into a directory (its config names them there)")
    .requiredOption("--in <file>", "the backup file")
    .requiredOption("--to <dir>", "the directory to restore into")
    .option("--force", "overwrite existing files")
    .option(...PASSPHRASE_FILE)
    .action((options: PassphraseOptions & { in: string; to: string; force?: boolean }) => {
      const passphrase = readPassphrase(options.passphraseFile);
      const restored = restoreBackup(options.in, options.to, passphrase, options.force === true);
      process.stdout.write(
        `restored ${restored.files.length} files into ${options.to}; start it with: portcullis --config ${options.to}/${restored.info.config} serve\n`,
      );
    });
}

function describe(file: string, backup: BackupSummary): string {
  const { created, database } = backup.info;
  return `${file}: ${backup.files.length} files, ${backup.bytes} bytes, made ${created}, database schema version ${database.schemaVersion}`;
}
