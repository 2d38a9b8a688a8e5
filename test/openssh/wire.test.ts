// SshReader / SshWriter: bounds checks fail closed with ERR_SSH_FORMAT and
// consume nothing; text rejects NUL and invalid UTF-8; mpints are unsigned.

import assert from "node:assert/strict";
import { test } from "node:test";
import { SshReader, SshWriter } from "../../src/openssh/wire.js";

const formatError = { name: "PortcullisError", code: "ERR_SSH_FORMAT" };

test("round-trips every field type", () => {
  const bytes = new SshWriter()
    .byte(7)
    .bool(true)
    .uint32(0xdeadbeef)
    .uint64(0xffff_ffff_ffff_ffffn)
    .string("héllo")
    .mpint(Buffer.from([0x80, 0x01]))
    .toBuffer();
  const reader = new SshReader(bytes);
  assert.equal(reader.byte(), 7);
  assert.equal(reader.bool(), true);
  assert.equal(reader.uint32(), 0xdeadbeef);
  assert.equal(reader.uint64(), 0xffff_ffff_ffff_ffffn);
  assert.equal(reader.utf8String(), "héllo");
  assert.deepEqual(reader.mpint(), Buffer.from([0x80, 0x01]));
  reader.end();
});

test("mpint gets a leading zero when its top bit is set", () => {
  const bytes = new SshWriter().mpint(Buffer.from([0x00, 0x00, 0x80])).toBuffer();
  assert.deepEqual(bytes, Buffer.from([0, 0, 0, 2, 0x00, 0x80]));
});

test("a string longer than the buffer fails and consumes nothing", () => {
  const reader = new SshReader(Buffer.from([0, 0, 0, 9, 1, 2]));
  assert.throws(() => reader.string(), { ...formatError, message: "truncated data" });
  assert.equal(reader.offset, 0);
  assert.equal(reader.uint32(), 9);
});

test("short integers fail", () => {
  assert.throws(() => new SshReader(Buffer.alloc(3)).uint32(), formatError);
  assert.throws(() => new SshReader(Buffer.alloc(7)).uint64(), formatError);
  assert.throws(() => new SshReader(Buffer.alloc(0)).bool(), formatError);
});

test("text with a NUL or invalid UTF-8 is refused without consuming it", () => {
  for (const bad of [Buffer.from("a\0b"), Buffer.from([0xc3, 0x28])]) {
    const reader = new SshReader(new SshWriter().string(bad).toBuffer());
    assert.throws(() => reader.utf8String(), formatError);
    assert.equal(reader.offset, 0);
    assert.deepEqual(reader.string(), bad);
  }
});

test("negative mpints are refused; leading zeros are trimmed", () => {
  assert.throws(() => new SshReader(Buffer.from([0, 0, 0, 1, 0x80])).mpint(), formatError);
  assert.deepEqual(new SshReader(Buffer.from([0, 0, 0, 3, 0, 0, 5])).mpint(), Buffer.from([5]));
});

test("end() refuses trailing bytes", () => {
  const reader = new SshReader(Buffer.from([0, 0, 0, 0, 1]));
  reader.string();
  assert.throws(() => reader.end(), { ...formatError, message: "1 unexpected trailing bytes" });
});
