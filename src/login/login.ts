// `portcullis login` from start to finish: choose the server, read its
// discovery document, sign in at its identity provider (device flow or
// browser), exchange the ID token and the user's key for a certificate,
// check it, then install it: certificate beside the key, ssh config and
// known_hosts, ssh-agent. Everything fallible runs before the first file
// is replaced.

import { type AgentResult, loadIntoAgent, removeFromAgent } from "./agent.js";
import { type BastionTrust, bastionTrust } from "./bastion-trust.js";
import { browserSignIn } from "./browser-flow.js";
import { acceptCertificate, type CertificateSummary, summarise } from "./certificate.js";
import { checkCertificateClock, checkClock } from "./clock.js";
import { deviceFlowSignIn } from "./device-flow.js";
import { writeFileAtomic } from "./files.js";
import { discoverIdentityProvider } from "./identity-provider.js";
import { type BastionPaths, bastionPaths, type LoginPaths, loginPaths } from "./paths.js";
import { chooseServer, readLoginState, rememberServer } from "./remembered.js";
import { fetchDiscovery, requestCertificate, type ServerDiscovery } from "./server-api.js";
import type { SignInUi } from "./sign-in-ui.js";
import { hostBlock, installSshConfig } from "./ssh-config.js";
import { checkedUrl } from "./url-policy.js";
import { ensureUserKey } from "./user-key.js";

export interface LoginOptions {
  /** `--server`. */
  readonly server?: string;
  /** `$PORTCULLIS_SERVER`. */
  readonly serverFromEnvironment?: string;
  readonly flow: "device" | "browser";
  /** False with `--no-config`: no ssh config, no known_hosts, no Include line. */
  readonly writeSshConfig: boolean;
  readonly home: string;
  readonly xdgConfigHome?: string;
  /** `$SSH_AUTH_SOCK`; absent: no agent. */
  readonly agentSocket?: string;
  /** Comment of a newly generated key. */
  readonly keyComment: string;
  readonly ui: SignInUi;
  readonly now: () => Date;
}

export interface LoginResult {
  readonly server: string;
  readonly sshHost: string;
  readonly sshPort: number;
  readonly certificate: CertificateSummary;
  readonly files: BastionPaths;
  readonly paths: LoginPaths;
  readonly keyGenerated: boolean;
  readonly trust: BastionTrust;
  /** The bastion's ssh config block (written, or to print with `--no-config`). */
  readonly hostBlock: string;
  readonly agent?: AgentResult;
}

export async function login(options: LoginOptions): Promise<LoginResult> {
  const paths = loginPaths(options.home, options.xdgConfigHome);
  const state = readLoginState(paths.stateFile);
  const server = chooseServer(options.server, options.serverFromEnvironment, state);
  checkedUrl(server, "the server");
  const { discovery, serverDate } = await fetchDiscovery(server);
  if (serverDate !== undefined) checkClock(serverDate, options.now(), "the bastion's");
  const files = bastionPaths(paths, discovery.ssh.host);
  const issued = await certify(server, discovery, files, options);
  const trust = bastionTrust(discovery);
  const { host, port } = discovery.ssh;
  const block = hostBlock({ server, host, port, files });

  if (options.agentSocket) await removeFromAgent(files.privateKey, options.agentSocket);
  writeFileAtomic(files.certificate, issued.certificateLine, 0o644);
  if (options.writeSshConfig) {
    installSshConfig(paths, files, { block, knownHosts: trust.knownHosts });
  }
  rememberServer(paths.stateFile, server, { host, port });
  const agent = await loadAgent(files, issued.summary, options);
  return {
    server,
    sshHost: host,
    sshPort: port,
    certificate: issued.summary,
    files,
    paths,
    keyGenerated: issued.keyGenerated,
    trust,
    hostBlock: block,
    ...(agent === undefined ? {} : { agent }),
  };
}

interface Certified {
  /** The `-cert.pub` file's contents. */
  readonly certificateLine: string;
  readonly summary: CertificateSummary;
  readonly keyGenerated: boolean;
}

/** Signs in, then exchanges the ID token and the user's key for a checked certificate. */
async function certify(
  server: string,
  discovery: ServerDiscovery,
  files: BastionPaths,
  options: LoginOptions,
): Promise<Certified> {
  const idp = await discoverIdentityProvider(discovery.issuer, discovery.client_id);
  const signIn = options.flow === "browser" ? browserSignIn : deviceFlowSignIn;
  const token = await signIn(idp, options.ui, options.now);
  const key = ensureUserKey(files, options.keyComment);
  const response = await requestCertificate(server, token, key.publicKeyLine);
  const certificate = acceptCertificate(
    response.certificate,
    key.publicKeyLine,
    discovery.user_ca_public_keys,
  );
  const summary = summarise(certificate);
  checkCertificateClock(summary.validAfter, summary.validBefore, options.now());
  return {
    certificateLine: `${certificate.toLine(summary.keyId)}\n`,
    summary,
    keyGenerated: key.generated,
  };
}

/** Loads key and certificate into the agent for the certificate's remaining lifetime. */
function loadAgent(
  files: BastionPaths,
  summary: CertificateSummary,
  options: LoginOptions,
): Promise<AgentResult> | undefined {
  if (!options.agentSocket) return undefined;
  const lifetimeSeconds = (summary.validBefore.getTime() - options.now().getTime()) / 1000;
  return loadIntoAgent(files.privateKey, lifetimeSeconds, options.agentSocket);
}
