// Tests for src/vault/vault.ts: round trips, what is stored on disk, and that
// a wrong key, a tampered field or a swapped file is refused with a clear
// error that never carries key material.
import assert from "node:assert/strict";
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { generateKeyPair, inspectPrivateKey, KEY_TYPES } from "../../src/ssh/keygen.js";
import { errorMessage } from "../../src/util/errors.js";
import { generateMasterKey, openVault, type Vault } from "../../src/vault/index.js";

const root = mkdtempSync(join(tmpdir(), "portcullis-vault-"));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fixedNow = () => new Date("2026-11-23T10:00:00.000Z");

function freshVault(): { vault: Vault; dir: string; masterKey: Buffer } {
  const dir = join(root, `vault-${counter++}`);
  const masterKey = generateMasterKey();
  return { vault: openVault(dir, masterKey, { now: fixedNow }), dir, masterKey };
}

function entryFile(dir: string, name: string): Record<string, string> {
  return JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
}

function writeEntryFile(dir: string, name: string, entry: Record<string, string>): void {
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(entry));
}

/** Flips one bit in the middle of a base64 field. */
function flipBit(base64: string): string {
  const bytes = Buffer.from(base64, "base64");
  const index = Math.floor(bytes.length / 2);
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return bytes.toString("base64");
}

describe("round trip", () => {
  for (const type of KEY_TYPES) {
    test(`${type}: the decrypted key is the original and matches the listed public key`, () => {
      const { vault, dir } = freshVault();
      const pair = generateKeyPair(type, "ops");
      assert.equal(vault.add("web1-deploy", pair.privateKey), pair.publicKey);
      const decrypted = vault.getPrivateKey("web1-deploy");
      assert.equal(decrypted.toString("utf8"), pair.privateKey);
      const [listed] = vault.list();
      assert.deepEqual(listed, {
        name: "web1-deploy",
        type: inspectPrivateKey(decrypted).type,
        publicKey: pair.publicKey,
        created: "2026-11-23T10:00:00.000Z",
      });
      assert.equal(inspectPrivateKey(decrypted).publicKey, listed?.publicKey);
      const stored = readFileSync(join(dir, "web1-deploy.json"), "utf8");
      for (const line of privateOnlyLines(pair)) assert.ok(!stored.includes(line));
    });
  }

  test("a reopened vault with the same master key decrypts", () => {
    const { vault, dir, masterKey } = freshVault();
    const pair = generateKeyPair("ed25519");
    vault.add("db", pair.privateKey);
    assert.equal(openVault(dir, masterKey).getPrivateKey("db").toString(), pair.privateKey);
  });
});

describe("generate", () => {
  test("returns only the public key line; the private key stays inside", () => {
    const { vault } = freshVault();
    const publicKey = vault.generate("web2", "ed25519");
    assert.match(publicKey, /^ssh-ed25519 [A-Za-z0-9+/]+=* portcullis:web2$/);
    assert.equal(inspectPrivateKey(vault.getPrivateKey("web2")).publicKey, publicKey);
  });

  test("refuses an existing name unless replace is asked for", () => {
    const { vault } = freshVault();
    const first = vault.generate("web2", "ecdsa");
    assert.throws(() => vault.generate("web2", "ed25519"), {
      code: "ERR_VAULT_ENTRY_EXISTS",
      message: 'vault entry "web2" already exists; remove it first or replace it',
    });
    assert.equal(vault.list()[0]?.publicKey, first);
    const second = vault.generate("web2", "ed25519", { replace: true });
    assert.equal(vault.list()[0]?.publicKey, second);
  });
});

describe("entries", () => {
  test("add refuses to overwrite; replace overwrites", () => {
    const { vault } = freshVault();
    const [one, two] = [generateKeyPair("ed25519"), generateKeyPair("ed25519")];
    vault.add("a", one.privateKey);
    assert.throws(() => vault.add("a", two.privateKey), { code: "ERR_VAULT_ENTRY_EXISTS" });
    vault.add("a", two.privateKey, { replace: true });
    assert.equal(vault.getPrivateKey("a").toString(), two.privateKey);
  });

  test("list is sorted; remove deletes; unknown names are clear errors", () => {
    const { vault } = freshVault();
    for (const name of ["zeta", "alpha", "m.1_x-y"]) vault.generate(name, "ed25519");
    assert.deepEqual(
      vault.list().map((entry) => entry.name),
      ["alpha", "m.1_x-y", "zeta"],
    );
    vault.remove("m.1_x-y");
    assert.deepEqual(
      vault.list().map((entry) => entry.name),
      ["alpha", "zeta"],
    );
    const notFound = {
      code: "ERR_VAULT_ENTRY_NOT_FOUND",
      message: 'vault entry "m.1_x-y" does not exist',
    };
    assert.throws(() => vault.getPrivateKey("m.1_x-y"), notFound);
    assert.throws(() => vault.remove("m.1_x-y"), notFound);
  });

  test("invalid names are refused before touching the disk", () => {
    const { vault } = freshVault();
    const key = generateKeyPair("ed25519").privateKey;
    for (const name of ["", "../etc", "Web1", "-x", "vault", "a/b", "x".repeat(65)]) {
      assert.throws(() => vault.add(name, key), { code: "ERR_VAULT_NAME" }, name);
    }
  });

  test("files are 0600 and the directory 0700", () => {
    const { vault, dir } = freshVault();
    vault.generate("web1", "ed25519");
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const file of readdirSync(dir)) {
      assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, file);
    }
    assert.deepEqual(readdirSync(dir).sort(), ["vault.json", "web1.json"]);
  });
});

describe("wrong master key", () => {
  test("is detected by the key check before any entry is read", () => {
    const { vault, dir } = freshVault();
    vault.generate("web1", "ed25519");
    rmSync(join(dir, "web1.json"));
    assert.throws(() => openVault(dir, generateMasterKey()), {
      code: "ERR_VAULT_KEY_MISMATCH",
      message: "vault master key does not match this vault",
    });
  });

  test("a key of the wrong length is refused", () => {
    assert.throws(() => openVault(join(root, "short"), Buffer.alloc(16)), {
      code: "ERR_VAULT_KEY_INVALID",
    });
  });

  test("vault.json missing beside existing entries is not silently recreated", () => {
    const { vault, dir, masterKey } = freshVault();
    vault.generate("web1", "ed25519");
    rmSync(join(dir, "vault.json"));
    assert.throws(() => openVault(dir, masterKey), { code: "ERR_VAULT_CORRUPT" });
  });
});

describe("tampering", () => {
  const corrupted = (name: string) => ({
    code: "ERR_VAULT_ENTRY_CORRUPT",
    message: `vault entry "${name}" is corrupted or was tampered with`,
  });

  for (const field of ["ciphertext", "tag", "nonce"]) {
    test(`a flipped bit in the ${field} is refused`, () => {
      const { vault, dir } = freshVault();
      vault.generate("web1", "ed25519");
      const entry = entryFile(dir, "web1");
      writeEntryFile(dir, "web1", { ...entry, [field]: flipBit(entry[field] ?? "") });
      assert.throws(() => vault.getPrivateKey("web1"), corrupted("web1"));
    });
  }

  test("metadata bound by the AAD: type, public key, created", () => {
    const { vault, dir } = freshVault();
    vault.generate("web1", "ed25519");
    const entry = entryFile(dir, "web1");
    const changes = {
      type: "ssh-rsa",
      public_key: generateKeyPair("ed25519").publicKey,
      created: "2020-01-01T00:00:00.000Z",
    };
    for (const [field, value] of Object.entries(changes)) {
      writeEntryFile(dir, "web1", { ...entry, [field]: value });
      assert.throws(() => vault.getPrivateKey("web1"), corrupted("web1"), field);
    }
    writeEntryFile(dir, "web1", entry);
    assert.ok(vault.getPrivateKey("web1").length > 0);
  });

  test("an entry file copied over another name is refused, also with its name field edited", () => {
    const { vault, dir } = freshVault();
    vault.generate("web1", "ed25519");
    vault.generate("web2", "ed25519");
    copyFileSync(join(dir, "web1.json"), join(dir, "web2.json"));
    assert.throws(() => vault.getPrivateKey("web2"), corrupted("web2"));
    writeEntryFile(dir, "web2", { ...entryFile(dir, "web1"), name: "web2" });
    assert.throws(() => vault.getPrivateKey("web2"), corrupted("web2"));
  });

  test("a file that is not an entry at all", () => {
    const { vault, dir } = freshVault();
    vault.generate("web1", "ed25519");
    writeFileSync(join(dir, "web1.json"), "{ not json");
    assert.throws(() => vault.getPrivateKey("web1"), corrupted("web1"));
  });
});

test("no error message contains any line of a private key", () => {
  const { vault, dir } = freshVault();
  const pair = generateKeyPair("rsa");
  const lines = privateKeyBody(pair.privateKey);
  vault.add("web1", pair.privateKey);
  const attempts: (() => unknown)[] = [
    () => vault.add("web1", pair.privateKey),
    () => vault.add("Bad Name", pair.privateKey),
    () => vault.add("web2", pair.privateKey.replace(lines[3] ?? "", "")),
    () => vault.add("web3", pair.privateKey.slice(0, 400)),
    () => vault.add("web4", pair.publicKey),
    () => {
      const entry = entryFile(dir, "web1");
      writeEntryFile(dir, "web1", { ...entry, tag: flipBit(entry.tag ?? "") });
      return vault.getPrivateKey("web1");
    },
  ];
  for (const attempt of attempts) {
    assert.throws(attempt, (error) => {
      const message = errorMessage(error);
      for (const line of lines) assert.ok(!message.includes(line), message);
      return true;
    });
  }
});

/** Lines of the private key file that are not merely a piece of the public key. */
function privateOnlyLines(pair: { privateKey: string; publicKey: string }): string[] {
  return privateKeyBody(pair.privateKey).filter((line) => !pair.publicKey.includes(line));
}

/** The base64 lines of a PEM-style private key (not the BEGIN/END markers). */
function privateKeyBody(privateKey: string): string[] {
  return privateKey.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));
}
