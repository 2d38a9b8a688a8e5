// Public entry point of the recording module: asciicast v2 files per session
// channel, the audit key that signs them, and their verification.
export { createLocalRecordingStore } from "./local-store.js";
export {
  type AuditKey,
  generateAuditKey,
  loadAuditKey,
  recordingSignedMessage,
} from "./signing.js";
export type {
  CastHeader,
  ClosedRecording,
  LocalRecordingStoreOptions,
  RecordingStore,
  RecordingWriteObserver,
  SessionRecording,
} from "./types.js";
export { RecordingError } from "./types.js";
export { checkRecordingFile, type ExpectedRecording, type FileCheck } from "./verify.js";
