// `portcullis vault add|generate|list|remove` through the real CLI: only
// public keys are ever printed, keys from ssh-keygen are stored and listed
// with the public key OpenSSH derives, a wrong master key changes nothing,
// and bad usage exits 2.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { CommandResult } from "../harness/bastion.js";
import { generateTestKey, type TestKeyType } from "../harness/keys.js";
import {
  assertFailure,
  type InitializedSetup,
  initSetup,
  keyOf,
  makeTempDir,
  removeDir,
  snapshotFiles,
  sshKeygen,
} from "./cli.js";

interface ListedEntry {
  name: string;
  type: string;
  created: string;
  publicKey: string;
}

function parseList(result: CommandResult): ListedEntry[] {
  assert.equal(result.code, 0, result.stderr);
  return result.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [name = "", type = "", created = "", publicKey = "", ...rest] = line.split("\t");
      assert.deepEqual(rest, [], `unexpected columns in ${line}`);
      return { name, type, created, publicKey };
    });
}

function assertNoPrivateKeyText(result: CommandResult): void {
  assert.doesNotMatch(result.stdout + result.stderr, /PRIVATE/);
}

describe("portcullis vault", () => {
  let dir: string;
  let setup: InitializedSetup;
  const list = async () => parseList(await setup.cli(["vault", "list"]));
  const entry = async (name: string) => (await list()).find((listed) => listed.name === name);

  before(async () => {
    dir = makeTempDir("vault");
    setup = await initSetup(dir);
  });
  after(() => removeDir(dir));

  describe("generate", () => {
    const generated = [
      { type: undefined, keyType: "ssh-ed25519", bits: 256 },
      { type: "ed25519", keyType: "ssh-ed25519", bits: 256 },
      { type: "ecdsa", keyType: "ecdsa-sha2-nistp256", bits: 256 },
      { type: "rsa", keyType: "ssh-rsa", bits: 3072 },
    ];
    for (const { type, keyType, bits } of generated) {
      it(`prints only the public key line (--type ${type ?? "omitted"})`, async () => {
        const name = `gen-${type ?? "default"}`;
        const result = await setup.cli([
          "vault",
          "generate",
          name,
          ...(type ? ["--type", type] : []),
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stderr, "");
        assertNoPrivateKeyText(result);
        assert.match(
          result.stdout,
          new RegExp(`^${keyType} AAAA[A-Za-z0-9+/]+=* portcullis:${name}\\n$`),
        );
        const publicPath = join(dir, `${name}.pub`);
        writeFileSync(publicPath, result.stdout);
        assert.match(sshKeygen(["-l", "-f", publicPath]), new RegExp(`^${bits} SHA256:`));
        assert.equal((await entry(name))?.publicKey, result.stdout.trim());
      });
    }

    it("keeps the private keys encrypted on disk", () => {
      for (const file of readdirSync(join(dir, "vault"))) {
        assert.doesNotMatch(readFileSync(join(dir, "vault", file), "utf8"), /PRIVATE KEY/, file);
      }
    });

    it("refuses --type dsa as a usage error and stores nothing", async () => {
      const before = snapshotFiles(join(dir, "vault"));
      const result = await setup.cli(["vault", "generate", "gen-dsa", "--type", "dsa"]);
      assertFailure(result, { code: 2, stderr: ["--type must be one of ed25519, ecdsa, rsa"] });
      assert.deepEqual(snapshotFiles(join(dir, "vault")), before);
    });
  });

  describe("add", () => {
    const added: TestKeyType[] = ["ed25519", "ecdsa384", "rsa"];
    for (const type of added) {
      it(`stores an ssh-keygen ${type} key and lists the public key OpenSSH derives`, async () => {
        const key = generateTestKey(dir, type);
        const name = `added-${type}`;
        const result = await setup.cli(["vault", "add", name, "--key-file", key.privatePath]);
        assert.equal(result.stderr, "");
        assert.equal(result.stdout, `stored ${name}\n`);
        assert.equal(result.code, 0);
        const listed = await entry(name);
        assert.ok(listed, `${name} is not listed`);
        assert.equal(keyOf(listed.publicKey), keyOf(sshKeygen(["-y", "-f", key.privatePath])));
        assert.equal(listed.type, keyOf(listed.publicKey).split(" ")[0]);
        assert.ok(Math.abs(Date.parse(listed.created) - Date.now()) < 60_000, listed.created);
      });
    }

    it("refuses a second entry of the same name unless --replace is given", async () => {
      const first = generateTestKey(dir, "ed25519");
      const second = generateTestKey(dir, "ed25519");
      assert.equal(
        (await setup.cli(["vault", "add", "twice", "--key-file", first.privatePath])).code,
        0,
      );
      const refused = await setup.cli(["vault", "add", "twice", "--key-file", second.privatePath]);
      assertFailure(refused, {
        code: 1,
        stderr: ['vault entry "twice" already exists; remove it first or replace it'],
      });
      assert.equal(keyOf((await entry("twice"))?.publicKey ?? ""), keyOf(first.publicLine));
      const replaced = await setup.cli([
        ...["vault", "add", "twice", "--replace"],
        ...["--key-file", second.privatePath],
      ]);
      assert.equal(replaced.code, 0, replaced.stderr);
      assert.equal(keyOf((await entry("twice"))?.publicKey ?? ""), keyOf(second.publicLine));
    });

    it("refuses a public key file without echoing it", async () => {
      const key = generateTestKey(dir, "ed25519");
      const result = await setup.cli(["vault", "add", "public", "--key-file", key.publicPath]);
      assertFailure(result, {
        code: 1,
        stderr: ["a public key was given where a private key is needed"],
      });
      assert.equal(await entry("public"), undefined);
    });

    it("names a key file it cannot read", async () => {
      const missing = join(dir, "no-such-key");
      const result = await setup.cli(["vault", "add", "missing", "--key-file", missing]);
      assertFailure(result, { code: 1, stderr: [`cannot read ${missing}: ENOENT`] });
    });

    it("requires --key-file (usage error)", async () => {
      const result = await setup.cli(["vault", "add", "nofile"]);
      assert.match(result.stderr, /required option '--key-file <file>' not specified/);
      assert.equal(result.code, 2);
    });
  });

  describe("remove", () => {
    it("deletes an entry, which then no longer lists", async () => {
      assert.equal((await setup.cli(["vault", "generate", "doomed"])).code, 0);
      assert.ok(await entry("doomed"));
      const result = await setup.cli(["vault", "remove", "doomed"]);
      assert.equal(result.stdout, "removed doomed\n");
      assert.equal(result.code, 0);
      assert.equal(await entry("doomed"), undefined);
      assert.ok(!readdirSync(join(dir, "vault")).some((file) => file.startsWith("doomed")));
    });

    it("reports an entry that does not exist", async () => {
      const result = await setup.cli(["vault", "remove", "doomed"]);
      assertFailure(result, { code: 1, stderr: ['vault entry "doomed" does not exist'] });
    });
  });

  describe("with a master key from $PORTCULLIS_VAULT_KEY", () => {
    const wrongKey = { PORTCULLIS_VAULT_KEY: randomBytes(32).toString("base64") };

    it("uses the right key from the variable", async () => {
      const rightKey = readFileSync(join(dir, "keys/vault.key"), "utf8").trim();
      const result = await setup.cli(["vault", "list"], {
        env: { PORTCULLIS_VAULT_KEY: rightKey },
      });
      assert.deepEqual(parseList(result), await list());
      assert.ok(parseList(result).length > 0);
    });

    for (const args of [["list"], ["generate", "with-wrong-key"], ["remove", "gen-default"]]) {
      it(`fails 'vault ${args[0]}' with a wrong key and changes no file`, async () => {
        const before = snapshotFiles(join(dir, "vault"));
        const result = await setup.cli(["vault", ...args], { env: wrongKey });
        assertFailure(result, {
          code: 1,
          stderr: ["vault master key does not match this vault"],
        });
        assert.deepEqual(snapshotFiles(join(dir, "vault")), before);
      });
    }

    it("refuses a value that is not a 32-byte base64 key, without echoing it", async () => {
      const value = randomBytes(16).toString("base64");
      const result = await setup.cli(["vault", "list"], { env: { PORTCULLIS_VAULT_KEY: value } });
      assertFailure(result, {
        code: 1,
        stderr: ["vault master key from $PORTCULLIS_VAULT_KEY must be 32 bytes (got 16)"],
      });
    });
  });

  describe("with the master key file", () => {
    it("refuses a key file readable by others, with the chmod to run", async () => {
      const keyPath = join(dir, "keys/vault.key");
      chmodSync(keyPath, 0o644);
      try {
        const result = await setup.cli(["vault", "list"]);
        assertFailure(result, {
          code: 1,
          stderr: [
            `vault master key ${keyPath} is accessible by group or others; run chmod 600 ${keyPath}`,
          ],
        });
      } finally {
        chmodSync(keyPath, 0o600);
      }
    });
  });
});
