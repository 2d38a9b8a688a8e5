// Test fixtures for policy tests: freshly generated host key lines (never
// committed keys) and in-memory policy files.
import { generateKeyPairSync } from "node:crypto";
import { parsePolicyFiles } from "../../src/policy/parse.js";
import type { Policy } from "../../src/policy/types.js";

function sshString(data: Buffer | string): Buffer {
  const bytes = Buffer.from(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** A new `ssh-ed25519 AAAA… comment` line. */
export function ed25519KeyLine(comment = "test"): string {
  const jwk = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
  const blob = Buffer.concat([
    sshString("ssh-ed25519"),
    sshString(Buffer.from(jwk.x ?? "", "base64url")),
  ]);
  return `ssh-ed25519 ${blob.toString("base64")} ${comment}`;
}

/** A policy from YAML texts named `00.yaml`, `10.yaml`, … in the order given. */
export function policyFrom(...texts: string[]): Policy {
  return parsePolicyFiles(
    texts.map((text, index) => ({ name: `${String(index * 10).padStart(2, "0")}.yaml`, text })),
  );
}

/** YAML for one target with a freshly generated pinned key. */
export function targetYaml(
  name: string,
  options: { logins?: string; labels?: string } = {},
): string {
  return [
    `  ${name}:`,
    `    address: ${name}.internal:22`,
    `    logins: ${options.logins ?? "[deploy, root]"}`,
    `    credential: ${name}-cred`,
    `    host_key: "${ed25519KeyLine()}"`,
    `    labels: ${options.labels ?? "{}"}`,
  ].join("\n");
}
