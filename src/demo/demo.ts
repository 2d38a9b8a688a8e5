// `portcullis demo`: a complete bastion on loopback in a throwaway directory
// — an embedded OIDC issuer with the demo users (src/idp), a generated CA,
// host CA and vault, the HTTP login server, a built-in demo target (a real
// shell through node-pty) and a policy for the demo groups. Also writes a
// ready-made certificate for the operator, for a try without signing in.

import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signUserKeyFile } from "../ca/authority.js";
import { hostCaKnownHostsLine } from "../ca/host-ca.js";
import { type LoadedConfig, loadConfig } from "../config/index.js";
import { type DemoIdentityProvider, startDemoIdentityProvider } from "../idp/index.js";
import { type StartedServer, startServer } from "../serve/start.js";
import { EXAMPLE_POLICY_DIR, initSetup } from "../setup/init.js";
import { generateKeyPair } from "../ssh/keygen.js";
import { PortcullisError } from "../util/errors.js";
import { openVault, resolveMasterKey } from "../vault/index.js";
import { demoPolicy } from "./policy.js";
import { type DemoTarget, startDemoTarget } from "./target.js";
import { type DemoAccount, demoAccounts, identityProviderUsers } from "./users.js";

export const DEMO_TARGET = "demo";
/** The OIDC client id of `portcullis login` (also the audience of its ID tokens). */
export const DEMO_CLIENT_ID = "portcullis";
const DEMO_LOGIN = "demo";
const DEMO_CREDENTIAL = "demo-target";
/** The shipped signal pack (policies/signals.yaml). */
const SIGNAL_PACK = "signals.yaml";
const LISTEN_HOST = "127.0.0.1";
/** Seconds between device-flow polls the issuer announces: snappier than the usual 5. */
const DEVICE_INTERVAL_SECONDS = 2;

/** Preferred ports (0 = any free one); a busy port falls back to a free one. */
export interface DemoPorts {
  readonly ssh: number;
  readonly http: number;
}

export interface ReadyCertificate {
  readonly account: DemoAccount;
  /** The ssh command that uses it, with its own known_hosts file. */
  readonly sshCommand: string[];
}

export interface RunningDemo {
  readonly dir: string;
  readonly configPath: string;
  /** The bastion's address, for ssh and for the login server. */
  readonly host: string;
  readonly sshPort: number;
  /** `http://host:port` of the login server (`/.well-known/portcullis`, `/v1/certs`). */
  readonly loginServer: string;
  /** The embedded OIDC issuer. */
  readonly issuer: string;
  readonly target: string;
  readonly accounts: readonly DemoAccount[];
  readonly readyCertificate: ReadyCertificate;
  readonly auditFile: string;
  close(): Promise<void>;
}

type Closer = () => Promise<void>;

export async function startDemo(ports: DemoPorts): Promise<RunningDemo> {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-demo-"));
  const closers: Closer[] = [];
  const closeAll = async () => {
    for (const close of [...closers].reverse()) await close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    return { ...(await assembleDemo(dir, ports, closers)), close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function assembleDemo(
  dir: string,
  ports: DemoPorts,
  closers: Closer[],
): Promise<Omit<RunningDemo, "close">> {
  const accounts = demoAccounts();
  const idp = await startIdentityProvider(accounts);
  closers.push(() => idp.close());
  const init = initSetup(dir, {
    sshListen: `${LISTEN_HOST}:${ports.ssh}`,
    examplePolicies: false,
    hostNames: [LISTEN_HOST, "localhost"],
  });
  appendFileSync(init.configPath, loginConfig(idp.issuer, ports.http));
  const loaded = loadConfig(init.configPath);
  const target = await startTarget(dir, loaded);
  closers.push(() => target.close());
  const server = await startOnFreePorts(loaded, ports);
  closers.push(() => server.close("the demo is shutting down"));
  const { http } = server;
  if (http === undefined) {
    throw new PortcullisError("ERR_DEMO", "the demo's login server did not start");
  }
  const operator = accounts[0] as DemoAccount;
  return {
    dir,
    configPath: init.configPath,
    host: LISTEN_HOST,
    sshPort: server.ssh.port,
    loginServer: http.url,
    issuer: idp.issuer,
    target: DEMO_TARGET,
    accounts,
    readyCertificate: writeReadyCertificate(dir, loaded, operator, server.ssh.port),
    auditFile: loaded.config.logging.audit_file ?? "stdout",
  };
}

function startIdentityProvider(accounts: readonly DemoAccount[]): Promise<DemoIdentityProvider> {
  return startDemoIdentityProvider({
    users: identityProviderUsers(accounts),
    clients: [{ clientId: DEMO_CLIENT_ID }],
    deviceIntervalSeconds: DEVICE_INTERVAL_SECONDS,
  });
}

/** The `http`, `oidc` and `viewer` sections: login server and web viewer on loopback, trusting the embedded issuer. */
function loginConfig(issuer: string, httpPort: number): string {
  return `http:
  listen: "${LISTEN_HOST}:${httpPort}"
oidc:
  issuer: "${issuer}"
  client_id: ${DEMO_CLIENT_ID}
  username_claim: email
  groups_claim: groups
  cert_ttl: 8h
viewer:
  auditor_groups: [auditors]
  approver_groups: [approvers]
`;
}

/** The demo target with a vault credential of its own, and the policy that names it. */
async function startTarget(dir: string, loaded: LoadedConfig): Promise<DemoTarget> {
  const { vault: vaultConfig, policy } = loaded.config;
  const vault = openVault(
    vaultConfig.path,
    resolveMasterKey({ masterKeyFile: vaultConfig.master_key_file, env: {} }),
  );
  const home = join(dir, "home");
  mkdirSync(home, { mode: 0o700 });
  const target = await startDemoTarget({
    hostKey: generateKeyPair("ed25519", "demo target").privateKey,
    authorizedKey: vault.generate(DEMO_CREDENTIAL, "ed25519"),
    home,
  });
  // The maintained signal pack, as `init` installs it (docs/signals.md).
  cpSync(join(EXAMPLE_POLICY_DIR, SIGNAL_PACK), join(policy.dir, SIGNAL_PACK));
  writeFileSync(
    join(policy.dir, "demo.yaml"),
    demoPolicy({
      name: DEMO_TARGET,
      address: `${LISTEN_HOST}:${target.port}`,
      login: DEMO_LOGIN,
      credential: DEMO_CREDENTIAL,
      hostKeyLine: target.hostKeyLine,
    }),
  );
  return target;
}

/** Starts the bastion; a preferred port that cannot be listened on is replaced by a free one. */
async function startOnFreePorts(
  loaded: LoadedConfig,
  preferred: DemoPorts,
): Promise<StartedServer> {
  let ports = preferred;
  for (;;) {
    try {
      return await startServer(withHttpPort(loaded, ports.http), {
        listen: { host: LISTEN_HOST, port: ports.ssh },
      });
    } catch (error) {
      const next = portsAfterListenFailure(error, ports);
      if (next === undefined) throw error;
      ports = next;
    }
  }
}

function portsAfterListenFailure(error: unknown, ports: DemoPorts): DemoPorts | undefined {
  if (error instanceof PortcullisError && error.code === "ERR_LISTEN" && ports.ssh !== 0) {
    return { ...ports, ssh: 0 };
  }
  const syscall = (error as NodeJS.ErrnoException | undefined)?.syscall;
  if (syscall === "listen" && ports.http !== 0) return { ...ports, http: 0 };
  return undefined;
}

function withHttpPort(loaded: LoadedConfig, port: number): LoadedConfig {
  const { http } = loaded.config;
  if (http === undefined) return loaded;
  return {
    ...loaded,
    config: { ...loaded.config, http: { ...http, listen: { ...http.listen, port } } },
  };
}

/** A key and certificate for `account` and a known_hosts file with the host CA line. */
function writeReadyCertificate(
  dir: string,
  loaded: LoadedConfig,
  account: DemoAccount,
  port: number,
): ReadyCertificate {
  const userDir = join(dir, "user");
  mkdirSync(userDir, { mode: 0o700 });
  const keyPath = join(userDir, "id_ed25519");
  const pair = generateKeyPair("ed25519", account.email);
  writeFileSync(keyPath, pair.privateKey, { mode: 0o600 });
  writeFileSync(`${keyPath}.pub`, `${pair.publicKey}\n`);
  signUserKeyFile({
    caKeyPath: loaded.config.ca.user_key,
    publicKeyPath: `${keyPath}.pub`,
    user: account.email,
    groups: [account.group],
    ttlMs: loaded.config.ca.default_ttl,
    now: new Date(),
  });
  const knownHosts = join(userDir, "known_hosts");
  writeFileSync(knownHosts, `${hostCaKnownHostsLine(loaded.config) ?? ""}\n`);
  return {
    account,
    sshCommand: [
      "ssh",
      "-i",
      keyPath,
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      `UserKnownHostsFile=${knownHosts}`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-p",
      String(port),
      `${DEMO_TARGET}@${LISTEN_HOST}`,
    ],
  };
}
