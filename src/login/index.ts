// Public API of the `portcullis login` client.
export type { AgentResult } from "./agent.js";
export type { CertificateSummary } from "./certificate.js";
export { formatDuration } from "./clock.js";
export { type LoginOptions, type LoginResult, login } from "./login.js";
export { type SignInUi, terminalUi } from "./sign-in-ui.js";
export { loginStatus, type StatusOptions, type StatusReport } from "./status.js";
