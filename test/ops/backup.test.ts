// `portcullis backup`, `backup verify` and `restore` through the real CLI: a
// backup taken while a session runs, restored into a new directory after the
// original host is gone, starts a bastion that verifies the old recordings;
// a wrong passphrase, a changed byte and overwriting fail with one line.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type ArchiveEntry,
  type ArchiveInfo,
  readEntries,
  readManifest,
  writeArchive,
} from "../../src/backup/archive.js";
import type { PlainSource } from "../../src/backup/envelope.js";
import { PortcullisError } from "../../src/util/errors.js";
import { CLI, portcullis, startTestBastion, type TestBastion } from "../harness/bastion.js";
import { openShell } from "./lifecycle-helpers.js";

const PASSPHRASE = "a long and private test phrase";

/** Runs `portcullis serve` on `config` until it listens, then stops it with SIGTERM; its exit code. */
async function serveUntilListening(
  config: string,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, "serve", "--config", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on("data", (data) => {
      stderr += data;
      if (/ssh listening on/.test(stderr)) resolve();
    });
    child.once("exit", () => reject(new Error(`serve exited: ${stderr}`)));
  });
  child.kill("SIGTERM");
  return { code: await exited, stderr };
}

describe("backup and restore", () => {
  let bastion: TestBastion;
  let work: string;
  let backupFile: string;
  let passphraseFile: string;
  let recordingsDir: string;
  let bastionGone = false;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "portcullis-backup-test-"));
    backupFile = join(work, "bastion.pcbackup");
    passphraseFile = join(work, "passphrase");
    writeFileSync(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    bastion = await startTestBastion();
    recordingsDir = join(bastion.dir, "recordings");
  });
  after(async () => {
    if (!bastionGone) await bastion?.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(bastion.dir, { recursive: true, force: true });
  });

  it("backs up while a session runs; restored elsewhere, the bastion starts and verifies the old recordings", async () => {
    const earlier = await openShell(bastion);
    earlier.type("exit\r");
    await earlier.exit();
    const closed = await bastion.waitForAudit((event) => event.event === "session.end");

    const running = await openShell(bastion);
    const backup = await bastion.cli([
      "backup",
      "--out",
      backupFile,
      "--passphrase-file",
      passphraseFile,
    ]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /files, \d+ bytes, made .*, database schema version \d+/);
    assert.equal(statSync(backupFile).mode & 0o777, 0o600);
    running.type("exit\r");
    await running.exit();

    const verified = await portcullis(["backup", "verify", backupFile], {
      env: { PORTCULLIS_BACKUP_PASSPHRASE: PASSPHRASE },
    });
    assert.equal(verified.code, 0, verified.stderr);
    for (const path of [
      "portcullis.yaml",
      "keys/user_ca",
      "keys/vault.key",
      "data/portcullis.db",
    ]) {
      assert.match(verified.stdout, new RegExp(`^  ${path}$`, "m"));
    }
    assert.doesNotMatch(verified.stdout, /recordings\/|audit\.log/);

    // The host is lost; its recordings come back (as files) where they were.
    const savedRecordings = join(work, "recordings");
    cpSync(recordingsDir, savedRecordings, { recursive: true });
    await bastion.stop();
    bastionGone = true;
    cpSync(savedRecordings, recordingsDir, { recursive: true });

    const restoreDir = join(work, "restored");
    const restored = await portcullis([
      "restore",
      "--in",
      backupFile,
      "--to",
      restoreDir,
      "--passphrase-file",
      passphraseFile,
    ]);
    assert.equal(restored.code, 0, restored.stderr);
    const config = join(restoreDir, "portcullis.yaml");
    assert.equal(statSync(join(restoreDir, "keys", "user_ca")).mode & 0o777, 0o600);
    assert.match(readFileSync(config, "utf8"), /^ {2}master_key_file: keys\/vault\.key$/m);

    const served = await serveUntilListening(config);
    assert.equal(served.code, 0, served.stderr);
    const check = await portcullis([
      "--config",
      config,
      "recordings",
      "verify",
      String(closed.session),
    ]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /verified/);
    const shown = await portcullis([
      "--config",
      config,
      "recordings",
      "show",
      String(closed.session),
    ]);
    assert.equal(shown.code, 0, shown.stderr);
    const all = await portcullis(["--config", config, "recordings", "verify"]);
    assert.equal(all.code, 0, all.stdout + all.stderr);
  });

  it("refuses to overwrite restored files unless --force", async () => {
    const args = ["restore", "--in", backupFile, "--to", join(work, "again")];
    const env = { PORTCULLIS_BACKUP_PASSPHRASE: PASSPHRASE };
    assert.equal((await portcullis(args, { env })).code, 0);
    const refused = await portcullis(args, { env });
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^portcullis: .* already exists \(and \d+ more\): use --force to overwrite\n$/,
    );
    assert.equal((await portcullis([...args, "--force"], { env })).code, 0);
  });

  it("fails with one line on a wrong passphrase or a changed byte", async () => {
    const wrong = await portcullis(["backup", "verify", backupFile], {
      env: { PORTCULLIS_BACKUP_PASSPHRASE: "not the right phrase" },
    });
    assert.equal(wrong.code, 1);
    assert.equal(
      wrong.stderr,
      `portcullis: cannot open ${backupFile}: wrong passphrase, or the file was changed\n`,
    );
    const bytes = readFileSync(backupFile);
    for (const offset of [20, 100, bytes.length - 1]) {
      const changed = Buffer.from(bytes);
      changed[offset] = (changed[offset] as number) ^ 0x01;
      const file = join(work, `changed-${offset}.pcbackup`);
      writeFileSync(file, changed);
      const result = await portcullis([
        "restore",
        "--in",
        file,
        "--to",
        join(work, `changed-${offset}`),
        "--passphrase-file",
        passphraseFile,
      ]);
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        `portcullis: cannot open ${file}: wrong passphrase, or the file was changed\n`,
      );
    }
  });

  it("takes the passphrase from a file or the environment only", async () => {
    const argv = await portcullis(["backup", "verify", backupFile, "--passphrase", PASSPHRASE]);
    assert.equal(argv.code, 2);
    const none = await portcullis(["backup", "verify", backupFile], {
      env: { PORTCULLIS_BACKUP_PASSPHRASE: "" },
    });
    assert.equal(none.code, 2);
    assert.match(
      none.stderr,
      /a passphrase is needed: --passphrase-file FILE or \$PORTCULLIS_BACKUP_PASSPHRASE/,
    );
  });
});

/** The archive as one buffer. */
function packArchive(info: ArchiveInfo, entries: readonly ArchiveEntry[]): Buffer {
  const parts: Buffer[] = [];
  writeArchive(info, entries, (bytes) => parts.push(Buffer.from(bytes)));
  return Buffer.concat(parts);
}

/** Reads an archive from a buffer, a few bytes at a time (as from chunks), into entries. */
function unpackArchive(archive: Buffer, name: string) {
  let offset = 0;
  const source: PlainSource = {
    read(max) {
      const piece = archive.subarray(offset, offset + Math.min(max, 3));
      offset += piece.length;
      return piece;
    },
  };
  const manifest = readManifest(source, name);
  const entries: ArchiveEntry[] = [];
  readEntries(source, manifest, name, ({ path, mode }, pieces) => {
    entries.push({ path, mode, data: Buffer.concat([...pieces]) });
  });
  const { created, config, database } = manifest;
  return { info: { created, config, database }, entries };
}

describe("the archive inside a backup", () => {
  const info = {
    created: "2026-11-22T00:00:00.000Z",
    config: "portcullis.yaml",
    database: { path: "data/portcullis.db", schemaVersion: 11 },
  };

  it("round-trips paths, modes and bytes", () => {
    const entries = [
      { path: "keys/user_ca", mode: 0o600, data: Buffer.from("one") },
      { path: "policies/50-test.yaml", mode: 0o640, data: Buffer.alloc(0) },
    ];
    const unpacked = unpackArchive(packArchive(info, entries), "b");
    assert.deepEqual(unpacked.info, info);
    assert.deepEqual(unpacked.entries, entries);
  });

  it("refuses paths that would leave the restore directory", () => {
    for (const path of ["../etc/passwd", "/etc/passwd", "keys/../../x", "keys//x", ""]) {
      const archive = packArchive(info, [{ path, mode: 0o600, data: Buffer.from("x") }]);
      assert.throws(
        () => unpackArchive(archive, "b"),
        (error: unknown) => error instanceof PortcullisError && /unsafe path/.test(error.message),
        path,
      );
    }
  });
});
