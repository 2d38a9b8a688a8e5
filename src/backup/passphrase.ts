// The backup passphrase: from --passphrase-file (its first line) or
// $PORTCULLIS_BACKUP_PASSPHRASE, never from the command line (argv is
// visible to every user of the host).

import { readFileSync } from "node:fs";
import { ConfigError } from "../util/errors.js";
import { reasonOf } from "./errors.js";

export const PASSPHRASE_ENV = "PORTCULLIS_BACKUP_PASSPHRASE";
/** For a new backup: shorter passphrases are refused. */
export const MIN_PASSPHRASE_LENGTH = 12;

export function readPassphrase(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const passphrase = file === undefined ? env[PASSPHRASE_ENV] : firstLine(file);
  if (passphrase === undefined || passphrase === "") {
    throw new ConfigError([`a passphrase is needed: --passphrase-file FILE or $${PASSPHRASE_ENV}`]);
  }
  return passphrase;
}

/** A passphrase for a new backup: long enough to stand up to guessing. */
export function newBackupPassphrase(file: string | undefined, env?: NodeJS.ProcessEnv): string {
  const passphrase = readPassphrase(file, env);
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new ConfigError([
      `the passphrase is too short: use at least ${MIN_PASSPHRASE_LENGTH} characters`,
    ]);
  }
  return passphrase;
}

function firstLine(file: string): string {
  try {
    return readFileSync(file, "utf8").split(/\r?\n/, 1)[0] ?? "";
  } catch (error) {
    throw new ConfigError([`--passphrase-file: cannot read ${file}: ${reasonOf(error)}`]);
  }
}
