// Shared test fixtures for the openssh, ca and auth tests: private temp dirs,
// keys made by the real ssh-keygen and parsed by our codec, and wrappers for
// `ssh-keygen -s` (sign a certificate) and `ssh-keygen -L` (print one).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import {
  parsePrivateKey,
  parsePublicKeyLine,
  type SshPrivateKey,
  type SshPublicKey,
} from "../../src/openssh/keys.js";
import { generateTestKey, type TestKey, type TestKeyType } from "../harness/keys.js";

/** A private temp dir removed when the test file finishes. */
export function tempDir(prefix = "portcullis-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface LoadedTestKey extends TestKey {
  readonly publicKey: SshPublicKey;
  readonly privateKey: SshPrivateKey;
}

export function loadedTestKey(dir: string, type: TestKeyType = "ed25519"): LoadedTestKey {
  const key = generateTestKey(dir, type);
  return {
    ...key,
    publicKey: parsePublicKeyLine(key.publicLine),
    privateKey: parsePrivateKey(readFileSync(key.privatePath, "utf8"), key.privatePath),
  };
}

/** `ssh-keygen -s CA ARGS… KEY.pub`; returns the certificate line it wrote. */
export function keygenSign(caPath: string, publicPath: string, args: readonly string[]): string {
  execFileSync("ssh-keygen", ["-q", "-s", caPath, ...args, publicPath], { stdio: "pipe" });
  return readFileSync(publicPath.replace(/\.pub$/, "-cert.pub"), "utf8").trim();
}

/** `ssh-keygen -L -f FILE` output. */
export function keygenList(certificatePath: string): string {
  return execFileSync("ssh-keygen", ["-L", "-f", certificatePath], { encoding: "utf8" });
}

/** Unix seconds as bigint, for certificate validity fields. */
export function unixSeconds(date: Date): bigint {
  return BigInt(Math.floor(date.getTime() / 1000));
}

/** A copy of `bytes` with one byte inverted (negative index counts from the end). */
export function flipByte(bytes: Buffer, index: number): Buffer {
  const copy = Buffer.from(bytes);
  const at = index < 0 ? copy.length + index : index;
  copy.writeUInt8(copy.readUInt8(at) ^ 0xff, at);
  return copy;
}
