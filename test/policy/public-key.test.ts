// Public key lines (host_key, host_ca, ca.extra_trusted): what ssh-keygen
// writes is accepted for every supported type; malformed lines are refused
// with a one-line reason that never repeats the key data.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { formatPublicKey, parsePublicKeyLine } from "../../src/policy/public-key.js";
import { ed25519KeyLine } from "./fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "portcullis-keys-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function sshKeygenLine(type: string, bits: string): string {
  const file = join(dir, `${type}-${bits}`);
  execFileSync("ssh-keygen", [
    "-q",
    "-t",
    type,
    "-b",
    bits,
    "-N",
    "",
    "-C",
    "host@example",
    "-f",
    file,
  ]);
  return readFileSync(`${file}.pub`, "utf8");
}

describe("parsePublicKeyLine", () => {
  const generated: [string, string, string][] = [
    ["ed25519", "256", "ssh-ed25519"],
    ["ecdsa", "256", "ecdsa-sha2-nistp256"],
    ["ecdsa", "384", "ecdsa-sha2-nistp384"],
    ["ecdsa", "521", "ecdsa-sha2-nistp521"],
    ["rsa", "2048", "ssh-rsa"],
  ];
  for (const [type, bits, expected] of generated) {
    test(`accepts ssh-keygen -t ${type} -b ${bits}`, () => {
      const line = sshKeygenLine(type, bits);
      const key = parsePublicKeyLine(line);
      assert.equal(key.type, expected);
      assert.equal(`${formatPublicKey(key)} host@example\n`, line);
    });
  }

  const [, validData = ""] = ed25519KeyLine().split(" ");
  const truncated = Buffer.from(validData, "base64").subarray(0, 40).toString("base64");
  const padded = Buffer.concat([Buffer.from(validData, "base64"), Buffer.from([0])]).toString(
    "base64",
  );
  const refused: [string, string, string][] = [
    [
      "unknown type",
      `ssh-dss ${validData}`,
      'public key line says "ssh-dss" but its data is a ssh-ed25519 key',
    ],
    [
      "certificate type",
      `ssh-ed25519-cert-v01@openssh.com ${validData}`,
      'public key line says "ssh-ed25519-cert-v01@openssh.com" but its data is a ssh-ed25519 key',
    ],
    ["no data", "ssh-ed25519", 'public key line must be "TYPE BASE64 [COMMENT]"'],
    ["not base64", "ssh-ed25519 AAAA$$$$", "public key is not valid base64"],
    [
      "non-canonical base64",
      `ssh-ed25519 ${validData.slice(0, -1)}`,
      "public key is not valid base64",
    ],
    [
      "declared type differs from the blob",
      `ecdsa-sha2-nistp256 ${validData}`,
      'public key line says "ecdsa-sha2-nistp256" but its data is a ssh-ed25519 key',
    ],
    [
      "truncated blob",
      `ssh-ed25519 ${truncated}`,
      'malformed "ssh-ed25519" public key: truncated data',
    ],
    [
      "trailing bytes",
      `ssh-ed25519 ${padded}`,
      'malformed "ssh-ed25519" public key: 1 unexpected trailing bytes',
    ],
    ["empty", "", 'public key line must be "TYPE BASE64 [COMMENT]"'],
  ];
  for (const [name, line, message] of refused) {
    test(`refuses: ${name}`, () => {
      assert.throws(
        () => parsePublicKeyLine(line),
        (error: Error) => {
          assert.equal(error.message, message);
          assert.ok(
            !validData || !error.message.includes(validData.slice(8, 40)),
            "message repeats key data",
          );
          return true;
        },
      );
    });
  }
});
