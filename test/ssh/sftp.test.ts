// SFTP and modern scp through a real bastion to a real sshd, with
// `file_transfer: allow` and path rules: uploads and downloads round-trip
// byte for byte, a denied file gets the client's normal "Permission denied"
// while the other files of the same session still transfer, every file is
// audited with its byte count, the session's totals reach the index and
// `recordings show`, each transfer is a marker in the recording, and a
// malformed request ends its channel, not the bastion.

import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { run, startTestBastion, type TestBastion, type UserKey } from "../harness/bastion.js";
import { eventually } from "../harness/eventually.js";
import { scp, sftpBatch, sha256File, waitForTransfer, writeRandomFile } from "../sftp/helpers.js";

const MiB = 2 ** 20;

/** The `m` events of the session's recordings (every channel's file). */
function castMarkers(dir: string, session: string): string[] {
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter(
    (name) => basename(name).startsWith(session) && name.endsWith(".cast"),
  );
  return files.flatMap((name) =>
    readFileSync(join(dir, name), "utf8")
      .split("\n")
      .slice(1)
      .filter(Boolean)
      .map((line) => JSON.parse(line) as [number, string, string])
      .filter(([, kind]) => kind === "m")
      .map(([, , label]) => label),
  );
}

describe("sftp through the bastion with file_transfer: allow", () => {
  let bastion: TestBastion;
  let alice: UserKey;
  let remote: string;
  let local: string;

  before(async () => {
    bastion = await startTestBastion({
      extraPolicy: (sshd) => `access:
  - name: xfer
    subjects: { groups: [xfer] }
    targets: { names: [web1] }
    file_transfer: allow
    files: [ { allow: "${sshd.dir}/files/**" }, { deny: "${sshd.dir}/files/secret*" } ]
`,
    });
    alice = await bastion.issueUser("alice@example.com", ["xfer"]);
    remote = join(bastion.sshd.dir, "files");
    local = join(bastion.dir, "local");
    mkdirSync(remote);
    mkdirSync(local);
  });
  after(async () => {
    await bastion?.stop();
  });

  it("uploads and downloads a file with identical sha256, each audited with its bytes", async () => {
    const size = 5 * MiB + 123;
    const digest = writeRandomFile(join(local, "up.bin"), size);
    const result = await sftpBatch(bastion, alice, [
      `put ${join(local, "up.bin")} ${remote}/up.bin`,
      `get ${remote}/up.bin ${join(local, "down.bin")}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(sha256File(join(remote, "up.bin")), digest);
    assert.equal(sha256File(join(local, "down.bin")), digest);
    const upload = await waitForTransfer(bastion, `${remote}/up.bin`, "upload");
    assert.equal(upload.bytes, size);
    assert.equal(upload.bytes_written, size);
    assert.equal(upload.access, "xfer");
    assert.equal(upload.user, "alice@example.com");
    const download = await waitForTransfer(bastion, `${remote}/up.bin`, "download");
    assert.equal(download.bytes, size);
    assert.equal(download.session, upload.session);
    const session = String(upload.session);

    const totals = new RegExp(`files:\\s+2 over sftp, ${size} bytes down, ${size} bytes up`);
    await eventually(async () => {
      const show = await bastion.cli(["recordings", "show", session]);
      assert.match(show.stdout, totals);
    });
    await eventually(() => {
      const markers = castMarkers(join(bastion.dir, "recordings"), session);
      assert.deepEqual(markers, [
        `allow: upload ${remote}/up.bin (${size} bytes)`,
        `allow: download ${remote}/up.bin (${size} bytes)`,
      ]);
    });
  });

  it("refuses a denied file with Permission denied and still transfers the next file", async () => {
    writeFileSync(join(remote, "secret.txt"), "top secret\n");
    writeFileSync(join(remote, "public.txt"), "hello\n");
    const result = await sftpBatch(bastion, alice, [
      `-get ${remote}/secret.txt ${join(local, "secret.txt")}`,
      `get ${remote}/public.txt ${join(local, "public.txt")}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /secret\.txt.*Permission denied/);
    assert.equal(readFileSync(join(local, "public.txt"), "utf8"), "hello\n");
    const denied = await waitForTransfer(bastion, `${remote}/secret.txt`, "download", "denied");
    assert.equal(denied.rule, "files#2");
    assert.equal(denied.bytes, 0);
    await waitForTransfer(bastion, `${remote}/public.txt`, "download");
  });

  it("refuses paths outside the allowed tree, also when reached with ..", async () => {
    const result = await sftpBatch(bastion, alice, [
      `-put ${join(local, "public.txt")} ${remote}/../escaped.txt`,
      `-mkdir ${remote}/../made`,
      `put ${join(local, "public.txt")} ${remote}/inside.txt`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Permission denied/);
    assert.equal(sha256File(join(remote, "inside.txt")), sha256File(join(local, "public.txt")));
    const denied = await bastion.waitForAudit(
      (e) => e.event === "file.op" && e.op === "mkdir" && e.result === "denied",
    );
    assert.equal(denied.path, join(bastion.sshd.dir, "made"));
  });

  it("ends a channel that sends a malformed request, and keeps serving", async () => {
    const init = "\x00\x00\x00\x05\x01\x00\x00\x00\x03";
    const unknownPacketType = "\x00\x00\x00\x01\x63";
    const garbage = await run("/usr/bin/ssh", bastion.sshArgs(alice, "web1", "-s", "sftp"), {
      input: init + unknownPacketType,
    });
    assert.notEqual(garbage.stdout.length, 0, "the bastion answered INIT");
    await bastion.waitForAudit((e) => e.event === "signal" && e.kind === "sftp");
    const after = await sftpBatch(bastion, alice, [`ls ${remote}`]);
    assert.equal(after.code, 0, after.stderr);
  });

  it("copies with modern scp (sftp protocol) both ways", async () => {
    const digest = writeRandomFile(join(local, "scp.bin"), 3 * MiB);
    const up = await scp(bastion, alice, join(local, "scp.bin"), `remote:${remote}/scp.bin`);
    assert.equal(up.code, 0, up.stderr);
    const down = await scp(bastion, alice, `remote:${remote}/scp.bin`, join(local, "scp-back.bin"));
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha256File(join(remote, "scp.bin")), digest);
    assert.equal(sha256File(join(local, "scp-back.bin")), digest);
    const upload = await waitForTransfer(bastion, `${remote}/scp.bin`, "upload");
    assert.equal(upload.bytes, 3 * MiB);
    const denied = await scp(bastion, alice, `remote:${remote}/secret.txt`, join(local, "s2"));
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Permission denied/);
  });
});
