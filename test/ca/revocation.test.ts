// Revocation list: file format, `revoke()` appends (creating file 0600 and
// directory), and a RevocationList picks up changes without a restart —
// tests wait on its "reloaded" / "reloadFailed" events, never on sleeps.

import assert from "node:assert/strict";
import { once } from "node:events";
import { appendFileSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  parseRevocationList,
  RevocationList,
  revocationEntryFor,
  revoke,
} from "../../src/ca/revocation.js";
import { tempDir } from "../openssh/fixtures.js";

const dir = tempDir();
let fileCounter = 0;
const freshPath = (subdir = "") => join(dir, subdir, `revoked-${++fileCounter}.txt`);

test("file format: serials, key ids, comments and blank lines", () => {
  const list = parseRevocationList(
    "# revoked after incident 42\n\nserial:12345\n  key-id: alice@example.com \nserial:18446744073709551615\n",
    "f",
  );
  assert.deepEqual([...list.serials], [12345n, 18446744073709551615n]);
  assert.deepEqual([...list.keyIds], ["alice@example.com"]);
});

test("a bad line is reported with file and line number", () => {
  assert.throws(() => parseRevocationList("serial:1\nalice\n", "revoked.txt"), {
    code: "ERR_REVOCATION",
    message: 'revoked.txt:2: expected "serial:NUMBER" or "key-id:ID"',
  });
  assert.throws(() => parseRevocationList("serial:18446744073709551616\n", "f"), {
    code: "ERR_REVOCATION",
  });
  assert.throws(() => parseRevocationList("serial:-1\n", "f"), { code: "ERR_REVOCATION" });
  assert.throws(() => parseRevocationList("key-id:\n", "f"), { code: "ERR_REVOCATION" });
});

test("revoke: a number is a serial, anything else a key id; explicit prefixes win", () => {
  assert.deepEqual(revocationEntryFor("12345"), { kind: "serial", serial: 12345n });
  assert.deepEqual(revocationEntryFor(" alice@example.com "), {
    kind: "key-id",
    keyId: "alice@example.com",
  });
  assert.deepEqual(revocationEntryFor("key-id:12345"), { kind: "key-id", keyId: "12345" });
  assert.throws(() => revocationEntryFor(""), { code: "ERR_REVOCATION" });
  assert.throws(() => revocationEntryFor("a\nserial:1"), { code: "ERR_REVOCATION" });
});

test("revoke creates the directory and a 0600 file, and appends one line per call", () => {
  const path = freshPath("new/dir");
  revoke(path, "12345");
  revoke(path, "alice@example.com");
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(readFileSync(path, "utf8"), "serial:12345\nkey-id:alice@example.com\n");
});

test("revoke adds a missing final newline instead of joining lines", () => {
  const path = freshPath();
  writeFileSync(path, "# hand edited\nserial:1");
  revoke(path, "2");
  assert.deepEqual([...parseRevocationList(readFileSync(path, "utf8"), path).serials], [1n, 2n]);
});

test("a missing file is an empty list; a corrupt file at startup throws", (t) => {
  const missing = new RevocationList(freshPath());
  t.after(() => missing.close());
  assert.equal(missing.size, 0);
  assert.equal(missing.isRevoked(1n, "anyone"), false);
  const corrupt = freshPath();
  writeFileSync(corrupt, "nonsense\n");
  assert.throws(() => new RevocationList(corrupt), {
    code: "ERR_REVOCATION",
    message: `${corrupt}:1: expected "serial:NUMBER" or "key-id:ID"`,
  });
});

test("isRevoked matches by serial or by key id", (t) => {
  const path = freshPath();
  writeFileSync(path, "serial:7\nkey-id:mallory\n");
  const list = new RevocationList(path);
  t.after(() => list.close());
  assert.equal(list.isRevoked(7n, "alice"), true);
  assert.equal(list.isRevoked(8n, "mallory"), true);
  assert.equal(list.isRevoked(8n, "alice"), false);
});

test("revoke() while a list is open takes effect without a restart", async (t) => {
  const path = freshPath();
  const list = new RevocationList(path);
  t.after(() => list.close());
  const reloaded = once(list, "reloaded");
  revoke(path, "4242");
  await reloaded;
  assert.equal(list.isRevoked(4242n, "x"), true);
  const again = once(list, "reloaded");
  revoke(path, "bob@example.com");
  await again;
  assert.equal(list.isRevoked(1n, "bob@example.com"), true);
});

test("an atomic replace (rename over the file) is picked up", async (t) => {
  const path = freshPath();
  writeFileSync(path, "serial:1\n");
  const list = new RevocationList(path);
  t.after(() => list.close());
  const reloaded = once(list, "reloaded");
  writeFileSync(`${path}.tmp`, "serial:2\n");
  renameSync(`${path}.tmp`, path);
  await reloaded;
  assert.equal(list.isRevoked(1n, ""), false);
  assert.equal(list.isRevoked(2n, ""), true);
});

test("a corrupt file on reload keeps the last good list and reports the error", async (t) => {
  const path = freshPath();
  writeFileSync(path, "serial:1\n");
  const errors: string[] = [];
  const list = new RevocationList(path, { onError: (error) => errors.push(error.message) });
  t.after(() => list.close());
  const failed = once(list, "reloadFailed");
  appendFileSync(path, "garbage\n");
  const [error] = await failed;
  assert.equal(error.code, "ERR_REVOCATION");
  assert.deepEqual(errors, [`${path}:2: expected "serial:NUMBER" or "key-id:ID"`]);
  assert.equal(list.isRevoked(1n, ""), true);
  const fixed = once(list, "reloaded");
  writeFileSync(path, "serial:1\nserial:3\n");
  await fixed;
  assert.equal(list.isRevoked(3n, ""), true);
});

test("the stat poll finds a file whose directory did not exist at start (no watcher)", async (t) => {
  const path = freshPath("created-later");
  const counts: number[] = [];
  const list = new RevocationList(path, { pollIntervalMs: 20, onReload: (n) => counts.push(n) });
  t.after(() => list.close());
  const reloaded = once(list, "reloaded");
  revoke(path, "99");
  await reloaded;
  assert.equal(list.isRevoked(99n, ""), true);
  assert.deepEqual(counts, [1]);
});

test("reload() reports success and failure synchronously", (t) => {
  const path = freshPath();
  const list = new RevocationList(path);
  t.after(() => list.close());
  list.on("reloadFailed", () => {});
  writeFileSync(path, "serial:5\n");
  assert.equal(list.reload(), true);
  assert.equal(list.isRevoked(5n, ""), true);
  writeFileSync(path, "bad\n");
  assert.equal(list.reload(), false);
  assert.equal(list.isRevoked(5n, ""), true);
});
