// Per-session file transfer totals in the audit index (migration 8,
// src/store/derive.ts): every file.transfer event that opened a file counts
// as a file with its bytes down and up; a refused open counts nothing.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  authSuccess,
  connection,
  event,
  openFresh,
  recordAll,
  sessionEnd,
  sessionStart,
} from "../store/helpers.js";

test("file.transfer events add up to the session's files, bytes down and bytes up", () => {
  const { index } = openFresh();
  const c = connection();
  const transfer = (offsetMs: number, fields: Record<string, unknown>) =>
    event(c, "file.transfer", offsetMs, { bytes_read: 0, bytes_written: 0, ...fields });
  recordAll(index, [
    authSuccess(c),
    sessionStart(c),
    transfer(100, { direction: "download", bytes_read: 5000, result: "ok" }),
    transfer(200, { direction: "upload", bytes_written: 700, result: "ok" }),
    transfer(300, { direction: "download", bytes_read: 64, result: "limited" }),
    transfer(400, { direction: "download", result: "denied" }),
    event(c, "file.op", 500, { op: "remove", path: "/tmp/x", result: "ok" }),
    sessionEnd(c, 600),
  ]);
  const session = index.getSession(c.session)?.session;
  assert.ok(session);
  assert.deepEqual([session.files, session.bytesDown, session.bytesUp], [3, 5064, 700]);
  assert.equal(session.commands, 0);
  index.close();
});
