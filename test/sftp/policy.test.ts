// The file transfer policy (src/policy/files.ts) as a decision table: path
// resolution and normalization, allow and deny rules in either order,
// directories on the way to an allowed path, relative rule globs, the modes,
// open flags, and the refusal of the subsystem itself.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  compileFilePolicy,
  type FileAccess,
  fileTransferRefusal,
  openAccess,
  resolvePath,
} from "../../src/policy/files.js";
import type { AccessEntry } from "../../src/policy/types.js";
import { policyFrom, targetYaml } from "../policy/fixtures.js";

const HOME = "/home/deploy";

/** The access entry `files` of a one-entry policy with these settings. */
function entryWith(...settings: string[]): AccessEntry {
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
  return entry;
}

function decisions(entry: AccessEntry, access: FileAccess, paths: readonly string[]) {
  const policy = compileFilePolicy(entry, HOME);
  return paths.map((path) => {
    const verdict = policy.decide(access, policy.resolve(path));
    return verdict.decision === "allow" ? "allow" : `deny ${verdict.rule ?? ""}`.trim();
  });
}

describe("resolving sftp paths", () => {
  test("relative paths join the home; . .. // and trailing / are normalized", () => {
    assert.equal(resolvePath("", HOME), HOME);
    assert.equal(resolvePath(".", HOME), HOME);
    assert.equal(resolvePath("notes.txt", HOME), `${HOME}/notes.txt`);
    assert.equal(resolvePath("../../etc/shadow", HOME), "/etc/shadow");
    assert.equal(resolvePath("/var/log/../../etc//shadow", HOME), "/etc/shadow");
    assert.equal(resolvePath("/var/./log/", HOME), "/var/log");
    assert.equal(resolvePath("/../../..", HOME), "/");
  });
});

describe("path rules", () => {
  const rules = 'files: [ { allow: "/var/log/**" }, { deny: "/var/log/secure*" } ]';

  test("deny wins over allow whatever the order", () => {
    const reversed = 'files: [ { deny: "/var/log/secure*" }, { allow: "/var/log/**" } ]';
    for (const [entry, rule] of [
      [entryWith("file_transfer: allow", rules), "files#2"],
      [entryWith("file_transfer: allow", reversed), "files#1"],
    ] as const) {
      assert.deepEqual(
        decisions(entry, "read", ["/var/log/syslog", "/var/log/secure", "/var/log/secure.1"]),
        ["allow", `deny ${rule}`, `deny ${rule}`],
      );
    }
  });

  test("with allow rules, everything outside them is refused, also through ..", () => {
    const entry = entryWith("file_transfer: allow", rules);
    assert.deepEqual(
      decisions(entry, "write", ["/etc/passwd", "/var/log/../../etc/passwd", "notes.txt"]),
      ["deny files", "deny files", "deny files"],
    );
    assert.deepEqual(decisions(entry, "modify", ["/var/log/app/x.log", "/var/log"]), [
      "allow",
      "deny files",
    ]);
  });

  test("directories on the way to an allowed path can be inspected, nothing else", () => {
    const entry = entryWith("file_transfer: allow", rules);
    assert.deepEqual(
      decisions(entry, "inspect", ["/", "/var", "/var/log", "/var/log/app", "/etc", HOME]),
      ["allow", "allow", "allow", "allow", "deny files", "deny files"],
    );
    assert.deepEqual(decisions(entry, "read", ["/var"]), ["deny files"]);
  });

  test("a denied file can be inspected (the client then reports Permission denied on open)", () => {
    const entry = entryWith("file_transfer: allow", rules);
    assert.deepEqual(decisions(entry, "inspect", ["/var/log/secure"]), ["allow"]);
  });

  test("listings hide what is outside the allowed tree", () => {
    const policy = compileFilePolicy(entryWith("file_transfer: allow", rules), HOME);
    assert.equal(policy.visible("/var/log"), true);
    assert.equal(policy.visible("/var/lib"), false);
    assert.equal(policy.visible("/var/log/anything"), true);
  });

  test("only deny rules: everything else is allowed", () => {
    const entry = entryWith("file_transfer: allow", 'files: [ { deny: "/etc/shadow*" } ]');
    assert.deepEqual(decisions(entry, "read", ["/etc/shadow", "/etc/shadow-", "/etc/passwd"]), [
      "deny files#1",
      "deny files#1",
      "allow",
    ]);
  });

  test("relative globs and ~/ name the home; a leading wildcard matches anywhere", () => {
    const entry = entryWith(
      "file_transfer: allow",
      'files: [ { allow: "uploads/**" }, { allow: "~/inbox/*" }, { deny: "*.pem" } ]',
    );
    assert.deepEqual(
      decisions(entry, "write", [
        "uploads/a.txt",
        `${HOME}/inbox/b.txt`,
        "uploads/key.pem",
        "/tmp/a.txt",
      ]),
      ["allow", "allow", "deny files#3", "deny files"],
    );
  });

  test("glob rules are the command-argument rules: * also crosses /", () => {
    const entry = entryWith("file_transfer: allow", 'files: [ { allow: "/srv/*.csv" } ]');
    assert.deepEqual(decisions(entry, "read", ["/srv/a.csv", "/srv/x/b.csv", "/srv/a.txt"]), [
      "allow",
      "allow",
      "deny files",
    ]);
  });

  test("no rules: every path is allowed", () => {
    const entry = entryWith("file_transfer: allow");
    assert.deepEqual(decisions(entry, "modify", ["/etc/shadow", "x"]), ["allow", "allow"]);
  });
});

describe("modes", () => {
  const table: Record<string, Record<FileAccess, "allow" | "deny">> = {
    allow: {
      realpath: "allow",
      inspect: "allow",
      read: "allow",
      write: "allow",
      readwrite: "allow",
      modify: "allow",
    },
    readonly: {
      realpath: "allow",
      inspect: "allow",
      read: "allow",
      write: "deny",
      readwrite: "deny",
      modify: "deny",
    },
    writeonly: {
      realpath: "allow",
      inspect: "allow",
      read: "deny",
      write: "allow",
      readwrite: "deny",
      modify: "allow",
    },
  };
  for (const [mode, expected] of Object.entries(table)) {
    test(`${mode}`, () => {
      const policy = compileFilePolicy(entryWith(`file_transfer: ${mode}`), HOME);
      const actual = Object.fromEntries(
        Object.keys(expected).map((access) => [
          access,
          policy.decide(access as FileAccess, "/tmp/x").decision,
        ]),
      );
      assert.deepEqual(actual, expected);
    });
  }

  test("a mode refusal says which mode", () => {
    const verdict = compileFilePolicy(entryWith("file_transfer: readonly"), HOME).decide(
      "write",
      "/tmp/x",
    );
    assert.deepEqual(verdict, {
      decision: "deny",
      reason: "file transfer is read-only: uploads and changes are refused",
    });
  });

  test("deny (the default) refuses the subsystem; approve needs an approval first; the others open it", () => {
    assert.match(
      fileTransferRefusal(entryWith()) ?? "",
      /file transfer is denied \(access files\)/,
    );
    assert.equal(
      fileTransferRefusal(entryWith("file_transfer: approve")),
      "file transfer needs approval (access files)",
    );
    assert.equal(fileTransferRefusal(undefined), "no access entry allows this session");
    for (const mode of ["allow", "readonly", "writeonly"]) {
      assert.equal(fileTransferRefusal(entryWith(`file_transfer: ${mode}`)), undefined);
    }
  });

  test("max_download is carried in bytes", () => {
    const policy = compileFilePolicy(
      entryWith("file_transfer: allow", "max_download: 100MB"),
      HOME,
    );
    assert.equal(policy.maxDownload, 100_000_000);
  });
});

describe("open flags", () => {
  test("READ alone reads; any of WRITE, APPEND, CREAT, TRUNC writes", () => {
    assert.equal(openAccess(0x1), "read");
    assert.equal(openAccess(0x2 | 0x8 | 0x10), "write");
    assert.equal(openAccess(0x4), "write");
    assert.equal(openAccess(0x1 | 0x2), "readwrite");
    assert.equal(openAccess(0x1 | 0x8), "readwrite");
  });
});
