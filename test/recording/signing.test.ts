// Tests for src/recording/signing.ts and verify.ts: the audit key file (mode,
// no overwrite, refusals), what is signed, and checkRecordingFile's verdicts
// on real signed recordings: ok, changed, truncated, missing, unsigned and
// bad-signature.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import {
  appendFileSync,
  chmodSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  type AuditKey,
  checkRecordingFile,
  createLocalRecordingStore,
  type ExpectedRecording,
  generateAuditKey,
  loadAuditKey,
  RecordingError,
  recordingSignedMessage,
} from "../../src/recording/index.js";
import { tempRoot } from "./helpers.js";

/** The PKCS#8 PEM header, built so that no key-shaped text sits in the repository. */
const PEM_BEGIN = `-----BEGIN ${"PRIVATE"} KEY-----`;

const root = tempRoot("recording-signing");
const keyPath = join(root, "audit.key");
generateAuditKey(keyPath);
const key = loadAuditKey(keyPath);
const otherKeyPath = join(root, "other.key");
generateAuditKey(otherKeyPath);
const otherKey = loadAuditKey(otherKeyPath);
const store = createLocalRecordingStore({
  dir: join(root, "recordings"),
  fsyncIntervalMs: 20,
  now: Date.now,
});
let counter = 0;

function isAuditKeyError(pattern: RegExp) {
  return (error: unknown) =>
    error instanceof RecordingError &&
    error.code === "ERR_AUDIT_KEY" &&
    pattern.test(error.message) &&
    !error.message.includes("\n") &&
    !error.message.includes("PRIVATE KEY");
}

describe("the audit key file", () => {
  test("is a PKCS#8 PEM Ed25519 key readable only by its owner", () => {
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    assert.match(readFileSync(keyPath, "utf8"), new RegExp(`^${PEM_BEGIN}\n`));
    assert.match(key.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
  });

  test("is never overwritten", () => {
    const before = readFileSync(keyPath);
    assert.throws(() => generateAuditKey(keyPath), isAuditKeyError(/already exists/));
    assert.deepEqual(readFileSync(keyPath), before);
  });

  test("signatures verify with the same key only, and only for the same message", () => {
    const message = Buffer.from("message");
    const signature = key.sign(message);
    assert.equal(key.verify(message, signature), true);
    assert.equal(key.verify(Buffer.from("messagf"), signature), false);
    assert.equal(otherKey.verify(message, signature), false);
    assert.equal(key.verify(message, "not base64!"), false);
    assert.equal(key.verify(message, ""), false);
  });

  test("a missing, unreadable-by-design, wrong-type or garbled file is refused in one line", () => {
    assert.throws(() => loadAuditKey(join(root, "absent.key")), isAuditKeyError(/does not exist/));
    const loose = join(root, "loose.key");
    writeFileSync(loose, readFileSync(keyPath));
    chmodSync(loose, 0o640);
    assert.throws(() => loadAuditKey(loose), isAuditKeyError(/group or others/));
    const rsa = join(root, "rsa.key");
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(rsa, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    assert.throws(() => loadAuditKey(rsa), isAuditKeyError(/not an Ed25519 key/));
    const garbled = join(root, "garbled.key");
    writeFileSync(garbled, `${PEM_BEGIN}\nnope\n${PEM_BEGIN.replace("BEGIN", "END")}\n`, {
      mode: 0o600,
    });
    assert.throws(() => loadAuditKey(garbled), isAuditKeyError(/not a PEM private key/));
  });
});

test("the signed message binds the recording id, digest and size", () => {
  const base = recordingSignedMessage("id-1", "ab".repeat(32), 100);
  for (const other of [
    recordingSignedMessage("id-2", "ab".repeat(32), 100),
    recordingSignedMessage("id-1", "ac".repeat(32), 100),
    recordingSignedMessage("id-1", "ab".repeat(32), 101),
  ])
    assert.notDeepEqual(other, base);
});

describe("checkRecordingFile", () => {
  /** A closed recording signed with `signer`, as the index would hold it. */
  async function signedRecording(signer: AuditKey = key): Promise<Required<ExpectedRecording>> {
    const id = `20261122T031600Z-${(counter++).toString().padStart(10, "0")}`;
    const recording = store.create(id, {
      width: 80,
      height: 24,
      title: "verify",
      startedAt: new Date("2026-11-22T03:16:00Z"),
    });
    recording.output(Buffer.from("uid=0(root) gid=0(root)\r\n"));
    recording.marker("allow: id");
    const { relativePath, sha256, bytes } = await recording.close();
    const signature = signer.sign(recordingSignedMessage(id, sha256, bytes));
    return { id, relativePath, sha256, bytes, signature };
  }

  const pathOf = (expected: ExpectedRecording) => store.absolutePath(expected.relativePath);

  test("ok for an untouched signed recording", async () => {
    assert.deepEqual(await checkRecordingFile(store, await signedRecording(), key), {
      status: "ok",
    });
  });

  test("changed when one byte is flipped", async () => {
    const expected = await signedRecording();
    const content = readFileSync(pathOf(expected));
    const index = content.indexOf("root");
    content[index] = (content[index] ?? 0) ^ 0x20;
    writeFileSync(pathOf(expected), content);
    const check = await checkRecordingFile(store, expected, key);
    assert.equal(check.status, "changed");
    assert.match(
      "detail" in check ? check.detail : "",
      /^sha256 [0-9a-f]{64}, [0-9a-f]{64} was signed$/,
    );
  });

  test("changed when bytes are appended", async () => {
    const expected = await signedRecording();
    appendFileSync(pathOf(expected), '[9.0, "o", "forged"]\n');
    assert.equal((await checkRecordingFile(store, expected, key)).status, "changed");
  });

  test("truncated when the file is shorter than signed", async () => {
    const expected = await signedRecording();
    truncateSync(pathOf(expected), expected.bytes - 10);
    assert.deepEqual(await checkRecordingFile(store, expected, key), {
      status: "truncated",
      detail: `${expected.bytes - 10} bytes, ${expected.bytes} were signed`,
    });
  });

  test("missing when the file was deleted", async () => {
    const expected = await signedRecording();
    rmSync(pathOf(expected));
    assert.deepEqual(await checkRecordingFile(store, expected, key), {
      status: "missing",
      detail: `no file at ${expected.relativePath}`,
    });
  });

  test("unsigned when the index has no signature (or no digest)", async () => {
    const { signature: _signature, ...withoutSignature } = await signedRecording();
    assert.equal((await checkRecordingFile(store, withoutSignature, key)).status, "unsigned");
    const { sha256: _sha256, ...withoutDigest } = await signedRecording();
    assert.equal((await checkRecordingFile(store, withoutDigest, key)).status, "unsigned");
  });

  test("bad-signature for another key, an edited index row, or a row pointed at another file", async () => {
    const byOtherKey = await signedRecording(otherKey);
    assert.equal((await checkRecordingFile(store, byOtherKey, key)).status, "bad-signature");

    const expected = await signedRecording();
    appendFileSync(pathOf(expected), "\n");
    const edited = { ...expected, bytes: expected.bytes + 1 };
    assert.equal((await checkRecordingFile(store, edited, key)).status, "bad-signature");

    const first = await signedRecording();
    const second = await signedRecording();
    const swapped = { ...second, relativePath: first.relativePath };
    assert.deepEqual(await checkRecordingFile(store, swapped, key), {
      status: "bad-signature",
      detail: `file name does not match id ${second.id}`,
    });
  });
});
