// Shared by the signals end-to-end tests (test/signals/e2e-*.test.ts): users
// with certificates, ssh execs through a test bastion and the session each
// one ran in, several exec channels over one SSH connection (OpenSSH
// multiplexing, so behaviour over a session can be scripted), the `signal`
// events of a session, and a synthetic history written into an audit index
// the bastion is then started on (`databaseAt`).

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { openAuditIndex } from "../../src/store/index.js";
import { type CommandResult, run, type TestBastion, type UserKey } from "../harness/bastion.js";

export const SSH = "/usr/bin/ssh";
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export type AuditEvent = Record<string, unknown>;

/** A certificate holder: the user name the audit shows and the key to connect with. */
export interface TestUser extends UserKey {
  user: string;
}

export async function signUser(
  bastion: TestBastion,
  user: string,
  groups: string[],
): Promise<TestUser> {
  return { user, ...(await bastion.issueUser(user, groups)) };
}

/** The session's `signal` events, oldest first. */
export function signalsOf(bastion: TestBastion, session: string): AuditEvent[] {
  return bastion.auditEvents().filter((e) => e.event === "signal" && e.session === session);
}

/** The session's signals of one source, as `rule +score` sorted (for set comparisons). */
export function ruleScores(signals: readonly AuditEvent[], source: string): string[] {
  return signals
    .filter((e) => e.source === source)
    .map((e) => `${String(e.rule)} +${String(e.score)}`)
    .sort();
}

/** The session of the newest `command` event of `user` for exactly `line`. */
export async function sessionOfLine(
  bastion: TestBastion,
  user: string,
  line: string,
): Promise<string> {
  const matches = (e: AuditEvent) => e.event === "command" && e.user === user && e.line === line;
  await bastion.waitForAudit(matches);
  return String(bastion.auditEvents().filter(matches).at(-1)?.session);
}

/** Waits for the session's end (every signal of it is audited by then). */
export function sessionEnd(bastion: TestBastion, session: string): Promise<AuditEvent> {
  return bastion.waitForAudit((e) => e.event === "session.end" && e.session === session);
}

/**
 * Runs `line` as an ssh exec through the bastion. An exec's line signals are
 * audited before its channel ends, so they are all in the log on return.
 */
export async function execLine(
  bastion: TestBastion,
  who: TestUser,
  line: string,
  target = "web1",
): Promise<CommandResult & { session: string }> {
  const result = await run(SSH, bastion.sshArgs(who, target, line));
  return { ...result, session: await sessionOfLine(bastion, who.user, line) };
}

/** One SSH connection to a target; every exec goes over it, so they share one session. */
export interface MuxConnection {
  exec(line: string): Promise<CommandResult>;
  /** An exec left running (e.g. waiting for an approval). */
  spawnExec(line: string): ChildProcess;
  close(): Promise<void>;
}

export async function openMux(
  bastion: TestBastion,
  who: TestUser,
  target = "web1",
): Promise<MuxConnection> {
  const socket = join(bastion.dir, `mux-${randomBytes(4).toString("hex")}`);
  const master = spawn(SSH, ["-M", "-S", socket, "-N", ...bastion.sshArgs(who, target)], {
    stdio: "ignore",
  });
  const exited = new Promise<void>((resolve) => master.once("exit", () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (master.exitCode !== null || Date.now() > deadline)
      throw new Error("the multiplexing ssh master did not start");
    await sleep(25);
  }
  const args = (line: string) => ["-S", socket, ...bastion.sshArgs(who, target, line)];
  return {
    exec: (line) => run(SSH, args(line)),
    spawnExec: (line) => spawn(SSH, args(line)),
    close: async () => {
      if (master.exitCode === null) master.kill("SIGTERM");
      await exited;
    },
  };
}

/** A past session for a user's history in the index. */
export interface PastSession {
  user: string;
  target: string;
  sourceIp: string;
  startedAt: Date;
  /** Bytes downloaded over sftp in it. */
  bytesDown?: number;
}

/**
 * Records past sessions into the audit index at `path` as the bastion
 * records real ones: auth.success, session.start, file.transfer,
 * session.end, with past times. Call it before the bastion opens the file.
 */
export function writeHistory(path: string, sessions: readonly PastSession[]): void {
  const index = openAuditIndex({ path });
  sessions.forEach((past, n) => {
    const session = `history-${n}`;
    const at = (offsetMs: number) => new Date(past.startedAt.getTime() + offsetMs);
    const fields = { session, source_ip: past.sourceIp, user: past.user };
    const connected = { ...fields, target: past.target, login: "root" };
    index.record({
      event: "auth.success",
      time: at(0),
      fields: { ...fields, ssh_user: past.target, groups: ["history"] },
    });
    index.record({ event: "session.start", time: at(1000), fields: connected });
    if (past.bytesDown !== undefined) {
      index.record({
        event: "file.transfer",
        time: at(30_000),
        fields: {
          ...connected,
          direction: "download",
          path: `/srv/report-${n}.csv`,
          bytes: past.bytesDown,
          bytes_read: past.bytesDown,
          bytes_written: 0,
          result: "ok",
        },
      });
    }
    const end = { ...connected, reason: "client closed the connection", duration_ms: 60_000 };
    index.record({ event: "session.end", time: at(61_000), fields: end });
  });
  index.flush();
  index.close();
}

/** A `configEdit` that puts the audit index at `path` (e.g. one `writeHistory` filled). */
export function databaseAt(path: string) {
  return (yaml: string): string => {
    const edited = yaml.replace(/^ {2}path: data\/portcullis\.db$/m, `  path: ${path}`);
    if (edited === yaml) throw new Error("portcullis.yaml has no database.path to replace");
    return edited;
  };
}
