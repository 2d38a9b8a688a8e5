// Public API of the SFTP mediation module: the per-channel mediator, the
// per-session transfer totals and the protocol shapes src/ssh adapts to.
export { SessionTransfers } from "./handles.js";
export {
  type FileOperationReport,
  type FileTransferReport,
  MAX_READ_BYTES,
  SftpMediator,
  type SftpReport,
} from "./mediator.js";
export { type SftpReplies, type SftpUpstream, STATUS } from "./protocol.js";
