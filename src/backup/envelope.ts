// The encrypted envelope of a backup file: a versioned header, then the
// archive in chunks, each sealed with AES-256-GCM under one key derived
// from the passphrase with scrypt (the STREAM construction: Hoang, Reyhanitabar,
// Rogaway, Vizár 2015). Memory use is one chunk, whatever the archive's size.
//
//   offset  size  field
//   0       8     magic "PCBACKUP"
//   8       1     format version (2)
//   9       1     scrypt cost: log2(N)
//   10      1     scrypt block size r
//   11      1     scrypt parallelism p
//   12      16    salt
//   28      7     nonce prefix
//   35      …     chunks: 64 KiB of ciphertext + 16-byte GCM tag each; the
//                 last one shorter (0 to 64 KiB of ciphertext) or as long
//
// Chunk i's nonce is the prefix, i as u32 big-endian, then 1 for the last
// chunk and 0 for the others; every chunk has the whole header as GCM
// additional data. So a changed byte (header included), a wrong passphrase,
// chunks swapped, repeated or dropped, and a file cut anywhere (even
// between chunks: what is then the last chunk was not sealed as last) all
// fail to open. Plaintext is handed out only once its chunk's tag checks.

import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { PortcullisError } from "../util/errors.js";
import { backupError, reasonOf } from "./errors.js";

const MAGIC = Buffer.from("PCBACKUP", "latin1");
const FORMAT_VERSION = 2;
const SALT_BYTES = 16;
const NONCE_PREFIX_BYTES = 7;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const HEADER_BYTES = MAGIC.length + 4 + SALT_BYTES + NONCE_PREFIX_BYTES;
/** Plaintext bytes per chunk (the last chunk may hold fewer). */
export const CHUNK_BYTES = 64 * 1024;
/** A whole chunk in the file: ciphertext and tag. */
export const SEALED_CHUNK_BYTES = CHUNK_BYTES + TAG_BYTES;
const MAX_CHUNKS = 2 ** 32;
const KEY_BYTES = 32;
/** 2^17 × 8 × 128 bytes = 128 MiB and about half a second per derivation. */
const DEFAULT_COST = { log2N: 17, r: 8, p: 1 };
/** A file can ask for at most this much work (a crafted header must not exhaust the host). */
const MAX_COST = { log2N: 20, r: 16, p: 4 };

interface ScryptCost {
  log2N: number;
  r: number;
  p: number;
}

/** Where sealed bytes go, in order. */
export type SealedSink = (bytes: Buffer) => void;

/** Seals plaintext written to it, a chunk at a time; `finish` seals the last chunk. */
export class BackupSealer {
  private readonly header: Buffer;
  private readonly key: Buffer;
  private readonly pending = Buffer.alloc(CHUNK_BYTES);
  private filled = 0;
  private counter = 0;

  constructor(
    passphrase: string,
    private readonly out: SealedSink,
  ) {
    const cost = DEFAULT_COST;
    this.header = Buffer.concat([
      MAGIC,
      Buffer.from([FORMAT_VERSION, cost.log2N, cost.r, cost.p]),
      randomBytes(SALT_BYTES),
      randomBytes(NONCE_PREFIX_BYTES),
    ]);
    this.key = deriveKey(passphrase, this.header, cost);
    out(this.header);
  }

  /** Takes a copy of `data`: the caller may reuse its buffer. */
  write(data: Buffer): void {
    let offset = 0;
    while (offset < data.length) {
      // A full chunk is sealed only once more follows: until then it may be the last.
      if (this.filled === CHUNK_BYTES) this.seal(false);
      const copied = data.copy(this.pending, this.filled, offset);
      this.filled += copied;
      offset += copied;
    }
  }

  finish(): void {
    this.seal(true);
  }

  private seal(last: boolean): void {
    if (this.counter >= MAX_CHUNKS) throw backupError("the backup is too large");
    const cipher = createCipheriv(
      "aes-256-gcm",
      this.key,
      chunkNonce(this.header, this.counter, last),
    );
    cipher.setAAD(this.header);
    this.out(cipher.update(this.pending.subarray(0, this.filled)));
    this.out(Buffer.concat([cipher.final(), cipher.getAuthTag()]));
    this.counter += 1;
    this.filled = 0;
  }
}

/** The plaintext of a backup file, read a chunk at a time. */
export interface PlainSource {
  /** Up to `max` (≥ 1) bytes; an empty buffer only at the end, once the last chunk checked. */
  read(max: number): Buffer;
}

/**
 * Runs `use` on the plaintext of `file`; a one-line error when it is not a
 * backup or a chunk does not open. The file is closed afterwards.
 */
export function withOpenBackup<T>(
  file: string,
  passphrase: string,
  use: (source: PlainSource, bytes: number) => T,
): T {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (error) {
    throw backupError(`cannot read ${file}: ${reasonOf(error)}`);
  }
  try {
    const bytes = fstatSync(fd).size;
    return use(new BackupOpener(fd, bytes, passphrase, file), bytes);
  } finally {
    closeSync(fd);
  }
}

class BackupOpener implements PlainSource {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private readonly key: Buffer;
  private readonly chunks: number;
  private readonly sealed = Buffer.alloc(SEALED_CHUNK_BYTES);
  private plain: Buffer = Buffer.alloc(0);
  private counter = 0;

  constructor(
    private readonly fd: number,
    private readonly bytes: number,
    passphrase: string,
    private readonly name: string,
  ) {
    this.readAt(this.header, 0);
    if (bytes < HEADER_BYTES + TAG_BYTES || !this.header.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw backupError(`${name} is not a Portcullis backup`);
    }
    const version = this.header[MAGIC.length];
    if (version !== FORMAT_VERSION) {
      throw backupError(
        `${name}: backup format version ${version} is not supported (expected ${FORMAT_VERSION})`,
      );
    }
    this.chunks = Math.max(1, Math.ceil((bytes - HEADER_BYTES) / SEALED_CHUNK_BYTES));
    if (this.chunks > MAX_CHUNKS) throw unopenable(name);
    this.key = deriveKey(passphrase, this.header, costOf(this.header, name));
  }

  read(max: number): Buffer {
    if (this.plain.length === 0 && this.counter < this.chunks) this.plain = this.openNext();
    const piece = this.plain.subarray(0, max);
    this.plain = this.plain.subarray(piece.length);
    return piece;
  }

  /** The next chunk's plaintext (possibly empty), once its tag checks. */
  private openNext(): Buffer {
    const start = HEADER_BYTES + this.counter * SEALED_CHUNK_BYTES;
    const sealed = this.sealed.subarray(0, Math.min(SEALED_CHUNK_BYTES, this.bytes - start));
    if (sealed.length < TAG_BYTES) throw unopenable(this.name);
    this.readAt(sealed, start);
    const last = this.counter === this.chunks - 1;
    const decipher = createDecipheriv(
      "aes-256-gcm",
      this.key,
      chunkNonce(this.header, this.counter, last),
    );
    decipher.setAAD(this.header);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    this.counter += 1;
    try {
      return Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw unopenable(this.name);
    }
  }

  private readAt(buffer: Buffer, position: number): void {
    let done = 0;
    while (done < buffer.length) {
      const read = readSync(this.fd, buffer, done, buffer.length - done, position + done);
      if (read === 0) break;
      done += read;
    }
  }
}

function unopenable(name: string): PortcullisError {
  return backupError(`cannot open ${name}: wrong passphrase, or the file was changed`);
}

function costOf(header: Buffer, name: string): ScryptCost {
  const [log2N = 0, r = 0, p = 0] = header.subarray(MAGIC.length + 1, MAGIC.length + 4);
  const within = (value: number, max: number) => value >= 1 && value <= max;
  if (!within(log2N, MAX_COST.log2N) || !within(r, MAX_COST.r) || !within(p, MAX_COST.p)) {
    throw unopenable(name);
  }
  return { log2N, r, p };
}

function deriveKey(passphrase: string, header: Buffer, cost: ScryptCost): Buffer {
  const salt = header.subarray(MAGIC.length + 4, MAGIC.length + 4 + SALT_BYTES);
  const N = 2 ** cost.log2N;
  return scryptSync(passphrase.normalize("NFC"), salt, KEY_BYTES, {
    N,
    r: cost.r,
    p: cost.p,
    maxmem: 256 * N * cost.r,
  });
}

/** The nonce prefix, the chunk's counter (u32 BE) and the last-chunk flag. */
function chunkNonce(header: Buffer, counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(NONCE_BYTES);
  header.copy(nonce, 0, HEADER_BYTES - NONCE_PREFIX_BYTES, HEADER_BYTES);
  nonce.writeUInt32BE(counter, NONCE_PREFIX_BYTES);
  nonce[NONCE_BYTES - 1] = last ? 1 : 0;
  return nonce;
}
