// `portcullis login --status`: who the current certificate says you are
// (key id, groups, principals), how long it stays valid, which server and
// files; valid or not decides the exit status. Offline: reads only the
// remembered server and the certificate file; `now` is passed in.

import { type CertificateSummary, readCertificateFile, summarise } from "./certificate.js";
import { formatDuration } from "./clock.js";
import { bastionPaths, loginPaths } from "./paths.js";
import { chooseServer, readLoginState } from "./remembered.js";

export interface StatusOptions {
  readonly server?: string;
  readonly serverFromEnvironment?: string;
  readonly home: string;
  readonly xdgConfigHome?: string;
  readonly now: Date;
}

/** The status of the certificate for the chosen server (`--server`, env, or the last one). */
export function loginStatus(options: StatusOptions): StatusReport {
  const paths = loginPaths(options.home, options.xdgConfigHome);
  const state = readLoginState(paths.stateFile);
  const server = chooseServer(options.server, options.serverFromEnvironment, state);
  const bastion = state.servers[server];
  if (bastion === undefined) {
    return {
      valid: false,
      lines: [`server:      ${server}`],
      problem: `not logged in to ${server}: run portcullis login`,
    };
  }
  const files = bastionPaths(paths, bastion.host);
  const certificate = readCertificateFile(files.certificate);
  return statusReport({
    server,
    sshHost: bastion.host,
    certificatePath: files.certificate,
    certificate: certificate === undefined ? undefined : summarise(certificate),
    now: options.now,
  });
}

export interface StatusInput {
  readonly server: string;
  readonly sshHost: string;
  readonly certificatePath: string;
  readonly certificate: CertificateSummary | undefined;
  readonly now: Date;
}

export interface StatusReport {
  readonly valid: boolean;
  /** `label: value` lines for stdout. */
  readonly lines: readonly string[];
  /** Why there is no valid certificate (for stderr), when there is none. */
  readonly problem?: string;
}

function validity(certificate: CertificateSummary, now: Date): { valid: boolean; text: string } {
  const until = certificate.validBefore.toISOString();
  if (now < certificate.validAfter) {
    return { valid: false, text: `not yet valid (from ${certificate.validAfter.toISOString()})` };
  }
  if (now >= certificate.validBefore) return { valid: false, text: `expired at ${until}` };
  const left = formatDuration(certificate.validBefore.getTime() - now.getTime());
  return { valid: true, text: `until ${until} (${left} left)` };
}

export function statusReport(input: StatusInput): StatusReport {
  const { certificate } = input;
  const base = [`server:      ${input.server}`, `certificate: ${input.certificatePath}`];
  if (certificate === undefined) {
    return { valid: false, lines: base, problem: "not logged in: run portcullis login" };
  }
  const window = validity(certificate, input.now);
  const lines = [
    `identity:    ${certificate.keyId}`,
    `groups:      ${certificate.groups.length > 0 ? certificate.groups.join(", ") : "(none)"}`,
    `principals:  ${certificate.principals.join(", ")}`,
    `valid:       ${window.text}`,
    ...base,
    `connect:     ssh TARGET@${input.sshHost}`,
  ];
  if (window.valid) return { valid: true, lines };
  return { valid: false, lines, problem: `certificate ${window.text}: run portcullis login` };
}
