// Session recordings and the audit index as a running bastion uses them:
// every channel's recording is registered in the index when it opens and,
// when it closes, its SHA-256 and the bastion's Ed25519 signature go in too;
// at start-up, recordings and sessions a crash left open are closed and
// marked `interrupted`; every audit event also goes to the index.

import type { AuditLog } from "../audit/log.js";
import {
  type AuditKey,
  type CastHeader,
  type ClosedRecording,
  type RecordingStore,
  recordingSignedMessage,
  type SessionRecording,
} from "../recording/index.js";
import type { SessionRecordings } from "../ssh/context.js";
import type { AuditIndex } from "../store/index.js";
import { errorMessage } from "../util/errors.js";

export interface RecordingsSetup {
  store: RecordingStore;
  index: AuditIndex;
  key: AuditKey;
  required: boolean;
  recordInput: boolean;
  now: () => Date;
}

export interface ServedRecordings extends SessionRecordings {
  /** For shutdown, once the sessions have ended: closes the recordings still open; resolves when all are signed and indexed. */
  drain(): Promise<void>;
}

export function createSessionRecordings(setup: RecordingsSetup): ServedRecordings {
  const open = new Set<SessionRecording>();
  return {
    required: setup.required,
    recordInput: setup.recordInput,
    open: (id, sessionId, header) => {
      const recording = openIndexed(setup, id, sessionId, header, () => open.delete(recording));
      open.add(recording);
      return recording;
    },
    drain: async () => {
      await Promise.all([...open].map((recording) => recording.close()));
    },
  };
}

function openIndexed(
  setup: RecordingsSetup,
  id: string,
  sessionId: string,
  header: CastHeader,
  indexed: () => void,
): SessionRecording {
  const recording = setup.store.create(id, header);
  setup.index.recordingOpened({
    id,
    session: sessionId,
    relativePath: recording.relativePath,
    startedAt: header.startedAt,
    width: header.width,
    height: header.height,
    title: header.title,
  });
  let failed = false;
  recording.onFailure(() => {
    failed = true;
  });
  let closing: Promise<ClosedRecording> | undefined;
  const close = () => {
    closing ??= recording.close().then((closed) => {
      registerClosed(setup, id, closed, failed ? "failed" : "closed");
      indexed();
      return closed;
    });
    return closing;
  };
  return {
    relativePath: recording.relativePath,
    output: (data) => recording.output(data),
    input: (data) => recording.input(data),
    resize: (cols, rows) => recording.resize(cols, rows),
    marker: (label) => recording.marker(label),
    onFailure: (listener) => recording.onFailure(listener),
    get backlog() {
      return recording.backlog;
    },
    whenBelow: (bytes) => recording.whenBelow(bytes),
    close,
  };
}

function registerClosed(
  setup: RecordingsSetup,
  id: string,
  closed: ClosedRecording,
  status: "closed" | "interrupted" | "failed",
): void {
  setup.index.recordingClosed(id, {
    endedAt: setup.now(),
    sha256: closed.sha256,
    bytes: closed.bytes,
    signature: setup.key.sign(recordingSignedMessage(id, closed.sha256, closed.bytes)),
    status,
  });
}

/**
 * After a crash: closes the recordings left open (valid up to their last
 * flush), signs them as `interrupted`, and ends the sessions left open.
 */
export async function recoverInterrupted(setup: RecordingsSetup, audit: AuditLog): Promise<void> {
  const open = setup.index.openRecordings();
  try {
    const closed = await setup.store.closeInterrupted(open.map((row) => row.relativePath));
    for (const row of open) {
      const done = closed.find((item) => item.relativePath === row.relativePath);
      if (done) registerClosed(setup, row.id, done, "interrupted");
    }
  } catch (error) {
    audit.error("cannot close interrupted recordings", { reason: errorMessage(error) });
  }
  const sessions = setup.index.markInterrupted(setup.now());
  if (open.length > 0 || sessions.length > 0) {
    audit.info("closed what a previous run left open", {
      recordings: open.length,
      sessions: sessions.length,
    });
  }
  setup.index.flush();
}

/** The audit log, with every event also indexed. */
export function indexedAuditLog(log: AuditLog, index: AuditIndex, now: () => Date): AuditLog {
  return {
    info: (message, fields) => log.info(message, fields),
    error: (message, fields) => log.error(message, fields),
    emit: (event, fields = {}) => {
      log.emit(event, fields);
      index.record({ event, time: now(), fields });
    },
    flush: () => {
      log.flush();
      index.flush();
    },
  };
}
