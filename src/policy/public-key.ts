// Public key lines as they appear in YAML (`host_key`, `host_ca` in policy,
// `ca.extra_trusted` in config), parsed by the one OpenSSH key codec in
// src/openssh/keys.ts so that policy and authentication agree on what a key is.
import { parsePublicKeyLine, type SshPublicKey } from "../openssh/keys.js";
import { parsedString } from "../util/yaml-source.js";

export type PublicKey = SshPublicKey;
export { parsePublicKeyLine };

/** The canonical `type base64` line, without comment. */
export function formatPublicKey(key: PublicKey): string {
  return key.toLine();
}

/** A public key line in YAML, validated and parsed. */
export const publicKeyLineSchema = parsedString(parsePublicKeyLine);
