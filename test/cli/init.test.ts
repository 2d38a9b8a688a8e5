// `portcullis init DIR` through the real CLI: the files it writes and their
// modes, keys OpenSSH accepts, a config the other subcommands load, and
// refusal to overwrite an existing setup.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  assertFailure,
  keyOf,
  makeTempDir,
  removeDir,
  runCli,
  snapshotFiles,
  sshKeygen,
} from "./cli.js";

const EXAMPLE_POLICIES = fileURLToPath(new URL("../../../policies", import.meta.url));
const PRIVATE_FILES = [
  "keys/host_ed25519",
  "keys/user_ca",
  "keys/vault.key",
  "keys/audit_ed25519",
  "keys/host_ca",
];
const KEY_PAIRS = [
  { path: "keys/host_ed25519", comment: "portcullis host key" },
  { path: "keys/user_ca", comment: "portcullis user CA" },
];

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe("portcullis init", () => {
  let parent: string;
  let dir: string;
  let stdout: string;

  before(async () => {
    parent = makeTempDir("init");
    dir = join(parent, "setup");
    const result = await runCli(["init", dir, "--listen", "127.0.0.1:2399"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    stdout = result.stdout;
  });
  after(() => removeDir(parent));

  it("reports the config and user CA it wrote", () => {
    assert.deepEqual(stdout.split("\n").slice(0, 2), [
      `wrote ${join(dir, "portcullis.yaml")}`,
      `user CA public key: ${join(dir, "keys/user_ca.pub")}`,
    ]);
  });

  it("writes the config with the requested listen address", () => {
    const config = readFileSync(join(dir, "portcullis.yaml"), "utf8");
    assert.match(config, /^ {2}listen: "127\.0\.0\.1:2399"$/m);
    assert.match(config, /^ {2}revocation_file: data\/revoked\.txt$/m);
  });

  it("writes private keys and the vault master key readable by the owner only", () => {
    for (const file of PRIVATE_FILES) assert.equal(modeOf(join(dir, file)), 0o600, file);
    assert.equal(modeOf(join(dir, "keys")), 0o700);
    assert.equal(modeOf(join(dir, "vault")), 0o700);
  });

  it("writes key pairs that OpenSSH reads, each private key matching its .pub", () => {
    for (const { path, comment } of KEY_PAIRS) {
      const publicPath = join(dir, `${path}.pub`);
      assert.match(
        sshKeygen(["-l", "-f", publicPath]),
        new RegExp(`^256 SHA256:[A-Za-z0-9+/]{43} ${comment} \\(ED25519\\)\\n$`),
      );
      const derived = sshKeygen(["-y", "-f", join(dir, path)]);
      assert.equal(keyOf(derived), keyOf(readFileSync(publicPath, "utf8")), path);
    }
  });

  it("writes a vault master key of 32 random bytes, base64 on one line", () => {
    const text = readFileSync(join(dir, "keys/vault.key"), "utf8");
    assert.match(text, /^[A-Za-z0-9+/]{43}=\n?$/);
    assert.equal(Buffer.from(text.trim(), "base64").length, 32);
  });

  it("copies the example policies", () => {
    const shipped = readdirSync(EXAMPLE_POLICIES).sort();
    assert.ok(shipped.length > 0);
    assert.deepEqual(readdirSync(join(dir, "policies")).sort(), shipped);
    for (const file of shipped) {
      assert.equal(
        readFileSync(join(dir, "policies", file), "utf8"),
        readFileSync(join(EXAMPLE_POLICIES, file), "utf8"),
        file,
      );
    }
  });

  it("writes a config the other subcommands load (an empty vault lists nothing)", async () => {
    const result = await runCli(["--config", join(dir, "portcullis.yaml"), "vault", "list"]);
    assert.equal(result.stderr, "");
    assert.equal(result.stdout, "");
    assert.equal(result.code, 0);
  });

  it("refuses to run again in the same directory and changes nothing", async () => {
    const before = snapshotFiles(dir);
    const again = await runCli(["init", dir]);
    assertFailure(again, {
      code: 1,
      stderr: [
        `refusing to overwrite existing ${["portcullis.yaml", ...PRIVATE_FILES].map((file) => join(dir, file)).join(", ")}`,
      ],
    });
    assert.deepEqual(snapshotFiles(dir), before);
  });
});

describe("portcullis init refusing to write", () => {
  let parent: string;

  before(() => {
    parent = makeTempDir("init-refusals");
  });
  after(() => removeDir(parent));

  it("refuses when only the vault master key exists, naming it, and writes nothing", async () => {
    const dir = join(parent, "setup");
    mkdirSync(join(dir, "keys"), { recursive: true });
    const masterKey = `${randomBytes(32).toString("base64")}\n`;
    writeFileSync(join(dir, "keys/vault.key"), masterKey, { mode: 0o600 });

    const result = await runCli(["init", dir]);
    assertFailure(result, {
      code: 1,
      stderr: [`refusing to overwrite existing ${join(dir, "keys/vault.key")}`],
    });
    assert.equal(readFileSync(join(dir, "keys/vault.key"), "utf8"), masterKey);
    assert.deepEqual(readdirSync(dir), ["keys"]);
    assert.deepEqual(readdirSync(join(dir, "keys")), ["vault.key"]);
  });

  it("refuses an --listen that is not host:port as a usage error, writing nothing", async () => {
    const dir = join(parent, "bad-listen");
    const result = await runCli(["init", dir, "--listen", 'nonsense"x']);
    assertFailure(result, { code: 2, stderr: /--listen/ });
    assert.equal(existsSync(dir), false);
  });
});
