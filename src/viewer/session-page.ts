// `GET /sessions/:id`: one session — its metadata, the integrity of its
// recording (the signature check of `recordings verify`), the player (our
// static script starts asciinema-player on the element's data attributes:
// cast URL, terminal size from the recording's header, speed, idle limit)
// and the command list with decisions, rules and reasons, the session's file
// transfers, file operations and tunnels merged into it in time order. Each
// row is a link that seeks the player to it (`?t=` without JavaScript); a
// transfer or tunnel outside the shown recording's time span (another
// channel's, e.g. an sftp channel's own recording) is listed without one.
// Auditors also get the risk score, the session's signals (each seeking the
// player like a command) and the share links section (share-manage.ts).
// `?at=MS` (ms into the session, as the signals page links) opens the
// recording playing then, started there. The replay and command parts are
// exported for the share page (share-page.ts), which plays one recording
// through its own cast route.

import type { FastifyInstance } from "fastify";
import type {
  CommandRow,
  RecordingRow,
  SessionSummary,
  SignalRow,
  TransferRow,
} from "../store/index.js";
import { visibleSession } from "./access.js";
import { castUrl } from "./cast-route.js";
import { riskThreshold, type ViewerDependencies } from "./context.js";
import { offset, risk, score, sessionDuration, utcTime } from "./format.js";
import { type HtmlValue, html, type SafeHtml } from "./html.js";
import { type Integrity, IntegrityChecks } from "./integrity.js";
import { layout } from "./layout.js";
import { riskBadge } from "./list-parts.js";
import { shareSection } from "./share-manage.js";
import { signalReason } from "./signals-page.js";
import { PLAYER_SCRIPT, PLAYER_STYLESHEET, VIEWER_SCRIPT } from "./static-assets.js";

export const SPEEDS = [0.5, 1, 2, 4, 8] as const;
/** Idle time limits in seconds; 0 = play pauses as they were. */
export const IDLE_LIMITS = [0, 1, 2, 5] as const;
const DEFAULT_IDLE = 2;

export interface PlayerOptions {
  readonly speed: number;
  readonly idle: number;
  readonly startAt: number;
}

function choice<T extends number>(value: unknown, allowed: readonly T[], fallback: T): T {
  const number = Number(value);
  return (allowed as readonly number[]).includes(number) ? (number as T) : fallback;
}

export function playerOptions(query: Record<string, unknown>): PlayerOptions {
  const startAt = Number(query.t);
  return {
    speed: choice(query.speed, SPEEDS, 1),
    idle: choice(query.idle, IDLE_LIMITS, DEFAULT_IDLE),
    startAt: Number.isFinite(startAt) && startAt > 0 ? startAt : 0,
  };
}

/** The session's metadata; with `threshold` (auditors) also its signals and risk score. */
export function metadata(session: SessionSummary, threshold?: number): SafeHtml {
  const rows: [string, HtmlValue][] = [
    ["User", session.user ?? "–"],
    ["Groups", session.groups.join(", ") || "–"],
    ["Source address", session.sourceIp ?? "–"],
    ["Target", session.target ?? "–"],
    ["Login", session.login ?? "–"],
    ["Access rule", session.access ?? "–"],
    ["Started", utcTime(session.startedAt)],
    ["Ended", session.endedAt === undefined ? "still running" : utcTime(session.endedAt)],
    ["Duration", sessionDuration(session.startedAt, session.endedAt)],
    ["End reason", session.endReason ?? "–"],
    ["Commands", `${session.commands} (${session.denials} denied)`],
    ["Highest risk", risk(session.maxRisk)],
    ["Secrets masked", String(session.masked)],
    ...(threshold === undefined
      ? []
      : ([
          ["Signals", String(session.signals)],
          ["Risk score", riskBadge(session.riskScore, threshold)],
        ] as [string, HtmlValue][])),
  ];
  return html`<dl class="meta">${rows.map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`)}</dl>`;
}

const INTEGRITY_TEXT: Readonly<Record<Integrity["status"], string>> = {
  ok: "Signature verified: the file is exactly as the bastion signed it.",
  open: "Not signed yet",
  pruned: "Removed",
  missing: "File missing",
  unsigned: "Not signed",
  changed: "Changed since it was signed",
  truncated: "Truncated since it was signed",
  "bad-signature": "Signature does not verify",
};

function integrityNote(integrity: Integrity): SafeHtml {
  const good = integrity.status === "ok";
  const detail = "detail" in integrity ? `: ${integrity.detail}` : "";
  return html`<p class="integrity ${good ? "good" : "bad"}" data-integrity="${integrity.status}">
<strong>${good ? "✔" : "⚠"} ${INTEGRITY_TEXT[integrity.status]}</strong>${good ? "" : detail}</p>`;
}

/** Where a replay lives: the page (its controls submit there) and the cast the player loads. */
export interface ReplayUrls {
  readonly page: string;
  readonly cast: string;
}

function controls(urls: ReplayUrls, recording: RecordingRow, options: PlayerOptions): SafeHtml {
  const select = (name: string, label: string, values: readonly number[], current: number) =>
    html`<div class="field"><label for="p-${name}">${label}</label><select id="p-${name}" name="${name}">${values.map(
      (value) =>
        html`<option value="${value}"${value === current ? html` selected` : ""}>${name === "idle" && value === 0 ? "off" : name === "speed" ? `${value}×` : `${value} s`}</option>`,
    )}</select></div>`;
  return html`<form class="player-controls" method="get" action="${urls.page}">
<input type="hidden" name="recording" value="${recording.id}">
${select("speed", "Speed", SPEEDS, options.speed)}
${select("idle", "Idle time limit", IDLE_LIMITS, options.idle)}
<div class="actions"><button type="submit">Apply</button></div>
</form>`;
}

function player(urls: ReplayUrls, recording: RecordingRow, options: PlayerOptions): SafeHtml {
  return html`<div id="player" class="player" tabindex="-1"
 data-src="${urls.cast}"
 data-cols="${recording.width ?? 80}" data-rows="${recording.height ?? 24}"
 data-speed="${options.speed}" data-idle="${options.idle}" data-start="${options.startAt}"></div>`;
}

function recordingPicker(session: SessionSummary, current: RecordingRow): SafeHtml {
  if (session.recordings.length < 2) return html``;
  return html`<nav class="recordings" aria-label="Recordings"><ul>${session.recordings.map(
    (row, index) =>
      html`<li><a href="?recording=${encodeURIComponent(row.id)}"${row.id === current.id ? html` aria-current="true"` : ""}>Channel ${index + 1} (${utcTime(row.startedAt)})</a></li>`,
  )}</ul></nav>`;
}

/** A row of the command list: a command line, or a transfer or tunnel told as one. */
interface ListEntry {
  readonly time: Date;
  readonly offsetMs: number;
  readonly line: string;
  readonly decision: string;
  readonly rule?: string | undefined;
  readonly reason?: string | undefined;
  readonly risk?: number | undefined;
  readonly transfer?: true;
}

const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB"] as const;

/** `512 B`, `12 kB`, `2.1 MB` (decimal units). */
export function byteSize(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 10 ? Math.round(value) : value.toFixed(1);
  return `${digits} ${BYTE_UNITS[unit]}`;
}

/** `tunnel → db:5432 (12 kB ↑ 3 MB ↓)`: the bytes are its close's (client → target ↑). */
function tunnelLine(open: TransferRow, close: TransferRow | undefined): string {
  const arrow = open.kind === "remote" ? "←" : "→";
  const traffic =
    close?.bytesToTarget === undefined
      ? ""
      : ` (${byteSize(close.bytesToTarget)} ↑ ${byteSize(close.bytesFromTarget ?? 0)} ↓)`;
  return `tunnel ${arrow} ${open.destination ?? "?"}${traffic}`;
}

/** `sftp download /var/log/app.log (2.1 MB)`, `scp upload /srv/a.bin`, `rename /a → /b`. */
function transferLine(row: TransferRow, close: TransferRow | undefined): string {
  if (row.event === "file.transfer") {
    const size = row.bytes ? ` (${byteSize(row.bytes)})` : "";
    return `${row.via ?? "sftp"} ${row.direction ?? "transfer"} ${row.path ?? "?"}${size}`;
  }
  if (row.event === "file.op") {
    return [row.op ?? "operation", row.path, row.to && `→ ${row.to}`].filter(Boolean).join(" ");
  }
  return tunnelLine(row, close);
}

/** A tunnel's decision; a file event's result as one (ok: allow, denied: deny, else as is). */
function transferDecision(row: TransferRow, close: TransferRow | undefined): string {
  if (row.decision !== undefined) return row.decision;
  if ((close ?? row).error !== undefined) return "error";
  if (row.result === undefined || row.result === "ok") return "allow";
  return row.result === "denied" ? "deny" : row.result;
}

function transferEntry(row: TransferRow, close: TransferRow | undefined): ListEntry {
  return {
    time: row.time,
    offsetMs: row.offsetMs,
    line: transferLine(row, close),
    decision: transferDecision(row, close),
    rule: row.rule,
    reason: row.reason ?? close?.error ?? row.error,
    transfer: true,
  };
}

/**
 * Commands and transfers in time order (commands first at the same instant);
 * a tunnel's close is folded into its open's row for the bytes each way.
 */
export function listEntries(
  commands: readonly CommandRow[],
  transfers: readonly TransferRow[],
): ListEntry[] {
  const closes = new Map<string, TransferRow>();
  const opened = new Set<string>();
  for (const row of transfers) {
    if (row.tunnel === undefined) continue;
    if (row.event === "tunnel.close") closes.set(row.tunnel, row);
    else if (row.event === "tunnel.open") opened.add(row.tunnel);
  }
  const shown = transfers
    .filter((row) => row.event !== "tunnel.close" || !opened.has(row.tunnel ?? ""))
    .map((row) =>
      transferEntry(row, row.tunnel === undefined ? undefined : closes.get(row.tunnel)),
    );
  return [...commands, ...shown].sort((a, b) => a.time.getTime() - b.time.getTime());
}

/**
 * Seconds from the recording's start to `time` (where the player seeks);
 * undefined when there is no playable recording, or when `time` is outside
 * it and `within` says it must be inside (a transfer on another channel).
 */
function secondsInto(
  recording: RecordingRow | undefined,
  time: Date,
  within = false,
): number | undefined {
  if (recording === undefined) return undefined;
  const outside =
    time.getTime() < recording.startedAt.getTime() ||
    (recording.endedAt !== undefined && time.getTime() > recording.endedAt.getTime());
  if (within && outside) return undefined;
  return Math.max(0, (time.getTime() - recording.startedAt.getTime()) / 1000);
}

/** `content` as a link that seeks the player to `at` seconds (`?t=` without JavaScript). */
function seekLink(at: number | undefined, base: string, content: SafeHtml): SafeHtml {
  if (at === undefined) return content;
  return html`<a class="seek" href="${base}&t=${at.toFixed(3)}#player" data-at="${at.toFixed(3)}">${content}</a>`;
}

function entryRow(entry: ListEntry, recording: RecordingRow | undefined, base: string): SafeHtml {
  const at = secondsInto(recording, entry.time, entry.transfer);
  return html`<tr class="decision-${entry.decision}${entry.transfer ? " transfer" : ""}">
<td class="num">${offset(entry.offsetMs)}</td>
<td>${seekLink(at, base, html`<code>${entry.line}</code>`)}</td>
<td><span class="badge ${entry.decision}">${entry.decision}</span></td>
<td>${entry.rule ?? "–"}</td>
<td>${entry.reason ?? "–"}</td>
<td class="num">${risk(entry.risk)}</td>
</tr>`;
}

/** The command list: commands, transfers and tunnels, each seeking the player to it. */
export function commandTable(
  entries: readonly ListEntry[],
  recording: RecordingRow | undefined,
  base: string,
): SafeHtml {
  if (entries.length === 0) return html`<p class="empty">No command lines in this session.</p>`;
  return html`<table class="commands">
<caption class="visually-hidden">Command lines, file transfers and tunnels in order; each one seeks the replay</caption>
<thead><tr><th scope="col" class="num">At</th><th scope="col">Command line</th><th scope="col">Decision</th><th scope="col">Rule</th><th scope="col">Reason</th><th scope="col" class="num">Risk</th></tr></thead>
<tbody>${entries.map((entry) => entryRow(entry, recording, base))}</tbody>
</table>`;
}

function signalRow(signal: SignalRow, recording: RecordingRow | undefined, base: string) {
  return html`<tr>
<td class="num">${offset(signal.offsetMs)}</td>
<td>${seekLink(secondsInto(recording, signal.time), base, html`<code>${signal.rule}</code>`)}</td>
<td>${signal.source}</td>
<td class="num">${score(signal.score)}</td>
<td>${signalReason(signal)}</td>
<td>${signal.action ?? "–"}</td>
</tr>`;
}

/** The session's signals in time order, each seeking the player to it. */
export function signalTable(
  signals: readonly SignalRow[],
  recording: RecordingRow | undefined,
  base: string,
): SafeHtml {
  if (signals.length === 0) return html`<p class="empty">No signals in this session.</p>`;
  return html`<table class="signals">
<caption class="visually-hidden">Signals in order; each one seeks the replay</caption>
<thead><tr><th scope="col" class="num">At</th><th scope="col">Rule</th><th scope="col">Source</th><th scope="col" class="num">Score</th><th scope="col">Reason</th><th scope="col">Action</th></tr></thead>
<tbody>${signals.map((signal) => signalRow(signal, recording, base))}</tbody>
</table>`;
}

/** What a replay's lists show: commands, with transfers merged in; signals when given (auditors). */
export interface ReplayLists {
  readonly commands: readonly CommandRow[];
  readonly transfers?: readonly TransferRow[];
  readonly signals?: readonly SignalRow[];
}

export interface Replay {
  /** The integrity note, the controls and the player. */
  readonly replay: SafeHtml;
  /** The command list, each command seeking the player when there is one. */
  readonly commands: SafeHtml;
  /** The signal list (empty when no signals were given), seeking like the commands. */
  readonly signals: SafeHtml;
}

/** The replay and lists of `recording` (undefined: the session has none). */
export async function replayOf(
  integrity: IntegrityChecks,
  recording: RecordingRow | undefined,
  options: PlayerOptions,
  urls: ReplayUrls,
  lists: ReplayLists,
): Promise<Replay> {
  const playable = recording?.prunedAt === undefined ? recording : undefined;
  const base = `?${new URLSearchParams({
    recording: recording?.id ?? "",
    speed: String(options.speed),
    idle: String(options.idle),
  })}`;
  const replay =
    recording === undefined
      ? html`<p class="empty">This session has no recording.</p>`
      : html`${integrityNote(await integrity.check(recording))}
${playable ? [controls(urls, playable, options), player(urls, playable, options)] : ""}`;
  const entries = listEntries(lists.commands, lists.transfers ?? []);
  return {
    replay,
    commands: commandTable(entries, playable, base),
    signals: lists.signals === undefined ? html`` : signalTable(lists.signals, playable, base),
  };
}

/** `?at=MS` (ms into the session): that instant, when it is a number from 0. */
function sessionInstant(session: SessionSummary, value: unknown): Date | undefined {
  const ms = typeof value === "string" && value !== "" ? Number(value) : Number.NaN;
  return Number.isFinite(ms) && ms >= 0 ? new Date(session.startedAt.getTime() + ms) : undefined;
}

/** The recording named by `?recording=`, else the one playing at `instant`, else the first. */
function shownRecording(
  session: SessionSummary,
  query: Record<string, unknown>,
  instant: Date | undefined,
): RecordingRow | undefined {
  const { recordings } = session;
  const named = recordings.find((row) => row.id === query.recording);
  const playing =
    instant === undefined
      ? undefined
      : recordings.find((row) => secondsInto(row, instant, true) !== undefined);
  return named ?? playing ?? recordings[0];
}

/** The player's options, started at `?at=` when it is given without `?t=`. */
function sessionPlayerOptions(
  query: Record<string, unknown>,
  recording: RecordingRow | undefined,
  instant: Date | undefined,
): PlayerOptions {
  const options = playerOptions(query);
  const startAt =
    instant === undefined || query.t !== undefined ? undefined : secondsInto(recording, instant);
  return startAt === undefined ? options : { ...options, startAt };
}

export function registerSessionPage(app: FastifyInstance, deps: ViewerDependencies): void {
  const integrity = new IntegrityChecks(deps.recordings);
  app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>(
    "/sessions/:id",
    async (request, reply) => {
      const { viewer, session, commands, transfers, signals } = visibleSession(
        deps,
        request,
        request.params.id,
      );
      const auditor = viewer.roles.auditor;
      const instant = sessionInstant(session, request.query.at);
      const recording = shownRecording(session, request.query, instant);
      const options = sessionPlayerOptions(request.query, recording, instant);
      const urls = {
        page: `/sessions/${encodeURIComponent(session.id)}`,
        cast: recording === undefined ? "" : castUrl(session.id, recording.id),
      };
      const parts = await replayOf(integrity, recording, options, urls, {
        commands,
        transfers,
        ...(auditor ? { signals } : {}),
      });
      const picker = recording === undefined ? "" : recordingPicker(session, recording);
      const sharing =
        auditor && recording !== undefined ? shareSection(deps, viewer, session.id, recording) : "";
      return reply.type("text/html; charset=utf-8").send(
        layout({
          title: `Session ${session.id}`,
          viewer,
          stylesheets: [PLAYER_STYLESHEET],
          scripts: [PLAYER_SCRIPT, VIEWER_SCRIPT],
          main: html`<p class="crumbs"><a href="/sessions">← Sessions</a></p>
<h1>Session <code>${session.id}</code></h1>
${metadata(session, auditor ? riskThreshold(deps.settings) : undefined)}
<section aria-labelledby="replay-h"><h2 id="replay-h">Replay</h2>
${picker}
${parts.replay}
</section>
<section aria-labelledby="commands-h"><h2 id="commands-h">Commands</h2>
${parts.commands}
</section>
${auditor ? html`<section aria-labelledby="signals-h"><h2 id="signals-h">Signals</h2>\n${parts.signals}\n</section>` : ""}
${sharing}`,
        }),
      );
    },
  );
}
