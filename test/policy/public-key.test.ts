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
      assert.equal(key.comment, "host@example");
      assert.equal(`${formatPublicKey(key)} host@example\n`, line);
    });
  }

  test("comment is optional", () => {
    const [type, data] = ed25519KeyLine().split(" ");
    assert.equal(parsePublicKeyLine(`${type} ${data}`).comment, undefined);
  });

  const [, validData = ""] = ed25519KeyLine().split(" ");
  const truncated = Buffer.from(validData, "base64").subarray(0, 40).toString("base64");
  const padded = Buffer.concat([Buffer.from(validData, "base64"), Buffer.from([0])]).toString(
    "base64",
  );
  const refused: [string, string, string][] = [
    [
      "unknown type",
      `ssh-dss ${validData}`,
      "unsupported key type (expected one of ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa)",
    ],
    [
      "certificate type",
      `ssh-ed25519-cert-v01@openssh.com ${validData}`,
      "unsupported key type (expected one of ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa)",
    ],
    ["no data", "ssh-ed25519", 'missing key data after "ssh-ed25519"'],
    ["not base64", "ssh-ed25519 AAAA$$$$", "key data is not valid base64"],
    [
      "non-canonical base64",
      `ssh-ed25519 ${validData.slice(0, -1)}`,
      "key data is not valid base64",
    ],
    [
      "declared type differs from the blob",
      `ecdsa-sha2-nistp256 ${validData}`,
      "key data is not a ecdsa-sha2-nistp256 key",
    ],
    ["truncated blob", `ssh-ed25519 ${truncated}`, "malformed ssh-ed25519 key data"],
    ["trailing bytes", `ssh-ed25519 ${padded}`, "malformed ssh-ed25519 key data"],
    [
      "empty",
      "",
      "unsupported key type (expected one of ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa)",
    ],
  ];
  for (const [name, line, message] of refused) {
    test(`refuses: ${name}`, () => {
      assert.throws(() => parsePublicKeyLine(line), { name: "RangeError", message });
    });
  }
});
