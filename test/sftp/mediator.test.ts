// The SFTP mediator (src/sftp/mediator.ts) against a scripted target: reads
// stay pipelined (all forwarded before the first answer), handles are the
// bastion's own, the download budget is exact, listings hide what the rules
// hide, requests made before the target is ready wait, and every file is
// reported with its bytes when it closes.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileFilePolicy } from "../../src/policy/files.js";
import { SessionTransfers } from "../../src/sftp/handles.js";
import { SftpMediator, type SftpReport } from "../../src/sftp/mediator.js";
import {
  type SftpName,
  type SftpReplies,
  type SftpUpstream,
  STATUS,
} from "../../src/sftp/protocol.js";
import { policyFrom, targetYaml } from "../policy/fixtures.js";

type Reply = [string, number, ...unknown[]];

/** Records every reply to the user's client. */
function recordingReplies(): SftpReplies & { sent: Reply[] } {
  const sent: Reply[] = [];
  return {
    sent,
    status: (id, code, message) => sent.push(["status", id, code, message]),
    handle: (id, handle) => sent.push(["handle", id, handle]),
    data: (id, data) => sent.push(["data", id, data.toString()]),
    name: (id, names) => sent.push(["name", id, names.map((n) => n.filename)]),
    attrs: (id, attrs) => sent.push(["attrs", id, attrs]),
  };
}

/** A target whose calls are queued until the test answers them. */
function scriptedUpstream() {
  const calls: Array<{ method: string; args: unknown[]; answer: (...result: unknown[]) => void }> =
    [];
  const record =
    (method: string) =>
    (...args: unknown[]) => {
      const done = args.at(-1) as (...result: unknown[]) => void;
      calls.push({ method, args: args.slice(0, -1), answer: done });
    };
  const methods = [
    "open",
    "close",
    "read",
    "write",
    "fstat",
    "fsetstat",
    "opendir",
    "readdir",
    "stat",
    "lstat",
    "setstat",
    "unlink",
    "rename",
    "mkdir",
    "rmdir",
    "realpath",
    "readlink",
    "symlink",
  ];
  const upstream = Object.fromEntries(methods.map((method) => [method, record(method)]));
  return { calls, upstream: { ...upstream, end: () => undefined } as unknown as SftpUpstream };
}

function setup(settings: string[] = ["file_transfer: allow"]) {
  const policy = policyFrom(`targets:
${targetYaml("web1")}
access:
  - name: files
    subjects: { groups: [ops] }
    targets: { names: [web1] }
${settings.map((line) => `    ${line}`).join("\n")}
`);
  const entry = policy.access[0];
  assert.ok(entry);
  const replies = recordingReplies();
  const reports: SftpReport[] = [];
  const transfers = new SessionTransfers();
  const mediator = new SftpMediator({ replies, transfers, report: (r) => reports.push(r) });
  const target = scriptedUpstream();
  const attach = () => mediator.attach(target.upstream, compileFilePolicy(entry, "/home/u"));
  return { mediator, replies, reports, transfers, attach, ...target };
}

const READ = 0x1;
const UPSTREAM_HANDLE = Buffer.from("up-1");

/** Opens `path` for reading and returns the handle the user got. */
function openFile(context: ReturnType<typeof setup>, path: string, flags = READ): Buffer {
  context.mediator.open(1, path, flags, {});
  context.calls.at(-1)?.answer(undefined, UPSTREAM_HANDLE);
  const reply = context.replies.sent.at(-1);
  assert.equal(reply?.[0], "handle");
  return reply?.[2] as Buffer;
}

describe("SFTP mediation", () => {
  test("forwards pipelined reads at once and answers each under its own id", () => {
    const context = setup();
    context.attach();
    const handle = openFile(context, "data.bin");
    assert.equal(context.calls[0]?.args[0], "/home/u/data.bin");
    for (const id of [10, 11, 12]) context.mediator.read(id, handle, (id - 10) * 4, 4);
    const reads = context.calls.filter((call) => call.method === "read");
    assert.equal(reads.length, 3, "all reads forwarded before any answer");
    reads[2]?.answer(undefined, 4, Buffer.from("cccc"));
    reads[0]?.answer(undefined, 4, Buffer.from("aaaa"));
    reads[1]?.answer(undefined, 0, Buffer.alloc(0));
    assert.deepEqual(context.replies.sent.slice(1), [
      ["data", 12, "cccc"],
      ["data", 10, "aaaa"],
      ["status", 11, STATUS.EOF, undefined],
    ]);
    context.mediator.closeHandle(20, handle);
    context.calls.at(-1)?.answer(undefined);
    assert.deepEqual(context.reports, [
      {
        kind: "transfer",
        direction: "download",
        path: "/home/u/data.bin",
        bytesRead: 8,
        bytesWritten: 0,
        result: "ok",
      },
    ]);
  });

  test("refuses handles it did not hand out and uses a handle only as it was opened", () => {
    const context = setup();
    context.attach();
    context.mediator.read(5, UPSTREAM_HANDLE, 0, 10);
    const handle = openFile(context, "data.bin");
    context.mediator.write(6, handle, 0, Buffer.from("x"));
    assert.deepEqual(context.replies.sent.at(0), [
      "status",
      5,
      STATUS.FAILURE,
      "portcullis: invalid handle",
    ]);
    assert.deepEqual(context.replies.sent.at(-1), [
      "status",
      6,
      STATUS.PERMISSION_DENIED,
      "portcullis: the file was not opened for writing",
    ]);
    assert.equal(context.calls.filter((call) => call.method !== "open").length, 0);
  });

  test("refuses a denied open without asking the target, and reports it", () => {
    const context = setup(["file_transfer: allow", 'files: [ { deny: "/etc/**" } ]']);
    context.attach();
    context.mediator.open(3, "/var/../etc/passwd", READ, {});
    assert.equal(context.calls.length, 0);
    assert.deepEqual(context.replies.sent, [
      ["status", 3, STATUS.PERMISSION_DENIED, "portcullis: /etc/passwd is denied (rule files#1)"],
    ]);
    assert.equal(context.reports[0]?.kind, "transfer");
    assert.equal(context.reports[0]?.result, "denied");
  });

  test("max_download refuses the read whose bytes would cross it; smaller ones still fit", () => {
    const context = setup(["file_transfer: allow", "max_download: 10B"]);
    context.attach();
    const handle = openFile(context, "data.bin");
    context.mediator.read(1, handle, 0, 8);
    context.calls.at(-1)?.answer(undefined, 8, Buffer.from("12345678"));
    context.mediator.read(2, handle, 8, 8);
    context.calls.at(-1)?.answer(undefined, 8, Buffer.from("abcdefgh"));
    context.mediator.read(3, handle, 8, 2);
    context.calls.at(-1)?.answer(undefined, 2, Buffer.from("ab"));
    assert.deepEqual(context.replies.sent.slice(1), [
      ["data", 1, "12345678"],
      [
        "status",
        2,
        STATUS.PERMISSION_DENIED,
        "portcullis: download limit reached (max_download 10 bytes)",
      ],
      ["data", 3, "ab"],
    ]);
    assert.equal(context.transfers.downloaded, 10);
    context.mediator.closeHandle(4, handle);
    context.calls.at(-1)?.answer(undefined);
    assert.equal(context.reports[0]?.result, "limited");
  });

  test("requests made before the target is ready wait, in order", () => {
    const context = setup();
    context.mediator.realpath(1, ".");
    context.mediator.stat(2, "a", true);
    assert.equal(context.calls.length, 0);
    context.attach();
    assert.deepEqual(
      context.calls.map((call) => [call.method, call.args[0]]),
      [
        ["realpath", "/home/u"],
        ["stat", "/home/u/a"],
      ],
    );
  });

  test("an aborted target side fails waiting and later requests", () => {
    const context = setup();
    context.mediator.stat(1, "a", true);
    context.mediator.abort("portcullis: target unreachable");
    context.mediator.stat(2, "b", true);
    assert.deepEqual(context.replies.sent, [
      ["status", 1, STATUS.FAILURE, "portcullis: target unreachable"],
      ["status", 2, STATUS.FAILURE, "portcullis: target unreachable"],
    ]);
  });

  test("listings leave out what is outside the allowed tree, skipping emptied batches", () => {
    const context = setup(["file_transfer: allow", 'files: [ { allow: "/srv/share/**" } ]']);
    context.attach();
    context.mediator.opendir(1, "/srv");
    context.calls.at(-1)?.answer(undefined, Buffer.from("dir"));
    const handle = context.replies.sent.at(-1)?.[2] as Buffer;
    const names = (...filenames: string[]): SftpName[] =>
      filenames.map((filename) => ({ filename, longname: filename, attrs: {} }));
    context.mediator.readdir(2, handle);
    context.calls.at(-1)?.answer(undefined, names("other", "private"));
    context.calls.at(-1)?.answer(undefined, names(".", "..", "share", "secret"));
    assert.deepEqual(context.replies.sent.at(-1), ["name", 2, [".", "..", "share"]]);
  });

  test("a change is reported with its outcome; a refused one never reaches the target", () => {
    const context = setup(["file_transfer: allow", 'files: [ { allow: "/srv/**" } ]']);
    context.attach();
    context.mediator.rename(1, "/srv/a", "/tmp/a");
    context.mediator.remove(2, "/srv/b");
    context.calls.at(-1)?.answer(undefined);
    assert.deepEqual(
      context.calls.map((call) => call.method),
      ["unlink"],
    );
    assert.deepEqual(
      context.reports.map((r) => (r.kind === "operation" ? [r.op, r.result, r.to] : [])),
      [
        ["rename", "denied", "/tmp/a"],
        ["remove", "ok", undefined],
      ],
    );
  });

  test("a symlink to a denied path is refused, its relative target resolved from the link", () => {
    const context = setup(["file_transfer: allow", 'files: [ { deny: "/etc/**" } ]']);
    context.attach();
    context.mediator.symlink(1, "../../etc/shadow", "/home/u/link");
    assert.equal(context.calls.length, 0);
    assert.equal(context.reports[0]?.kind === "operation" && context.reports[0].to, "/etc/shadow");
  });

  test("open files are reported as interrupted when the channel closes", () => {
    const context = setup();
    context.attach();
    const handle = openFile(context, "up.bin", 0x2 | 0x8);
    context.mediator.write(2, handle, 0, Buffer.from("hello"));
    context.calls.at(-1)?.answer(undefined);
    context.mediator.close();
    assert.deepEqual(context.reports.at(-1), {
      kind: "transfer",
      direction: "upload",
      path: "/home/u/up.bin",
      bytesRead: 0,
      bytesWritten: 5,
      result: "interrupted",
    });
  });
});
