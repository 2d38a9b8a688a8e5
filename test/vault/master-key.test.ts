// Tests for src/vault/master-key.ts: where the master key is looked for and
// in which order, and what is refused (bad encoding, length, file modes).
import assert from "node:assert/strict";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createMasterKeyFile, generateMasterKey, resolveMasterKey } from "../../src/vault/index.js";

const root = mkdtempSync(join(tmpdir(), "portcullis-master-key-"));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

function freshDir(): string {
  const dir = join(root, String(counter++));
  mkdirSync(dir);
  return dir;
}

function writeKeyFile(path: string, key: Buffer, mode = 0o600): void {
  writeFileSync(path, `${key.toString("base64")}\n`, { mode });
  chmodSync(path, mode);
}

describe("resolveMasterKey order", () => {
  const envKey = generateMasterKey();
  const credentialKey = generateMasterKey();
  const fileKey = generateMasterKey();
  const dir = freshDir();
  const credentials = join(dir, "credentials");
  mkdirSync(credentials);
  writeKeyFile(join(credentials, "vault.key"), credentialKey, 0o400);
  const masterKeyFile = join(dir, "vault.key");
  writeKeyFile(masterKeyFile, fileKey);

  test("$PORTCULLIS_VAULT_KEY comes first", () => {
    const env = {
      PORTCULLIS_VAULT_KEY: envKey.toString("base64"),
      CREDENTIALS_DIRECTORY: credentials,
    };
    assert.deepEqual(resolveMasterKey({ masterKeyFile, env }), envKey);
  });

  test("then the systemd credential $CREDENTIALS_DIRECTORY/vault.key", () => {
    const env = { PORTCULLIS_VAULT_KEY: "", CREDENTIALS_DIRECTORY: credentials };
    assert.deepEqual(resolveMasterKey({ masterKeyFile, env }), credentialKey);
  });

  test("then the configured file, also when the credentials directory has no vault.key", () => {
    assert.deepEqual(resolveMasterKey({ masterKeyFile, env: {} }), fileKey);
    const env = { CREDENTIALS_DIRECTORY: freshDir() };
    assert.deepEqual(resolveMasterKey({ masterKeyFile, env }), fileKey);
  });

  test("nothing found: the error names every place looked at", () => {
    const missing = join(dir, "absent.key");
    assert.throws(() => resolveMasterKey({ masterKeyFile: missing, env: {} }), {
      code: "ERR_VAULT_KEY_MISSING",
      message: `no vault master key found: looked at $PORTCULLIS_VAULT_KEY (not set), $CREDENTIALS_DIRECTORY (not set), ${missing} (does not exist)`,
    });
    assert.throws(() => resolveMasterKey({ env: {} }), /vault\.master_key_file \(not configured\)/);
  });
});

describe("resolveMasterKey refusals", () => {
  test("not base64, or not 32 bytes; the value is never echoed", () => {
    const short = generateMasterKey().subarray(0, 16).toString("base64");
    for (const value of ["not base64 at all!", short]) {
      assert.throws(
        () => resolveMasterKey({ env: { PORTCULLIS_VAULT_KEY: value } }),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, "ERR_VAULT_KEY_INVALID");
          assert.ok(!error.message.includes(value));
          return true;
        },
      );
    }
  });

  test("a key file readable by group or others: chmod 600", () => {
    const path = join(freshDir(), "vault.key");
    writeKeyFile(path, generateMasterKey(), 0o640);
    assert.throws(() => resolveMasterKey({ masterKeyFile: path, env: {} }), {
      code: "ERR_VAULT_KEY_PERMISSIONS",
      message: `vault master key ${path} is accessible by group or others; run chmod 600 ${path}`,
    });
  });
});

describe("createMasterKeyFile", () => {
  test("writes 32 random bytes as base64 with mode 0600, in a new directory", () => {
    const path = join(freshDir(), "keys", "vault.key");
    const key = createMasterKeyFile(path);
    assert.equal(key.length, 32);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(resolveMasterKey({ masterKeyFile: path, env: {} }), key);
  });

  test("refuses to overwrite an existing file and leaves it unchanged", () => {
    const path = join(freshDir(), "vault.key");
    createMasterKeyFile(path);
    const before = readFileSync(path, "utf8");
    assert.throws(() => createMasterKeyFile(path), { code: "ERR_VAULT_KEY_EXISTS" });
    assert.equal(readFileSync(path, "utf8"), before);
  });
});
