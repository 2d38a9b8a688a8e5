// Doctor: where the vault master key comes from (as `resolveMasterKey` looks:
// $PORTCULLIS_VAULT_KEY, the systemd credential vault.key, then
// vault.master_key_file, judged like any private key file), and whether it
// opens the vault. Never creates the vault: a directory without vault.json is
// reported as empty.

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/index.js";
import { errorMessage } from "../util/errors.js";
import { MASTER_KEY_ENV, openVault, resolveMasterKey } from "../vault/index.js";
import { CREDENTIAL_NAME } from "../vault/master-key.js";
import { VAULT_METADATA_FILE } from "../vault/vault.js";
import { type CheckResult, count, fail, ok, warn } from "./check.js";
import { fileFacts, judgeSecretFile } from "./key-files.js";

const MASTER_KEY_CHECK = "vault master key";
const VAULT_CHECK = "vault";

export function checkMasterKeySource(
  config: Config,
  env: NodeJS.ProcessEnv,
  uid: number,
): CheckResult {
  if (nonEmpty(env[MASTER_KEY_ENV])) return ok(MASTER_KEY_CHECK, `from $${MASTER_KEY_ENV}`);
  const credentialsDir = env.CREDENTIALS_DIRECTORY;
  if (nonEmpty(credentialsDir) && existsSync(join(credentialsDir, CREDENTIAL_NAME))) {
    return ok(MASTER_KEY_CHECK, `${join(credentialsDir, CREDENTIAL_NAME)} (systemd credential)`);
  }
  const path = config.vault.master_key_file;
  const file = {
    check: MASTER_KEY_CHECK,
    path,
    required: true,
    whenMissing: `set $${MASTER_KEY_ENV}, load the credential ${CREDENTIAL_NAME}, or restore the file from your backup`,
  };
  return judgeSecretFile(file, fileFacts(path, env), uid);
}

export interface VaultCheck {
  readonly result: CheckResult;
  /** The entry names, when the vault could be opened. */
  readonly entries?: ReadonlySet<string>;
}

export function checkVault(config: Config, env: NodeJS.ProcessEnv): VaultCheck {
  const dir = config.vault.path;
  if (!existsSync(join(dir, VAULT_METADATA_FILE))) {
    return {
      result: warn(
        VAULT_CHECK,
        `${dir} is empty: portcullis vault generate NAME for a first target`,
      ),
      entries: new Set(),
    };
  }
  try {
    const key = resolveMasterKey({ masterKeyFile: config.vault.master_key_file, env });
    const entries = new Set(
      openVault(dir, key)
        .list()
        .map((entry) => entry.name),
    );
    return {
      result: ok(
        VAULT_CHECK,
        `${dir}: ${count(entries.size, "entry", "entries")}, the master key opens it`,
      ),
      entries,
    };
  } catch (error) {
    return { result: fail(VAULT_CHECK, errorMessage(error)) };
  }
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== "";
}
