// Test helper: generates throw-away OpenSSH key pairs with the real
// ssh-keygen, in a directory the caller owns and removes.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export type TestKeyType = "ed25519" | "ecdsa" | "ecdsa384" | "ecdsa521" | "rsa";

export interface TestKey {
  readonly privatePath: string;
  readonly publicPath: string;
  readonly publicLine: string;
}

const KEYGEN_ARGS: Record<TestKeyType, readonly string[]> = {
  ed25519: ["-t", "ed25519"],
  ecdsa: ["-t", "ecdsa", "-b", "256"],
  ecdsa384: ["-t", "ecdsa", "-b", "384"],
  ecdsa521: ["-t", "ecdsa", "-b", "521"],
  rsa: ["-t", "rsa", "-b", "2048"],
};

let counter = 0;

/** Runs `ssh-keygen -q -t TYPE -N '' -f DIR/NAME`; NAME defaults to a fresh unique one. */
export function generateTestKey(
  dir: string,
  type: TestKeyType = "ed25519",
  name?: string,
): TestKey {
  counter += 1;
  const privatePath = join(dir, name ?? `id_${type}_${process.pid}_${counter}`);
  execFileSync("ssh-keygen", [
    "-q",
    ...KEYGEN_ARGS[type],
    "-N",
    "",
    "-C",
    "test",
    "-f",
    privatePath,
  ]);
  const publicPath = `${privatePath}.pub`;
  return { privatePath, publicPath, publicLine: readFileSync(publicPath, "utf8").trim() };
}
