// `portcullis ca sign|revoke` through the real CLI: certificates that
// `ssh-keygen -L` reads with the identity, groups, permit-pty and validity
// asked for; ca.max_ttl enforced; revocations appended to
// ca.revocation_file.

import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateTestKey } from "../harness/keys.js";
import {
  assertFailure,
  type InitializedSetup,
  initSetup,
  makeTempDir,
  removeDir,
  sshKeygen,
} from "./cli.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Certificates are back-dated by a minute (docs/certificates.md). */
const BACKDATE_MS = MINUTE;

/** The fields of `ssh-keygen -L` output; list fields (principals, extensions) one item per line. */
function readCertificate(path: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of sshKeygen(["-L", "-f", path]).split("\n").slice(1)) {
    const field = /^ {8}(\S[^:]*): ?(.*)$/.exec(line);
    const item = /^ {16}(.+)$/.exec(line);
    if (field?.[1] !== undefined) {
      current = field[2] ? [field[2]] : [];
      fields.set(field[1], current);
    } else if (item?.[1] !== undefined) {
      current.push(item[1]);
    }
  }
  return fields;
}

function field(certificate: Map<string, string[]>, name: string): string[] {
  const value = certificate.get(name);
  assert.ok(value, `ssh-keygen -L shows no ${name}`);
  return value;
}

/** `Valid: from T1 to T2` (local time, as ssh-keygen prints it) in ms. */
function validity(certificate: Map<string, string[]>): { from: number; to: number } {
  const match = /^from (\S+) to (\S+)$/.exec(field(certificate, "Valid")[0] ?? "");
  assert.ok(match?.[1] && match[2], `unexpected validity ${field(certificate, "Valid")}`);
  return { from: new Date(match[1]).getTime(), to: new Date(match[2]).getTime() };
}

/** Where `ca sign` writes the certificate for KEY.pub: KEY-cert.pub. */
const certificatePathOf = (publicKeyPath: string) => publicKeyPath.replace(/\.pub$/, "-cert.pub");

function fingerprint(publicKeyPath: string): string {
  return sshKeygen(["-l", "-f", publicKeyPath]).split(" ")[1] ?? "";
}

/** Signs a fresh key with the given arguments; returns the key, the result and the time window. */
async function sign(setup: InitializedSetup, args: readonly string[]) {
  const key = generateTestKey(setup.dir, "ed25519");
  const start = Date.now();
  const result = await setup.cli(["ca", "sign", ...args, key.publicPath]);
  return { key, result, start, end: Date.now() };
}

describe("portcullis ca sign", () => {
  let dir: string;
  let setup: InitializedSetup;

  before(async () => {
    dir = makeTempDir("ca");
    setup = await initSetup(dir);
  });
  after(() => removeDir(dir));

  describe("--user alice@example.com --groups ops,dev --ttl 1h", () => {
    let signed: Awaited<ReturnType<typeof sign>>;
    let certPath: string;
    let certificate: Map<string, string[]>;

    before(async () => {
      signed = await sign(setup, [
        ...["--user", "alice@example.com", "--groups", "ops,dev", "--ttl", "1h"],
      ]);
      certPath = certificatePathOf(signed.key.publicPath);
      certificate = readCertificate(certPath);
    });

    it("prints the path of KEY-cert.pub, written beside KEY.pub", () => {
      assert.equal(signed.result.stderr, "");
      assert.equal(signed.result.code, 0);
      assert.equal(signed.result.stdout, `${certPath}\n`);
      assert.equal(statSync(certPath).mode & 0o777, 0o644);
    });

    it("is a user certificate for the key, signed by the setup's user CA", () => {
      assert.match(field(certificate, "Type")[0] ?? "", /^ssh-ed25519-cert-v01@openssh\.com user/);
      assert.equal(
        field(certificate, "Public key")[0],
        `ED25519-CERT ${fingerprint(signed.key.publicPath)}`,
      );
      assert.equal(
        field(certificate, "Signing CA")[0],
        `ED25519 ${fingerprint(join(dir, "keys/user_ca.pub"))} (using ssh-ed25519)`,
      );
    });

    it("names alice@example.com as key id and only principal", () => {
      assert.deepEqual(field(certificate, "Key ID"), ['"alice@example.com"']);
      assert.deepEqual(field(certificate, "Principals"), ["alice@example.com"]);
      assert.deepEqual(field(certificate, "Critical Options"), ["(none)"]);
    });

    it("permits a pty and carries the groups in groups@portcullis", () => {
      const groupsData = `00000007${Buffer.from("ops,dev").toString("hex")}`;
      assert.deepEqual(field(certificate, "Extensions"), [
        `groups@portcullis UNKNOWN OPTION: ${groupsData} (len 11)`,
        "permit-pty",
      ]);
    });

    it("is valid for one hour from now (back-dated a minute)", () => {
      const { from, to } = validity(certificate);
      assert.equal(to - from, HOUR + BACKDATE_MS);
      assert.ok(to >= signed.start + HOUR - 1000 && to <= signed.end + HOUR, `ends ${to}`);
    });
  });

  it("defaults to ca.default_ttl (8h) without --ttl and omits groups without --groups", async () => {
    const { key, result } = await sign(setup, ["--user", "bob@example.com"]);
    assert.equal(result.code, 0, result.stderr);
    const certificate = readCertificate(result.stdout.trim());
    const { from, to } = validity(certificate);
    assert.equal(to - from, 8 * HOUR + BACKDATE_MS);
    assert.deepEqual(field(certificate, "Extensions"), ["permit-pty"]);
    assert.equal(result.stdout, `${certificatePathOf(key.publicPath)}\n`);
  });

  it("adds permit-port-forwarding only with --permit-port-forwarding", async () => {
    const args = ["--user", "carol@example.com", "--permit-port-forwarding"];
    const { result } = await sign(setup, args);
    assert.equal(result.code, 0, result.stderr);
    const certificate = readCertificate(result.stdout.trim());
    assert.deepEqual(field(certificate, "Extensions"), ["permit-port-forwarding", "permit-pty"]);
  });

  it("refuses --ttl above ca.max_ttl (24h) as a usage error and writes nothing", async () => {
    const { key, result } = await sign(setup, ["--user", "alice@example.com", "--ttl", "25h"]);
    assertFailure(result, { code: 2, stderr: ["--ttl 25h exceeds ca.max_ttl"] });
    assert.equal(existsSync(certificatePathOf(key.publicPath)), false);
  });

  it("refuses an unparsable --ttl as a usage error", async () => {
    const { result } = await sign(setup, ["--user", "alice@example.com", "--ttl", "10"]);
    assertFailure(result, { code: 2, stderr: /invalid duration "10"/ });
  });

  it("refuses a user name with a comma as a usage error and writes nothing", async () => {
    const { key, result } = await sign(setup, ["--user", "alice,bob@example.com"]);
    assertFailure(result, {
      code: 2,
      stderr: ["user must not contain commas or control characters"],
    });
    assert.equal(existsSync(certificatePathOf(key.publicPath)), false);
  });

  it("names a public key file it cannot read", async () => {
    const missing = join(dir, "nobody.pub");
    const result = await setup.cli(["ca", "sign", "--user", "alice@example.com", missing]);
    assertFailure(result, { code: 1, stderr: [`cannot read public key ${missing}: ENOENT`] });
  });

  it("requires --user (usage error)", async () => {
    const key = generateTestKey(dir, "ed25519");
    const result = await setup.cli(["ca", "sign", key.publicPath]);
    assert.match(result.stderr, /required option '--user <email>' not specified/);
    assert.equal(result.code, 2);
  });
});

describe("portcullis ca sign with ca.max_ttl and ca.default_ttl set", () => {
  let dir: string;
  let setup: InitializedSetup;

  before(async () => {
    dir = makeTempDir("ca-limits");
    setup = await initSetup(dir);
    const config = readFileSync(setup.configPath, "utf8");
    writeFileSync(
      setup.configPath,
      config.replace("  default_ttl: 8h\n", "  default_ttl: 30m\n  max_ttl: 2h\n"),
    );
  });
  after(() => removeDir(dir));

  it("issues up to max_ttl", async () => {
    const { result } = await sign(setup, ["--user", "alice@example.com", "--ttl", "2h"]);
    assert.equal(result.code, 0, result.stderr);
    const { from, to } = validity(readCertificate(result.stdout.trim()));
    assert.equal(to - from, 2 * HOUR + BACKDATE_MS);
  });

  it("refuses a second more than max_ttl", async () => {
    const { result } = await sign(setup, ["--user", "alice@example.com", "--ttl", "2h1s"]);
    assertFailure(result, { code: 2, stderr: ["--ttl 2h1s exceeds ca.max_ttl"] });
  });

  it("uses default_ttl without --ttl", async () => {
    const { result } = await sign(setup, ["--user", "alice@example.com"]);
    assert.equal(result.code, 0, result.stderr);
    const { from, to } = validity(readCertificate(result.stdout.trim()));
    assert.equal(to - from, 30 * MINUTE + BACKDATE_MS);
  });
});

describe("portcullis ca revoke", () => {
  let dir: string;

  before(() => {
    dir = makeTempDir("revoke");
  });
  after(() => removeDir(dir));

  const revokeBoth = async (setup: InitializedSetup, revocationFile: string) => {
    assert.equal(existsSync(revocationFile), false);
    const serial = await setup.cli(["ca", "revoke", "123"]);
    assert.equal(serial.stdout, "revoked 123\n");
    assert.equal(serial.code, 0, serial.stderr);
    assert.equal(readFileSync(revocationFile, "utf8"), "serial:123\n");
    const keyId = await setup.cli(["ca", "revoke", "bob@example.com"]);
    assert.equal(keyId.stdout, "revoked bob@example.com\n");
    assert.equal(keyId.code, 0, keyId.stderr);
    assert.equal(readFileSync(revocationFile, "utf8"), "serial:123\nkey-id:bob@example.com\n");
    assert.equal(statSync(revocationFile).mode & 0o777, 0o600);
  };

  it("appends a serial and a key id to data/revoked.txt (the init default)", async () => {
    const setup = await initSetup(join(dir, "default"));
    await revokeBoth(setup, join(setup.dir, "data/revoked.txt"));
  });

  it("appends to ca.revocation_file, relative to the config file", async () => {
    const setup = await initSetup(join(dir, "configured"));
    const config = readFileSync(setup.configPath, "utf8");
    writeFileSync(
      setup.configPath,
      config.replace("revocation_file: data/revoked.txt", "revocation_file: crl/list.txt"),
    );
    await revokeBoth(setup, join(setup.dir, "crl/list.txt"));
    assert.equal(existsSync(join(setup.dir, "data/revoked.txt")), false);
  });
});
