// `portcullis recordings list|show ID|play ID|verify [ID]`: find sessions in
// the audit index (by user, target, time, decision, text, risk score), print
// one with its commands and signals, replay its recording in the terminal
// (the asciicast as written, at a chosen speed, idle time capped),
// and check that every recording is the file that was signed when it closed
// and that the audit rows' hash chain is intact (exit 1 on any problem).
// Recordings removed by retention are skipped (their rows are marked pruned).

import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { LoadedConfig } from "../../config/index.js";
import {
  checkRecordingFile,
  createLocalRecordingStore,
  loadAuditKey,
} from "../../recording/index.js";
import {
  type AuditIndex,
  type CommandRow,
  openAuditIndex,
  type SessionFilter,
  type SessionSummary,
  type SignalRow,
} from "../../store/index.js";
import { PortcullisError } from "../../util/errors.js";
import { formatScore, withIndex } from "../audit-index-options.js";
import { configFor } from "../config-option.js";
import { instantOption, limitOption, scoreOption } from "../option-parsers.js";

export function registerRecordingsCommands(program: Command): void {
  const recordings = program
    .command("recordings")
    .description("recorded sessions: find, print, replay, verify");
  recordings
    .command("list")
    .description("sessions, newest first")
    .option("--user <user>", "only this user's sessions")
    .option("--target <target>", "only sessions to this target")
    .option("--since <iso8601>", "started at or after", instantOption)
    .option("--until <iso8601>", "started before", instantOption)
    .option("--decision <decision>", "with at least one command of this decision (deny, warn, …)")
    .option("--text <text>", "with a command line containing this text")
    .option("--min-risk <n>", "whose risk score (signals) reached at least this", scoreOption)
    .option("--limit <n>", "at most this many", limitOption, 50)
    .action((options: SessionFilter, command: Command) => {
      withIndex(configFor(command), (index) => {
        for (const session of index.listSessions(options)) {
          process.stdout.write(`${sessionLine(session)}\n`);
        }
      });
    });
  recordings
    .command("show")
    .description("a session's details, its command lines and signals")
    .argument("<id>")
    .action((id: string, _options: unknown, command: Command) => {
      withIndex(configFor(command), (index) => {
        const found = index.getSession(id);
        if (!found) throw new PortcullisError("ERR_NO_SESSION", `no session ${id}`);
        process.stdout.write(`${sessionDetails(found.session)}\n`);
        for (const line of timeline(found.commands, found.signals)) {
          process.stdout.write(`${line}\n`);
        }
      });
    });
  recordings
    .command("play")
    .description("replay a recording in this terminal")
    .argument("<id>", "a session id (its first channel) or a recording id")
    .option("--speed <factor>", "playback speed", Number.parseFloat, 1)
    .option("--idle-limit <seconds>", "cap pauses at this many seconds", Number.parseFloat, 2)
    .action(async (id: string, options: { speed: number; idleLimit: number }, command: Command) => {
      const loaded = configFor(command);
      const path = withIndex(loaded, (index) => recordingPath(loaded, index, id));
      await play(readFileSync(path, "utf8"), options.speed, options.idleLimit);
    });
  recordings
    .command("verify")
    .description("check recordings against their signed digests, and the audit hash chain")
    .argument("[id]", "only this session's recordings")
    .action(async (id: string | undefined, _options: unknown, command: Command) => {
      const loaded = configFor(command);
      const problems = await verify(loaded, id);
      if (problems > 0) {
        process.stderr.write(`${problems} problem(s) found\n`);
        process.exitCode = 1;
      } else {
        process.stdout.write("all recordings and audit rows verified\n");
      }
    });
}

function sessionLine(session: SessionSummary): string {
  const duration =
    session.endedAt === undefined
      ? "open"
      : `${Math.round((session.endedAt.getTime() - session.startedAt.getTime()) / 1000)}s`;
  return [
    session.id,
    session.startedAt.toISOString(),
    duration.padStart(6),
    session.user ?? "-",
    `${session.login ?? "-"}@${session.target ?? "-"}`,
    `commands=${session.commands}`,
    `denied=${session.denials}`,
    `risk=${session.maxRisk}`,
    `score=${formatScore(session.riskScore)}`,
    `masked=${session.masked}`,
  ].join("  ");
}

function sessionDetails(session: SessionSummary): string {
  const fields: Array<[string, string | undefined]> = [
    ["session", session.id],
    ["user", session.user],
    ["groups", session.groups.join(", ")],
    ["source", session.sourceIp],
    ["target", session.target],
    ["login", session.login],
    ["access", session.access],
    ["started", session.startedAt.toISOString()],
    ["ended", session.endedAt?.toISOString()],
    ["end reason", session.endReason],
    ["risk", session.commands > 0 ? `${session.maxRisk} (highest command risk)` : undefined],
    ["score", session.signals > 0 ? riskScore(session) : undefined],
    ["masked", session.masked > 0 ? `${session.masked} secrets in the output` : undefined],
    ["files", session.files > 0 ? fileTotals(session) : undefined],
    ...session.recordings.map((row): [string, string] => [
      "recording",
      `${row.relativePath} (${row.status}${row.prunedAt ? `, pruned ${row.prunedAt.toISOString()}` : ""})`,
    ]),
  ];
  return fields
    .filter(([, value]) => value !== undefined && value !== "")
    .map(([name, value]) => `${`${name}:`.padEnd(12)}${value}`)
    .join("\n");
}

function riskScore(session: SessionSummary): string {
  return `${formatScore(session.riskScore)} (peak of ${session.signals} signal${session.signals === 1 ? "" : "s"}, decayed)`;
}

/** Command lines and signals, by offset: "  12.3s  deny    LINE (RULE)", "  12.3s  signal  RULE +S score=N: REASON". */
function timeline(commands: readonly CommandRow[], signals: readonly SignalRow[]): string[] {
  const offset = (ms: number) => `${(ms / 1000).toFixed(1).padStart(8)}s`;
  const rows = [
    ...commands.map((row) => ({
      at: row.offsetMs,
      text: `${offset(row.offsetMs)}  ${row.decision.padEnd(7)} ${row.line}${row.rule ? ` (${row.rule})` : ""}`,
    })),
    ...signals.map((row) => ({
      at: row.offsetMs,
      text: `${offset(row.offsetMs)}  ${"signal".padEnd(7)} ${row.rule} +${formatScore(row.score)} score=${formatScore(row.sessionScore)}: ${row.reason}`,
    })),
  ];
  // Stable: at the same offset, the command comes before the signal it raised.
  return rows.sort((a, b) => a.at - b.at).map((row) => row.text);
}

function fileTotals(session: SessionSummary): string {
  return `${session.files} over sftp, ${session.bytesDown} bytes down, ${session.bytesUp} bytes up`;
}

function recordingPath(loaded: LoadedConfig, index: AuditIndex, id: string): string {
  const session = id.includes(".") ? id.slice(0, id.indexOf(".")) : id;
  const row = index.recordings(session).find((candidate) => candidate.id === id);
  if (!row) throw new PortcullisError("ERR_NO_RECORDING", `no recording ${id}`);
  if (row.prunedAt)
    throw new PortcullisError(
      "ERR_RECORDING_PRUNED",
      `recording ${id} was removed by retention on ${row.prunedAt.toISOString()}`,
    );
  return storeFor(loaded).absolutePath(row.relativePath);
}

function storeFor(loaded: LoadedConfig) {
  const { recordings } = loaded.config;
  return createLocalRecordingStore({
    dir: recordings.dir,
    fsyncIntervalMs: recordings.fsync_interval_ms,
    now: () => Date.now(),
  });
}

/** Writes the `o` events with their timing (scaled by `speed`, pauses capped at `idleLimit`). */
async function play(cast: string, speed: number, idleLimit: number): Promise<void> {
  let previous = 0;
  for (const line of cast.split("\n").slice(1)) {
    if (line.trim() === "") continue;
    const [time, kind, data] = JSON.parse(line) as [number, string, string];
    const pause = Math.min(time - previous, idleLimit) / speed;
    previous = time;
    if (kind !== "o") continue;
    if (pause > 0) await new Promise((wake) => setTimeout(wake, pause * 1000));
    process.stdout.write(data);
  }
}

async function verify(loaded: LoadedConfig, id: string | undefined): Promise<number> {
  const store = storeFor(loaded);
  const key = loadAuditKey(loaded.config.recordings.signing_key);
  const index = openAuditIndex({ path: loaded.config.database.path });
  try {
    const rows = index.recordings(id);
    const progress = process.stderr.isTTY && rows.length > 20;
    let problems = 0;
    for (const [position, row] of rows.entries()) {
      if (progress) process.stderr.write(`\rverifying ${position + 1}/${rows.length}`);
      if (row.status === "open") continue; // a live session: nothing signed yet
      if (row.prunedAt !== undefined) continue; // removed by retention, audited as recording.pruned
      const check = await checkRecordingFile(
        store,
        {
          id: row.id,
          relativePath: row.relativePath,
          ...(row.sha256 ? { sha256: row.sha256 } : {}),
          ...(row.bytes !== undefined ? { bytes: row.bytes } : {}),
          ...(row.signature ? { signature: row.signature } : {}),
        },
        key,
      );
      if (check.status !== "ok") {
        problems += 1;
        process.stdout.write(`${row.id}: ${check.status}: ${check.detail}\n`);
      }
    }
    if (progress) process.stderr.write("\n");
    for (const problem of index.verifyChain()) {
      problems += 1;
      process.stdout.write(`audit row ${problem.row}: ${problem.problem}: ${problem.detail}\n`);
    }
    return problems;
  } finally {
    index.close();
  }
}
