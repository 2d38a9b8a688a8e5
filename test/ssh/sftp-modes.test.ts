// The `file_transfer` modes and `max_download` with the real sftp client:
// readonly downloads but refuses uploads and changes (links too); writeonly
// uploads but refuses downloads; max_download refuses the read that would
// cross it and the session goes on; deny refuses the subsystem (approve:
// test/ssh/transfer-approval.test.ts).

import assert from "node:assert/strict";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestBastion, type TestBastion, type UserKey } from "../harness/bastion.js";
import { fileEntry, sftpBatch, waitForTransfer, writeRandomFile } from "../sftp/helpers.js";

const MiB = 2 ** 20;
/** 100 bytes above what 64 reads of 32 KiB fetch, so a small file still fits afterwards. */
const LIMIT = 2 * MiB + 100;

describe("sftp file_transfer modes", () => {
  let bastion: TestBastion;
  let remote: string;
  let local: string;
  const users = new Map<string, UserKey>();
  const as = (group: string) => users.get(group) as UserKey;

  before(async () => {
    bastion = await startTestBastion({
      extraPolicy: `access:
${fileEntry("reader", "file_transfer: readonly")}
${fileEntry("dropbox", "file_transfer: writeonly")}
${fileEntry("limited", "file_transfer: allow", `max_download: ${LIMIT}B`)}
${fileEntry("nofiles", "file_transfer: deny")}
`,
    });
    for (const group of ["reader", "dropbox", "limited", "nofiles"]) {
      users.set(group, await bastion.issueUser(`${group}@example.com`, [group]));
    }
    remote = join(bastion.sshd.dir, "files");
    local = join(bastion.dir, "local");
    mkdirSync(remote);
    mkdirSync(local);
    writeFileSync(join(remote, "notes.txt"), "remote notes\n");
    writeFileSync(join(local, "upload.txt"), "local text\n");
  });
  after(async () => {
    await bastion?.stop();
  });

  it("readonly downloads but refuses uploads, mkdir and remove", async () => {
    const result = await sftpBatch(bastion, as("reader"), [
      `-put ${join(local, "upload.txt")} ${remote}/uploaded.txt`,
      `-mkdir ${remote}/newdir`,
      `-rm ${remote}/notes.txt`,
      `-ln -s ${remote}/notes.txt ${remote}/link`,
      `get ${remote}/notes.txt ${join(local, "notes.txt")}`,
      `ls ${remote}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Permission denied/);
    assert.equal(existsSync(join(remote, "uploaded.txt")), false);
    assert.equal(existsSync(join(remote, "newdir")), false);
    assert.equal(existsSync(join(remote, "notes.txt")), true);
    assert.equal(existsSync(join(remote, "link")), false);
    assert.equal(existsSync(join(local, "notes.txt")), true);
    const upload = await waitForTransfer(bastion, `${remote}/uploaded.txt`, "upload", "denied");
    assert.match(String(upload.reason), /read-only/);
    await bastion.waitForAudit(
      (e) => e.event === "file.op" && e.op === "remove" && e.result === "denied",
    );
  });

  it("writeonly uploads but refuses to read a file", async () => {
    const result = await sftpBatch(bastion, as("dropbox"), [
      `put ${join(local, "upload.txt")} ${remote}/dropped.txt`,
      `-get ${remote}/notes.txt ${join(local, "stolen.txt")}`,
      `ls ${remote}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Permission denied/);
    assert.equal(existsSync(join(remote, "dropped.txt")), true);
    assert.equal(existsSync(join(local, "stolen.txt")), false);
    await waitForTransfer(bastion, `${remote}/notes.txt`, "download", "denied");
  });

  it("max_download refuses the read that would cross it; the session goes on", async () => {
    writeRandomFile(join(remote, "big.bin"), 3 * MiB);
    writeFileSync(join(remote, "small.txt"), "small\n");
    writeFileSync(join(remote, "medium.txt"), "m".repeat(200));
    const result = await sftpBatch(bastion, as("limited"), [
      `-get ${remote}/big.bin ${join(local, "big.bin")}`,
      `get ${remote}/small.txt ${join(local, "small.txt")}`,
      `put ${join(local, "upload.txt")} ${remote}/after-limit.txt`,
      `-get ${remote}/medium.txt ${join(local, "medium.txt")}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    // The client reports the last status of its pipelined reads (often EOF), not the refusal.
    assert.match(result.stderr, /read remote "[^"]*big\.bin"/);
    assert.match(result.stderr, /medium\.txt.*Permission denied/);
    assert.equal(existsSync(join(local, "small.txt")), true);
    assert.equal(existsSync(join(remote, "after-limit.txt")), true);
    const big = await waitForTransfer(bastion, `${remote}/big.bin`, "download", "limited");
    assert.match(String(big.reason), /download limit reached/);
    assert.equal(big.bytes, 2 * MiB);
    const small = await waitForTransfer(bastion, `${remote}/small.txt`, "download");
    assert.equal(small.bytes, 6);
    const kept = existsSync(join(local, "big.bin")) ? statSync(join(local, "big.bin")).size : 0;
    assert.ok(kept <= LIMIT);
  });

  it("deny refuses the sftp subsystem", async () => {
    const result = await sftpBatch(bastion, as("nofiles"), [`ls ${remote}`]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /subsystem request failed/);
    const denied = await bastion.waitForAudit(
      (e) => e.event === "session.denied" && e.user === "nofiles@example.com",
    );
    assert.match(String(denied.reason), /sftp is not allowed: file transfer is denied/);
  });
});
