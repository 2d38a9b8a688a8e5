// The user's SSH key for one bastion: ~/.ssh/portcullis/<host> (Ed25519,
// 0600, in a 0700 directory), generated on first login and reused after,
// so only the certificate changes from one login to the next.

import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { generateKeyPair, inspectPrivateKey } from "../ssh/keygen.js";
import { errorMessage, PortcullisError } from "../util/errors.js";
import { ensurePrivateDir, writeFileAtomic } from "./files.js";
import type { BastionPaths } from "./paths.js";

export interface UserKey {
  /** `type base64 comment`, sent to the bastion. */
  readonly publicKeyLine: string;
  /** True when this login created the key. */
  readonly generated: boolean;
}

/** The existing key's public line, or a new Ed25519 key written to `paths`. */
export function ensureUserKey(paths: BastionPaths, comment: string): UserKey {
  ensurePrivateDir(dirname(paths.privateKey));
  if (existsSync(paths.privateKey)) {
    return { publicKeyLine: existingPublicKey(paths), generated: false };
  }
  const pair = generateKeyPair("ed25519", comment);
  writeFileAtomic(paths.privateKey, pair.privateKey, 0o600);
  writeFileAtomic(paths.publicKey, `${pair.publicKey}\n`, 0o644);
  return { publicKeyLine: pair.publicKey, generated: true };
}

function existingPublicKey(paths: BastionPaths): string {
  const fromPublic = readIfPresent(paths.publicKey);
  if (fromPublic !== undefined && fromPublic.trim() !== "") return fromPublic.trim();
  const text = readIfPresent(paths.privateKey) ?? "";
  const { publicKey } = inspectPrivateKey(text);
  writeFileAtomic(paths.publicKey, `${publicKey}\n`, 0o644);
  return publicKey;
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    const reason = (error as NodeJS.ErrnoException).code ?? errorMessage(error);
    throw new PortcullisError("ERR_LOGIN_KEY", `cannot read ${path}: ${reason}`);
  }
}
