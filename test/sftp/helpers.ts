// Shared by the file transfer integration tests: access entries for them, the
// real OpenSSH `sftp -b` and `scp` through a test bastion, random files and
// their digests, and the bastion's file.transfer / file.op audit events.

import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CommandResult,
  isolatedSshOptions,
  run,
  type TestBastion,
  type UserKey,
} from "../harness/bastion.js";

export function clientOptions(bastion: TestBastion, key: UserKey): string[] {
  return [
    ...isolatedSshOptions(key.privatePath, bastion.knownHostsPath),
    "-o",
    "LogLevel=ERROR",
    "-P",
    String(bastion.port),
  ];
}

/** Runs `sftp -b` with the batch `lines` as `target@bastion`. */
export function sftpBatch(
  bastion: TestBastion,
  key: UserKey,
  lines: readonly string[],
  target = "web1",
): Promise<CommandResult> {
  const batch = join(bastion.dir, `batch-${randomBytes(4).toString("hex")}`);
  writeFileSync(batch, `${lines.join("\n")}\n`);
  return run(
    "/usr/bin/sftp",
    [...clientOptions(bastion, key), "-b", batch, `${target}@127.0.0.1`],
    { timeoutMs: 60_000 },
  );
}

/** Runs `scp` (sftp protocol, the default) with `from` and `to`; `remote:` paths go through the bastion. */
export function scp(
  bastion: TestBastion,
  key: UserKey,
  from: string,
  to: string,
): Promise<CommandResult> {
  const remote = (path: string) => path.replace(/^remote:/, "web1@127.0.0.1:");
  return run("/usr/bin/scp", [...clientOptions(bastion, key), remote(from), remote(to)], {
    timeoutMs: 60_000,
  });
}

export function writeRandomFile(path: string, bytes: number): string {
  const data = randomBytes(bytes);
  writeFileSync(path, data);
  return sha256(data);
}

export function sha256File(path: string): string {
  return sha256(readFileSync(path));
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export type AuditEvent = Record<string, unknown>;

export function transfersOf(bastion: TestBastion, path: string): AuditEvent[] {
  return bastion.auditEvents().filter((e) => e.event === "file.transfer" && e.path === path);
}

/** Waits for the file.transfer event of `path` with `direction` and returns it. */
export function waitForTransfer(
  bastion: TestBastion,
  path: string,
  direction: string,
  result = "ok",
): Promise<AuditEvent> {
  return bastion.waitForAudit(
    (e) =>
      e.event === "file.transfer" &&
      e.path === path &&
      e.direction === direction &&
      e.result === result,
  );
}

/** A policy access entry for group `name` on web1 with `settings` (YAML lines, one level in). */
export function fileEntry(name: string, ...settings: string[]): string {
  return [
    `  - name: ${name}`,
    `    subjects: { groups: [${name}] }`,
    "    targets: { names: [web1] }",
    ...settings.map((line) => `    ${line}`),
  ].join("\n");
}
