// Public API of the credential vault (SPEC §2 `portcullis vault …`, config
// keys vault.path and vault.master_key_file). Internals stay in this folder.
export {
  createMasterKeyFile,
  generateMasterKey,
  MASTER_KEY_BYTES,
  MASTER_KEY_ENV,
  type MasterKeySources,
  resolveMasterKey,
} from "./master-key.js";
export {
  isValidEntryName,
  openVault,
  Vault,
  type VaultEntrySummary,
  type VaultOptions,
  type WriteOptions,
} from "./vault.js";
