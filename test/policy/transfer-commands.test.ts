// Recognising legacy scp and rsync servers in exec command lines, and
// deciding them with the file policy: modes, deny-wins path rules, whole
// trees for uploads and rsync, relative paths under an unknown home.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decideTransfer,
  recognizeTransfer,
  type TransferCommand,
} from "../../src/policy/transfer-commands.js";
import type { AccessEntry, FileRule } from "../../src/policy/types.js";

function entry(mode: AccessEntry["file_transfer"], files: FileRule[] = []): AccessEntry {
  return { name: "e", file_transfer: mode, files } as unknown as AccessEntry;
}
const allow = (glob: string): FileRule => ({ action: "allow", glob }) as FileRule;
const deny = (glob: string): FileRule => ({ action: "deny", glob }) as FileRule;

const upload = (path: string): TransferCommand => ({
  program: "scp",
  direction: "upload",
  paths: [path],
  tree: true,
});
const download = (path: string): TransferCommand => ({
  program: "scp",
  direction: "download",
  paths: [path],
  tree: false,
});

describe("recognizeTransfer", () => {
  const transfer = (line: string) => {
    const recognized = recognizeTransfer(line);
    assert.equal(recognized.kind, "transfer", line);
    return recognized.kind === "transfer" ? recognized.command : undefined;
  };

  it("recognises what scp -O and rsync send", () => {
    assert.deepEqual(transfer("scp -t /tmp/y"), upload("/tmp/y"));
    assert.deepEqual(transfer("scp -f /tmp/y"), download("/tmp/y"));
    assert.deepEqual(transfer("scp -r -p -t ."), upload("."));
    assert.deepEqual(transfer("scp -t -- -x"), upload("-x"));
    assert.equal(transfer("scp -r -f /d")?.tree, true);
    assert.deepEqual(transfer("rsync --server -logDtpre.iLsfxCIvu . /tmp/y"), {
      program: "rsync",
      direction: "upload",
      paths: ["/tmp/y"],
      tree: true,
    });
    assert.deepEqual(
      transfer("rsync --server --sender -logDtprze.iLsfxCIvu . /tmp/y\\ z /q")?.paths,
      ["/tmp/y z", "/q"],
    );
  });

  it("reports look-alikes that are not exactly one server", () => {
    for (const line of [
      "scp -t /tmp; id",
      "scp -t /tmp | cat",
      "A=1 scp -t /tmp",
      "scp -t /tmp > /x",
      "(scp -t /tmp)",
      "sudo scp -t /tmp",
      "sh -c 'scp -f /etc/shadow'",
      'scp -t "$(id)"',
      "scp -f /a /b",
      "scp -pt /tmp",
      "/usr/bin/scp -t /tmp",
      "rsync --server -se.L . /x",
      "rsync --server --files-from=- . /x",
      "rsync --server --backup-dir=/etc . /x",
      "rsync --server -T/x . /y",
      "id; rsync --server . /x",
    ]) {
      assert.equal(recognizeTransfer(line).kind, "lookalike", line);
    }
  });

  it("leaves other commands alone", () => {
    for (const line of ["ls -t", "scp -o User=t a b:", "rsync -a a b", "echo scp -t /x"]) {
      assert.equal(recognizeTransfer(line).kind, "none", line);
    }
  });
});

/** The verdict with its optional fields readable whatever the decision. */
function decide(
  access: AccessEntry | undefined,
  command: TransferCommand,
): { decision: string; reason?: string; rule?: string } {
  return decideTransfer(access, command);
}

describe("decideTransfer", () => {
  it("applies the modes with the sftp reasons", () => {
    assert.match(String(decide(entry("deny"), upload("/x")).reason), /denied \(access e\)/);
    assert.match(String(decide(entry("approve"), upload("/x")).reason), /approval/);
    assert.match(String(decide(entry("readonly"), upload("/x")).reason), /read-only/);
    assert.match(String(decide(entry("writeonly"), download("/x")).reason), /write-only/);
    assert.equal(decide(entry("readonly"), download("/x")).decision, "allow");
    assert.equal(decide(undefined, download("/x")).decision, "deny");
  });

  it("lets deny rules win and needs an allow rule covering a whole tree", () => {
    const rules = entry("allow", [allow("/srv/**"), deny("/srv/share/secret*")]);
    assert.equal(decide(rules, upload("/srv/share/new.txt")).decision, "allow");
    assert.equal(decide(rules, upload("/srv/share")).rule, "files#2");
    assert.equal(decide(rules, download("/srv/share/secret.txt")).rule, "files#2");
    assert.equal(decide(rules, download("/etc/passwd")).rule, "files");
    const narrow = entry("allow", [allow("/srv/*.txt")]);
    assert.equal(decide(narrow, download("/srv/a.txt")).decision, "allow");
    assert.equal(decide(narrow, upload("/srv/a.txt")).rule, "files");
    assert.equal(decide(entry("allow", [deny("*.pem")]), upload("/tmp")).rule, "files#1");
  });

  it("decides relative paths under the home, failing closed where it cannot know", () => {
    const home = entry("allow", [allow("~/drop/**")]);
    assert.equal(decide(home, upload("drop/a")).decision, "allow");
    assert.equal(decide(home, upload("other")).rule, "files");
    assert.match(String(decide(home, upload("../x")).reason), /leaves the home/);
    const absolute = entry("allow", [deny("/etc/shadow")]);
    assert.match(String(decide(absolute, upload(".")).reason), /absolute rule/);
    assert.equal(decide(absolute, upload("/tmp/x")).decision, "allow");
  });
});
