// Legacy `scp -O` and rsync over exec, through the real bastion to the real
// sshd: decided by `file_transfer` and `files:` even where the command rules
// allow scp and rsync, byte counts and `max_download` on the channel, and
// look-alike lines refused.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { run, startTestBastion, type TestBastion, type UserKey } from "../harness/bastion.js";
import {
  clientOptions,
  fileEntry,
  sha256File,
  waitForTransfer,
  writeRandomFile,
} from "../sftp/helpers.js";

const MiB = 2 ** 20;
const RSYNC = "/usr/bin/rsync";
const rsyncMissing = existsSync(RSYNC) ? false : "rsync is not installed (Debian package rsync)";

/** Command rules allow everything here: only the file policy decides transfers. */
const entry = (name: string, ...settings: string[]) =>
  fileEntry(name, "commands: [everything]", ...settings);

describe("legacy scp and rsync under the file policy", () => {
  let bastion: TestBastion;
  let remote: string;
  let local: string;
  const users = new Map<string, UserKey>();
  const as = (group: string) => users.get(group) as UserKey;

  before(async () => {
    bastion = await startTestBastion({
      extraPolicy: (sshd) => {
        const files = join(sshd.dir, "files");
        return `access:
${entry("free", "file_transfer: allow", `files: [{ allow: "${files}/**" }, { deny: "${files}/secret*" }]`)}
${entry("nofiles", "file_transfer: deny")}
${entry("reader", "file_transfer: readonly")}
${entry("limited", "file_transfer: allow", `max_download: ${MiB}B`)}
rulesets:
  everything:
    default: allow
    rules: []
`;
      },
    });
    for (const group of ["free", "nofiles", "reader", "limited"]) {
      users.set(group, await bastion.issueUser(`${group}@example.com`, [group]));
    }
    remote = join(bastion.sshd.dir, "files");
    local = join(bastion.dir, "local");
    mkdirSync(remote);
    mkdirSync(local);
    writeFileSync(join(remote, "secret.txt"), "do not copy\n");
  });
  after(async () => {
    await bastion?.stop();
  });

  const legacyScp = (group: string, from: string, to: string) => {
    const remoteArg = (path: string) => path.replace(/^remote:/, "web1@127.0.0.1:");
    const args = [...clientOptions(bastion, as(group)), "-O", remoteArg(from), remoteArg(to)];
    return run("/usr/bin/scp", args, { timeoutMs: 60_000 });
  };
  const rsync = (group: string, from: string, to: string) => {
    const options = clientOptions(bastion, as(group)).slice(0, -2); // without scp's `-P PORT`
    const shell = ["ssh", ...options, "-p", String(bastion.port)].join(" ");
    const remoteArg = (path: string) => path.replace(/^remote:/, "web1@127.0.0.1:");
    return run(RSYNC, ["-e", shell, remoteArg(from), remoteArg(to)], { timeoutMs: 60_000 });
  };
  const exec = (group: string, line: string) =>
    run("/usr/bin/ssh", bastion.sshArgs(as(group), "web1", line));

  it("scp -O round-trips a file with identical checksums and counts its bytes", async () => {
    const source = join(local, "round.bin");
    const digest = writeRandomFile(source, 3 * MiB);
    const up = await legacyScp("free", source, `remote:${remote}/round.bin`);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(sha256File(join(remote, "round.bin")), digest);
    const back = join(local, "back.bin");
    const down = await legacyScp("free", `remote:${remote}/round.bin`, back);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha256File(back), digest);

    const upload = await waitForTransfer(bastion, `${remote}/round.bin`, "upload");
    const download = await waitForTransfer(bastion, `${remote}/round.bin`, "download");
    for (const event of [upload, download]) {
      assert.equal(event.via, "scp");
      // The file and scp's few bytes of framing (`C0644 SIZE NAME\n`, acknowledgements).
      assert.ok(Number(event.bytes) >= 3 * MiB && Number(event.bytes) < 3 * MiB + 200);
    }
    assert.equal(upload.bytes_written, upload.bytes);
    assert.equal(download.bytes_read, download.bytes);
  });

  it("the recording keeps the transfer's marker, not the file's contents", async () => {
    writeFileSync(join(remote, "notes.txt"), "FILE-CONTENT-KEPT-OUT-42\n");
    const down = await legacyScp("free", `remote:${remote}/notes.txt`, join(local, "notes.txt"));
    assert.equal(down.code, 0, down.stderr);
    const event = await waitForTransfer(bastion, `${remote}/notes.txt`, "download");
    const session = String(event.session);
    const recordings = join(bastion.dir, "recordings");
    const castOf = () =>
      readdirSync(recordings, { recursive: true, encoding: "utf8" })
        .filter((name) => basename(name).startsWith(session) && name.endsWith(".cast"))
        .map((name) => readFileSync(join(recordings, name), "utf8"))
        .join("\n");
    const deadline = Date.now() + 10_000;
    while (!castOf().includes("allow: download") && Date.now() < deadline)
      await new Promise((wake) => setTimeout(wake, 50));
    assert.match(castOf(), /allow: download .*notes\.txt/);
    assert.ok(!castOf().includes("FILE-CONTENT-KEPT-OUT-42"));
  });

  it("file_transfer: deny refuses scp -O although the command rules allow scp", async () => {
    const source = join(local, "denied.txt");
    writeFileSync(source, "no\n");
    const result = await legacyScp("nofiles", source, `remote:${remote}/denied.txt`);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /blocked: file transfer is denied \(access nofiles\)/);
    assert.equal(existsSync(join(remote, "denied.txt")), false);
    await waitForTransfer(bastion, `${remote}/denied.txt`, "upload", "denied");
  });

  it("readonly refuses scp -O uploads and allows downloads", async () => {
    const source = join(local, "ro.txt");
    writeFileSync(source, "ro\n");
    const upload = await legacyScp("reader", source, `remote:${remote}/ro.txt`);
    assert.notEqual(upload.code, 0);
    assert.match(upload.stderr, /read-only/);
    assert.equal(existsSync(join(remote, "ro.txt")), false);
    writeFileSync(join(remote, "readable.txt"), "readable\n");
    const download = await legacyScp("reader", `remote:${remote}/readable.txt`, local);
    assert.equal(download.code, 0, download.stderr);
    assert.equal(existsSync(join(local, "readable.txt")), true);
  });

  it("refuses a denied path and names the rule", async () => {
    const result = await legacyScp("free", `remote:${remote}/secret.txt`, local);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /secret\.txt is denied \(rule files#2\)/);
    assert.equal(existsSync(join(local, "secret.txt")), false);
    const event = await waitForTransfer(bastion, `${remote}/secret.txt`, "download", "denied");
    assert.equal(event.rule, "files#2");
  });

  it("max_download ends a legacy scp download at the limit", async () => {
    writeRandomFile(join(remote, "big.bin"), 3 * MiB);
    const result = await legacyScp("limited", `remote:${remote}/big.bin`, join(local, "big.bin"));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /download limit reached/);
    const event = await waitForTransfer(bastion, `${remote}/big.bin`, "download", "limited");
    assert.equal(event.bytes, MiB);
    const received = existsSync(join(local, "big.bin")) ? statSync(join(local, "big.bin")).size : 0;
    assert.ok(received <= MiB);
  });

  it("refuses a look-alike line that is not exactly one scp server", async () => {
    for (const group of ["nofiles", "free"]) {
      const result = await exec(group, "scp -t /tmp; id");
      assert.equal(result.code, 126);
      assert.match(result.stderr, /runs scp as a file transfer server, but not as exactly one/);
      assert.doesNotMatch(result.stdout, /uid=/);
    }
    const allowed = await exec("free", "id");
    assert.match(allowed.stdout, /uid=/);
  });

  it("rsync uploads under the same rules", { skip: rsyncMissing }, async () => {
    const source = join(local, "rsync.bin");
    const digest = writeRandomFile(source, MiB);
    const allowed = await rsync("free", source, `remote:${remote}/rsync.bin`);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(sha256File(join(remote, "rsync.bin")), digest);
    const upload = await waitForTransfer(bastion, `${remote}/rsync.bin`, "upload");
    assert.equal(upload.via, "rsync");
    assert.ok(Number(upload.bytes) >= MiB);

    const denied = await rsync("nofiles", source, `remote:${remote}/rsync-denied.bin`);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /file transfer is denied/);
    assert.equal(existsSync(join(remote, "rsync-denied.bin")), false);
    const outside = await rsync("free", source, `remote:${bastion.sshd.dir}/outside.bin`);
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /not in an allowed path/);
  });
});
