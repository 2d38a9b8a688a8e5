// Backups larger than many chunks: the envelope round-trips any length byte
// for byte; through the CLI a database of several chunks comes back whole;
// a backup cut at a chunk boundary, with chunks swapped or repeated, is
// refused with one line and a restore from it leaves nothing behind.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  BackupSealer,
  CHUNK_BYTES,
  HEADER_BYTES,
  SEALED_CHUNK_BYTES,
  withOpenBackup,
} from "../../src/backup/envelope.js";
import { portcullis } from "../harness/bastion.js";
import { type BackupFixture, fillerOf, makeBackupFixture } from "./backup-fixture.js";

const PASSPHRASE = "a long and private test phrase";
const env = { PORTCULLIS_BACKUP_PASSPHRASE: PASSPHRASE };

function seal(file: string, plaintext: Buffer): void {
  const fd = openSync(file, "w", 0o600);
  try {
    const sealer = new BackupSealer(PASSPHRASE, (bytes) => writeSync(fd, bytes));
    // Written in uneven pieces, as the archive writes them.
    for (let offset = 0; offset < plaintext.length; offset += 100_003) {
      sealer.write(plaintext.subarray(offset, offset + 100_003));
    }
    sealer.finish();
  } finally {
    closeSync(fd);
  }
}

function open(file: string): Buffer {
  return withOpenBackup(file, PASSPHRASE, (source) => {
    const parts: Buffer[] = [];
    for (let part = source.read(77_777); part.length > 0; part = source.read(77_777))
      parts.push(part);
    return Buffer.concat(parts);
  });
}

describe("the backup envelope in chunks", () => {
  let work: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), "portcullis-backup-stream-"));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("round-trips byte for byte: empty, one byte, exactly four chunks, and five and a half", () => {
    for (const length of [0, 1, 4 * CHUNK_BYTES, 5.5 * CHUNK_BYTES]) {
      const plaintext = randomBytes(length);
      const file = join(work, `round-${length}`);
      seal(file, plaintext);
      const chunks = Math.max(1, Math.ceil(length / CHUNK_BYTES));
      assert.equal(statSync(file).size, HEADER_BYTES + length + chunks * 16);
      assert.ok(open(file).equals(plaintext), `length ${length}`);
    }
  });
});

describe("a backup of many chunks", () => {
  let work: string;
  let fixture: BackupFixture;
  let backupFile: string;
  let sealed: Buffer;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "portcullis-backup-stream-"));
    fixture = await makeBackupFixture(join(work, "bastion"), 1.5 * 2 ** 20);
    backupFile = join(work, "bastion.pcbackup");
    const backup = await portcullis(["--config", fixture.config, "backup", "--out", backupFile], {
      env,
    });
    assert.equal(backup.code, 0, backup.stderr);
    sealed = readFileSync(backupFile);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("is many chunks long and restores byte-identical files and the same database", async () => {
    assert.ok(sealed.length > 20 * SEALED_CHUNK_BYTES, `${sealed.length} bytes`);
    const to = join(work, "restored");
    const restored = await portcullis(["restore", "--in", backupFile, "--to", to], { env });
    assert.equal(restored.code, 0, restored.stderr);
    for (const file of ["keys/user_ca", "keys/host_ed25519", "policies/signals.yaml"]) {
      assert.ok(readFileSync(join(to, file)).equals(readFileSync(join(fixture.dir, file))), file);
    }
    const restoredDatabase = join(to, "data", "portcullis.db");
    assert.equal(statSync(restoredDatabase).mode & 0o777, statSync(fixture.database).mode & 0o777);
    assert.deepEqual(fillerOf(restoredDatabase), fillerOf(fixture.database));
  });

  const chunkAt = (index: number) =>
    sealed.subarray(
      HEADER_BYTES + index * SEALED_CHUNK_BYTES,
      HEADER_BYTES + (index + 1) * SEALED_CHUNK_BYTES,
    );
  const chunks = () => Math.ceil((sealed.length - HEADER_BYTES) / SEALED_CHUNK_BYTES);
  const tampered: Record<string, () => Buffer> = {
    "cut at a chunk boundary": () => sealed.subarray(0, HEADER_BYTES + 5 * SEALED_CHUNK_BYTES),
    "without its last chunk": () =>
      sealed.subarray(0, HEADER_BYTES + (chunks() - 1) * SEALED_CHUNK_BYTES),
    "with two chunks swapped": () =>
      Buffer.concat([
        sealed.subarray(0, HEADER_BYTES + 3 * SEALED_CHUNK_BYTES),
        chunkAt(4),
        chunkAt(3),
        sealed.subarray(HEADER_BYTES + 5 * SEALED_CHUNK_BYTES),
      ]),
    "with a chunk repeated": () =>
      Buffer.concat([
        sealed.subarray(0, HEADER_BYTES + 4 * SEALED_CHUNK_BYTES),
        chunkAt(3),
        sealed.subarray(HEADER_BYTES + 4 * SEALED_CHUNK_BYTES),
      ]),
    "with a chunk repeated in place of the next": () =>
      Buffer.concat([
        sealed.subarray(0, HEADER_BYTES + 4 * SEALED_CHUNK_BYTES),
        chunkAt(3),
        sealed.subarray(HEADER_BYTES + 5 * SEALED_CHUNK_BYTES),
      ]),
  };
  for (const [how, make] of Object.entries(tampered)) {
    it(`refuses a backup ${how}, and a restore from it leaves nothing behind`, async () => {
      const file = join(work, `${how.replaceAll(" ", "-")}.pcbackup`);
      writeFileSync(file, make());
      const refusal = `portcullis: cannot open ${file}: wrong passphrase, or the file was changed\n`;
      const verified = await portcullis(["backup", "verify", file], { env });
      assert.equal(verified.code, 1);
      assert.equal(verified.stderr, refusal);
      const to = join(work, `restore-${how.replaceAll(" ", "-")}`);
      const restored = await portcullis(["restore", "--in", file, "--to", to], { env });
      assert.equal(restored.code, 1);
      assert.equal(restored.stderr, refusal);
      assert.equal(existsSync(to), false);
    });
  }
});
