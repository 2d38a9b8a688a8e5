// File transfer policy (SPEC §5.3 `file_transfer`, `files`): what one SFTP
// operation on one path gets under an access entry. Pure. Paths are resolved
// against the session's home (the target's realpath of "."), then normalized
// lexically like command arguments (src/policy/glob.ts); rule globs use the
// same glob rules. Allow rules draw the visible tree: with at least one, a
// path outside every allow rule is refused, except that directories on the
// way to an allowed path may be listed and stat'ed. Deny rules carve
// contents and changes out of it, whatever their order: a denied file can be
// seen (so the client reports "Permission denied" when it opens it) but not
// opened, changed, renamed or linked to. docs/file-transfer.md has the table.

import { compileGlob, normalizePath, type WordMatcher } from "./glob.js";
import type { AccessEntry, FileTransferMode } from "./types.js";

/**
 * What an SFTP request does, as the policy sees it:
 * - `realpath`: canonicalizes a name (no content, no rule check);
 * - `inspect`: stat, lstat, opendir/readdir, readlink;
 * - `read` / `write` / `readwrite`: opening a file for its contents;
 * - `modify`: remove, rename, mkdir, rmdir, setstat, symlink (each path concerned).
 */
export type FileAccess = "realpath" | "inspect" | "read" | "write" | "readwrite" | "modify";

export type FileVerdict =
  | { readonly decision: "allow" }
  | { readonly decision: "deny"; readonly reason: string; readonly rule?: string };

export interface FilePolicy {
  readonly mode: FileTransferMode;
  /** Bytes a session may download in all (absent: no limit). */
  readonly maxDownload?: number;
  /** The home directory relative paths and relative rule globs are resolved against. */
  readonly home: string;
  /** `path` as the target will see it: absolute and normalized. */
  resolve(path: string): string;
  /** `path` must be resolved already. */
  decide(access: FileAccess, path: string): FileVerdict;
  /** Whether a directory listing shows this (resolved) path. */
  visible(path: string): boolean;
}

const ALLOW: FileVerdict = { decision: "allow" };
const APPROVAL_NEEDED = "file transfer needs approval";

/**
 * Why the entry refuses file transfer altogether; undefined when some
 * transfer is allowed. `approve` refuses until the connection's transfers
 * are approved (src/ssh/transfer-approval.ts), which then decides them
 * under `approvedTransfers(entry)`.
 */
export function fileTransferRefusal(entry: AccessEntry | undefined): string | undefined {
  if (entry === undefined) return "no access entry allows this session";
  if (entry.file_transfer === "deny") return `file transfer is denied (access ${entry.name})`;
  if (entry.file_transfer === "approve") return `${APPROVAL_NEEDED} (access ${entry.name})`;
  return undefined;
}

/** The entry as transfers see it once approved: `approve` counts as `allow` (path rules and `max_download` still apply). */
export function approvedTransfers(entry: AccessEntry): AccessEntry {
  return entry.file_transfer === "approve" ? { ...entry, file_transfer: "allow" } : entry;
}

/** Which accesses each mode allows; `deny` and `approve` allow none (the subsystem is refused). */
const MODE_ALLOWS: Readonly<Record<FileTransferMode, ReadonlySet<FileAccess>>> = {
  allow: new Set(["realpath", "inspect", "read", "write", "readwrite", "modify"]),
  readonly: new Set(["realpath", "inspect", "read"]),
  writeonly: new Set(["realpath", "inspect", "write", "modify"]),
  deny: new Set(),
  approve: new Set(),
};

const MODE_REFUSAL: Readonly<Record<FileTransferMode, string>> = {
  allow: "",
  readonly: "file transfer is read-only: uploads and changes are refused",
  writeonly: "file transfer is write-only: reading file contents is refused",
  deny: "file transfer is denied",
  approve: APPROVAL_NEEDED,
};

/** Why `mode` refuses `access`; undefined when it allows it (the path rules still apply). */
export function modeRefusal(mode: FileTransferMode, access: FileAccess): string | undefined {
  return MODE_ALLOWS[mode].has(access) ? undefined : MODE_REFUSAL[mode];
}

interface CompiledRule {
  readonly id: string;
  readonly matcher: WordMatcher;
  /** The directory the glob's literal start names ("" when the glob starts with a wildcard). */
  readonly base: string;
}

/** Joins a relative `path` to `home` and normalizes; "" and "." are the home itself. */
export function resolvePath(path: string, home: string): string {
  const absolute = path.startsWith("/") ? path : `${home}/${path}`;
  return normalizePath(absolute);
}

/**
 * A rule glob as an absolute pattern: absolute globs as written, globs
 * starting with a wildcard (`*.pem`) against the whole path, `~/x` and any
 * other relative glob under the home directory.
 */
export function absoluteGlob(glob: string, home: string): string {
  if (glob.startsWith("/") || /^[*?[]/.test(glob)) return normalizePath(glob);
  if (glob === "~") return home;
  return resolvePath(glob.startsWith("~/") ? glob.slice(2) : glob, home);
}

/** The directory named by the glob's literal start: `/var/log/**` → `/var/log`. */
export function literalBase(glob: string): string {
  const wildcard = glob.search(/[*?[\\]/);
  if (wildcard < 0) return glob;
  const prefix = glob.slice(0, wildcard);
  return prefix.slice(0, Math.max(0, prefix.lastIndexOf("/")));
}

function compileRules(entry: AccessEntry, action: "allow" | "deny", home: string) {
  return entry.files.flatMap((rule, index): CompiledRule[] => {
    if (rule.action !== action) return [];
    const glob = absoluteGlob(rule.glob, home);
    return [{ id: `files#${index + 1}`, matcher: compileGlob(glob), base: literalBase(glob) }];
  });
}

/** `a` and `b` lie on one branch of the tree: one is the other or a directory above it. */
function onOneBranch(a: string, b: string): boolean {
  const within = (inner: string, outer: string) =>
    outer === "/" || inner === outer || inner.startsWith(`${outer}/`);
  return within(a, b) || within(b, a);
}

/** The file policy of an access entry for a session whose home directory is `home`. */
export function compileFilePolicy(entry: AccessEntry, home: string): FilePolicy {
  const normalHome = resolvePath(home, "/");
  const denies = compileRules(entry, "deny", normalHome);
  const allows = compileRules(entry, "allow", normalHome);
  const mode = entry.file_transfer;
  const deniedBy = (path: string) => denies.find((rule) => rule.matcher.test(path));
  const allowed = (path: string) =>
    allows.length === 0 || allows.some((rule) => rule.matcher.test(path));
  /** On the way to, or below the literal start of, an allow rule's glob. */
  const navigable = (path: string) =>
    allows.some((rule) => rule.base === "" || onOneBranch(path, rule.base));

  const outside = (path: string): FileVerdict => ({
    decision: "deny",
    reason: `${path} is not in an allowed path`,
    rule: "files",
  });
  const pathVerdict = (access: FileAccess, path: string): FileVerdict => {
    if (access === "realpath") return ALLOW;
    if (access === "inspect") return allowed(path) || navigable(path) ? ALLOW : outside(path);
    const denial = deniedBy(path);
    if (denial) return { decision: "deny", reason: `${path} is denied`, rule: denial.id };
    return allowed(path) ? ALLOW : outside(path);
  };

  return {
    mode,
    ...(entry.max_download === undefined ? {} : { maxDownload: entry.max_download }),
    home: normalHome,
    resolve: (path) => resolvePath(path, normalHome),
    decide: (access, path) => {
      const refusal = modeRefusal(mode, access);
      return refusal === undefined
        ? pathVerdict(access, path)
        : { decision: "deny", reason: refusal };
    },
    visible: (path) => pathVerdict("inspect", path).decision === "allow",
  };
}

/** The access an SFTP open asks for, from its pflags (SSH_FXF_READ = 1; WRITE, APPEND, CREAT, TRUNC write). */
export function openAccess(pflags: number): "read" | "write" | "readwrite" {
  const READ = 0x1;
  const WRITING = 0x2 | 0x4 | 0x8 | 0x10;
  const writes = (pflags & WRITING) !== 0;
  if (!writes) return "read";
  return (pflags & READ) !== 0 ? "readwrite" : "write";
}
