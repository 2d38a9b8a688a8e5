// The recording writer's disk activity as metrics: bytes written, and the
// duration of each write and fdatasync. Called once per write of a fill
// buffer (not per event), with the label children bound up front.

import type { RecordingWriteObserver } from "../recording/index.js";
import type { BastionMetrics } from "./registry.js";

export function recordingWriteMetrics(metrics: BastionMetrics): RecordingWriteObserver {
  const writes = metrics.recordingSeconds.labels("write");
  const syncs = metrics.recordingSeconds.labels("fdatasync");
  return {
    written: (bytes, seconds) => {
      metrics.recordingBytes.inc(bytes);
      writes.observe(seconds);
    },
    synced: (seconds) => syncs.observe(seconds),
  };
}
