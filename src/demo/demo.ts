// `portcullis demo`: a complete bastion on loopback in a throwaway directory
// — a generated CA and vault, a built-in demo target (a real shell through
// node-pty), a certificate for a demo user, and the exact ssh command to run.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signUserKeyFile } from "../ca/authority.js";
import { loadConfig } from "../config/index.js";
import { type StartedServer, startServer } from "../serve/start.js";
import { initSetup } from "../setup/init.js";
import { generateKeyPair } from "../ssh/keygen.js";
import { PortcullisError } from "../util/errors.js";
import { openVault, resolveMasterKey } from "../vault/index.js";
import { startDemoTarget } from "./target.js";

export const DEMO_USER = "demo@example.com";
export const DEMO_TARGET = "demo";
const LISTEN_HOST = "127.0.0.1";

export interface RunningDemo {
  dir: string;
  port: number;
  /** The ssh command that logs the demo user in through the bastion. */
  sshCommand: string[];
  auditFile: string;
  close(): Promise<void>;
}

export async function startDemo(preferredPort: number): Promise<RunningDemo> {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-demo-"));
  try {
    return await assembleDemo(dir, preferredPort);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function assembleDemo(dir: string, preferredPort: number): Promise<RunningDemo> {
  const init = initSetup(dir, {
    sshListen: `${LISTEN_HOST}:${preferredPort}`,
    examplePolicies: false,
  });
  const loaded = loadConfig(init.configPath);
  const vault = openVault(
    loaded.config.vault.path,
    resolveMasterKey({ masterKeyFile: loaded.config.vault.master_key_file, env: {} }),
  );
  const credentialPublicKey = vault.generate("demo-target", "ed25519");
  const home = join(dir, "home");
  mkdirSync(home, { mode: 0o700 });
  const target = await startDemoTarget({
    hostKey: generateKeyPair("ed25519", "demo target").privateKey,
    authorizedKey: credentialPublicKey,
    home,
  });
  writeFileSync(
    join(loaded.config.policy.dir, "demo.yaml"),
    demoPolicy(target.port, target.hostKeyLine),
  );

  let server: StartedServer;
  try {
    server = await startServer(loaded, { listen: { host: LISTEN_HOST, port: preferredPort } });
  } catch (error) {
    if (!(error instanceof PortcullisError && error.code === "ERR_LISTEN" && preferredPort !== 0))
      throw error;
    server = await startServer(loaded, { listen: { host: LISTEN_HOST, port: 0 } });
  }
  const sshCommand = writeUserCredentials(dir, init.hostKeyPath, server.ssh.port, init.configPath);
  return {
    dir,
    port: server.ssh.port,
    sshCommand,
    auditFile: loaded.config.logging.audit_file ?? "stdout",
    close: async () => {
      await server.close("the demo is shutting down");
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function writeUserCredentials(
  dir: string,
  hostKeyPath: string,
  port: number,
  configPath: string,
): string[] {
  const userDir = join(dir, "user");
  mkdirSync(userDir, { mode: 0o700 });
  const keyPath = join(userDir, "id_ed25519");
  const pair = generateKeyPair("ed25519", DEMO_USER);
  writeFileSync(keyPath, pair.privateKey, { mode: 0o600 });
  writeFileSync(`${keyPath}.pub`, `${pair.publicKey}\n`);
  const loaded = loadConfig(configPath);
  signUserKeyFile({
    caKeyPath: loaded.config.ca.user_key,
    publicKeyPath: `${keyPath}.pub`,
    user: DEMO_USER,
    groups: ["demo"],
    ttlMs: loaded.config.ca.default_ttl,
    now: new Date(),
  });
  const knownHosts = join(userDir, "known_hosts");
  const hostPublicKey = readPublicKey(`${hostKeyPath}.pub`);
  writeFileSync(knownHosts, `[${LISTEN_HOST}]:${port} ${hostPublicKey}\n`);
  return [
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
  ];
}

/** "type base64" of a public key file, without its comment. */
function readPublicKey(path: string): string {
  return readFileSync(path, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

function demoPolicy(port: number, hostKeyLine: string): string {
  return `# Written by portcullis demo.
targets:
  ${DEMO_TARGET}:
    address: "${LISTEN_HOST}:${port}"
    logins: [demo]
    credential: demo-target
    host_key: "${hostKeyLine}"
    labels: { env: demo }
access:
  - name: demo-users
    subjects: { groups: [demo] }
    targets: { names: [${DEMO_TARGET}] }
    session: allow
    max_session: 8h
    commands: [demo]
rulesets:
  demo:
    default: allow
    rules:
      - deny: ["rm -r /", "rm -R /", "rm --recursive /"]
        reason: recursive delete of /
      - deny: ["shutdown", "reboot", "halt", "poweroff"]
        reason: stopping the machine
      - warn: "sudo"
        reason: privileged command
`;
}
