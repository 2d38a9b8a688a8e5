// Which session a viewer may open: the one lookup the session page, the cast
// route and the API share. A session that does not exist and one the viewer
// may not see get the same 404, so nobody learns which ids exist.

import type { FastifyRequest } from "fastify";
import type {
  CommandRow,
  RecordingRow,
  SessionSummary,
  SignalRow,
  TransferRow,
} from "../store/index.js";
import type { ViewerDependencies } from "./context.js";
import { requireViewer } from "./guard.js";
import { notFound } from "./refusal.js";
import { canSeeSession, type Viewer } from "./roles.js";

export interface VisibleSession {
  readonly viewer: Viewer;
  readonly session: SessionSummary;
  readonly commands: readonly CommandRow[];
  readonly transfers: readonly TransferRow[];
  /** For auditors' eyes: the pages and the API show them to auditors only. */
  readonly signals: readonly SignalRow[];
}

/** Session ids are short printable tokens; anything else cannot exist. */
const SESSION_ID = /^[A-Za-z0-9_.-]{1,128}$/;

export function visibleSession(
  deps: ViewerDependencies,
  request: FastifyRequest,
  id: string,
): VisibleSession {
  const viewer = requireViewer(request);
  const found = SESSION_ID.test(id) ? deps.index.getSession(id) : undefined;
  if (found === undefined || !canSeeSession(viewer, found.session.user)) throw notFound();
  return { viewer, ...found };
}

/** The session's recording with this id (404 when it is another session's or absent). */
export function recordingOf(session: SessionSummary, recordingId: string): RecordingRow {
  const recording = session.recordings.find((row) => row.id === recordingId);
  if (recording === undefined) throw notFound();
  return recording;
}
