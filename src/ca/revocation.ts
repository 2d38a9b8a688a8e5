// The certificate revocation list: a text file of `serial:N` / `key-id:ID`
// lines (`#` starts a comment line). `revoke()` appends one entry;
// `RevocationList` holds the parsed list and reloads it when the file changes
// (fs.watch on the directory, plus a stat poll as a fallback). A bad file at
// startup throws; a bad file on reload keeps the last good list and emits
// "reloadFailed" (fail closed would lock everyone out on a typo; the entries
// already loaded stay revoked either way).

import { EventEmitter } from "node:events";
import {
  closeSync,
  type FSWatcher,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  watch,
  writeSync,
} from "node:fs";
import { basename, dirname } from "node:path";
import { errorMessage, PortcullisError } from "../util/errors.js";

export const REVOCATION_ERROR = "ERR_REVOCATION";
const MAX_SERIAL = 0xffff_ffff_ffff_ffffn;
const DEFAULT_POLL_INTERVAL_MS = 1000;

export type RevocationEntry =
  | { readonly kind: "serial"; readonly serial: bigint }
  | { readonly kind: "key-id"; readonly keyId: string };

export interface RevocationSet {
  readonly serials: ReadonlySet<bigint>;
  readonly keyIds: ReadonlySet<string>;
}

function revocationError(message: string): PortcullisError {
  return new PortcullisError(REVOCATION_ERROR, message);
}

function parseSerial(digits: string): bigint | undefined {
  if (!/^\d{1,20}$/.test(digits)) return undefined;
  const serial = BigInt(digits);
  return serial <= MAX_SERIAL ? serial : undefined;
}

/** Parses one `serial:N` or `key-id:ID` entry; undefined when it is neither. */
export function parseRevocationEntry(text: string): RevocationEntry | undefined {
  const line = text.trim();
  if (line.startsWith("serial:")) {
    const serial = parseSerial(line.slice("serial:".length).trim());
    return serial === undefined ? undefined : { kind: "serial", serial };
  }
  if (line.startsWith("key-id:")) {
    const keyId = line.slice("key-id:".length).trim();
    return keyId === "" || /\p{Cc}/u.test(keyId) ? undefined : { kind: "key-id", keyId };
  }
  return undefined;
}

export function formatRevocationEntry(entry: RevocationEntry): string {
  return entry.kind === "serial" ? `serial:${entry.serial}` : `key-id:${entry.keyId}`;
}

/** Parses the whole file; throws ERR_REVOCATION naming the first bad line. */
export function parseRevocationList(text: string, source: string): RevocationSet {
  const serials = new Set<bigint>();
  const keyIds = new Set<string>();
  for (const [index, line] of text.split("\n").entries()) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const entry = parseRevocationEntry(trimmed);
    if (entry === undefined) {
      throw revocationError(`${source}:${index + 1}: expected "serial:NUMBER" or "key-id:ID"`);
    }
    if (entry.kind === "serial") serials.add(entry.serial);
    else keyIds.add(entry.keyId);
  }
  return { serials, keyIds };
}

/** A command-line value: a decimal number is a serial, anything else a key id. */
export function revocationEntryFor(value: string): RevocationEntry {
  const trimmed = value.trim();
  const explicit = parseRevocationEntry(trimmed);
  if (explicit !== undefined) return explicit;
  const entry = /^\d+$/.test(trimmed)
    ? parseRevocationEntry(`serial:${trimmed}`)
    : parseRevocationEntry(`key-id:${trimmed}`);
  if (entry === undefined) {
    throw revocationError("expected a certificate serial (0…2^64−1) or a key id on one line");
  }
  return entry;
}

function endsWithNewline(fd: number): boolean {
  const size = fstatSync(fd).size;
  if (size === 0) return true;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] === 0x0a;
}

/**
 * Appends an entry to the revocation file with one O_APPEND write (creating
 * the file with mode 0600 and its directory), then fsyncs. Returns the entry.
 */
export function revoke(file: string, value: string): RevocationEntry {
  const entry = revocationEntryFor(value);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, "a+", 0o600);
  try {
    const prefix = endsWithNewline(fd) ? "" : "\n";
    writeSync(fd, `${prefix}${formatRevocationEntry(entry)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return entry;
}

/** Reads and parses the file; a missing file is an empty list. */
function loadRevocationFile(path: string): RevocationSet {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { serials: new Set(), keyIds: new Set() };
    throw revocationError(`cannot read revocation list ${path}: ${code ?? errorMessage(error)}`);
  }
  return parseRevocationList(text, path);
}

/** Identity of the file's current version, to notice changes without reading it. */
function fileVersion(path: string): string {
  try {
    const stat = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (stat === undefined) return "missing";
    return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  } catch (error) {
    return `unreadable:${errorMessage(error)}`;
  }
}

export interface RevocationListEvents {
  /** The file was (re)loaded successfully. */
  reloaded: [list: RevocationList];
  /** A reload failed; the previous list stays in force. */
  reloadFailed: [error: PortcullisError];
}

export interface RevocationListOptions {
  /** Stat poll interval, the fallback when fs.watch misses a change (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** Called after each successful reload with the number of entries (same as the "reloaded" event). */
  readonly onReload?: (entries: number) => void;
  /** Called when a reload fails (same as the "reloadFailed" event). */
  readonly onError?: (error: PortcullisError) => void;
}

export class RevocationList extends EventEmitter<RevocationListEvents> {
  readonly path: string;
  #entries: RevocationSet;
  #version: string;
  #watcher: FSWatcher | undefined;
  readonly #poll: NodeJS.Timeout;

  /**
   * Loads the list (throws ERR_REVOCATION if it is unreadable or corrupt) and
   * starts watching. The watcher and poll keep the process alive: call close().
   */
  constructor(path: string, options: RevocationListOptions = {}) {
    super();
    this.path = path;
    this.#version = fileVersion(path);
    this.#entries = loadRevocationFile(path);
    const { onReload, onError } = options;
    if (onReload !== undefined) this.on("reloaded", (list) => onReload(list.size));
    if (onError !== undefined) this.on("reloadFailed", onError);
    this.#watcher = this.#watchDirectory();
    this.#poll = setInterval(
      () => this.#reloadIfChanged(),
      options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    );
  }

  get size(): number {
    return this.#entries.serials.size + this.#entries.keyIds.size;
  }

  isRevoked(serial: bigint, keyId: string): boolean {
    return this.#entries.serials.has(serial) || this.#entries.keyIds.has(keyId);
  }

  /** Re-reads the file now. On failure keeps the previous list, emits "reloadFailed", returns false. */
  reload(): boolean {
    const version = fileVersion(this.path);
    try {
      this.#entries = loadRevocationFile(this.path);
    } catch (error) {
      this.#version = version;
      const failure =
        error instanceof PortcullisError ? error : revocationError(errorMessage(error));
      this.emit("reloadFailed", failure);
      return false;
    }
    this.#version = version;
    this.emit("reloaded", this);
    return true;
  }

  close(): void {
    clearInterval(this.#poll);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #reloadIfChanged(): void {
    if (fileVersion(this.path) !== this.#version) this.reload();
  }

  /** Watches the directory (editors and atomic renames replace the file). */
  #watchDirectory(): FSWatcher | undefined {
    const name = basename(this.path);
    try {
      const watcher = watch(dirname(this.path), (_event, changed) => {
        if (changed === null || changed === name) this.#reloadIfChanged();
      });
      watcher.on("error", () => {
        watcher.close();
        this.#watcher = undefined;
      });
      return watcher;
    } catch {
      return undefined;
    }
  }
}
