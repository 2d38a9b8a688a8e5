// `portcullis targets scan` through the real CLI against a real OpenSSH
// sshd: the host_key line to pin, by HOST:PORT or by a target's name (with a
// verdict on the key pinned today), and one-line errors when nothing usable
// answers.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateTestKey } from "../harness/keys.js";
import { type RunningSshd, startSshd } from "../harness/sshd.js";
import {
  assertFailure,
  type InitializedSetup,
  initSetup,
  keyOf,
  listenOnLoopback,
  makeTempDir,
  removeDir,
} from "./cli.js";

function targetYaml(name: string, address: string, hostKey: string): string {
  return `  ${name}:
    address: "${address}"
    logins: [deploy]
    credential: ${name}-key
    host_key: "${hostKey}"
`;
}

/** Accepts and at once closes every connection. */
const startSilentServer = () => listenOnLoopback((socket) => socket.destroy());

/**
 * Sends an SSH banner and garbage, then resets the connection: the ssh2
 * client emits two errors (bad packet, then ECONNRESET).
 */
const startGarbageServer = () =>
  listenOnLoopback((socket) => {
    socket.write("SSH-2.0-OpenSSH_9.2\r\n");
    socket.write(Buffer.alloc(64, 0xff));
    setTimeout(() => socket.resetAndDestroy(), 20);
  });

/** A port nothing listens on: bound once to find it free, then closed. */
async function closedPort(): Promise<number> {
  const server = await listenOnLoopback();
  await server.close();
  return server.port;
}

describe("portcullis targets scan", () => {
  let dir: string;
  let setup: InitializedSetup;
  let sshd: RunningSshd;
  let address: string;
  let otherKey: string;

  before(async () => {
    dir = makeTempDir("targets");
    setup = await initSetup(dir);
    sshd = await startSshd();
    address = `127.0.0.1:${sshd.port}`;
    otherKey = keyOf(generateTestKey(dir, "ed25519").publicLine);
    writeFileSync(
      join(setup.dir, "policies", "00-targets.yaml"),
      `targets:\n${targetYaml("pinned", address, `${sshd.hostKeyLine} pinned-by-test`)}${targetYaml("stale", address, otherKey)}`,
    );
  });
  after(async () => {
    await sshd?.stop();
    removeDir(dir);
  });

  it("prints the host_key line of HOST:PORT, the key the sshd serves", async () => {
    const result = await setup.cli(["targets", "scan", address]);
    assert.equal(result.stdout, `host_key: "${sshd.hostKeyLine}"\n`);
    assert.equal(result.stderr, "");
    assert.equal(result.code, 0);
  });

  it("asks for the host key algorithm given with --type", async () => {
    const result = await setup.cli(["targets", "scan", address, "--type", "ssh-ed25519"]);
    assert.equal(result.stdout, `host_key: "${sshd.hostKeyLine}"\n`);
    assert.equal(result.code, 0, result.stderr);
  });

  it("fails in one line when the server has no key of the --type asked for", async () => {
    const result = await setup.cli(["targets", "scan", address, "--type", "rsa-sha2-512"]);
    assertFailure(result, { code: 1, stderr: new RegExp(`^portcullis: .*target ${address}`) });
  });

  it("scans a target by name and says the pinned key matches", async () => {
    const result = await setup.cli(["targets", "scan", "pinned"]);
    assert.equal(result.stdout, `host_key: "${sshd.hostKeyLine}"\n`);
    assert.equal(result.stderr, "matches the key pinned for pinned\n");
    assert.equal(result.code, 0);
  });

  it("warns when the key pinned for a target differs from the one presented", async () => {
    const result = await setup.cli(["targets", "scan", "stale"]);
    assert.equal(result.stdout, `host_key: "${sshd.hostKeyLine}"\n`);
    assert.equal(result.stderr, "WARNING: differs from the key pinned for stale\n");
    assert.equal(result.code, 0);
  });

  it("reports a port nobody listens on in one line", async () => {
    const port = await closedPort();
    const result = await setup.cli(["targets", "scan", `127.0.0.1:${port}`]);
    assertFailure(result, {
      code: 1,
      stderr: [`target 127.0.0.1:${port} refused the connection`],
    });
  });

  const notSsh = [
    { behaviour: "closes the connection at once", start: startSilentServer },
    { behaviour: "answers garbage, then resets (two client errors)", start: startGarbageServer },
  ];
  for (const { behaviour, start } of notSsh) {
    it(`reports a server that ${behaviour} in one line, without crashing`, async () => {
      const server = await start();
      const port = server.port;
      try {
        const result = await setup.cli(["targets", "scan", `127.0.0.1:${port}`]);
        assertFailure(result, {
          code: 1,
          stderr: new RegExp(`^portcullis: cannot connect to target 127\\.0\\.0\\.1:${port}: `),
        });
      } finally {
        await server.close();
      }
    });
  }

  it("refuses a name that is neither a target nor HOST[:PORT] as a usage error", async () => {
    const result = await setup.cli(["targets", "scan", "no such:host"]);
    assertFailure(result, {
      code: 2,
      stderr: ['"no such:host" is neither a target in the policy nor HOST[:PORT]'],
    });
  });
});

describe("portcullis targets scan of a target pinned by a key of another type", () => {
  let dir: string;
  let setup: InitializedSetup;
  let sshd: RunningSshd;
  let rsaHostKey: string;

  before(async () => {
    dir = makeTempDir("targets-rsa");
    setup = await initSetup(dir);
    const rsa = generateTestKey(dir, "rsa");
    rsaHostKey = keyOf(rsa.publicLine);
    sshd = await startSshd({ extraConfig: [`HostKey ${rsa.privatePath}`] });
    writeFileSync(
      join(setup.dir, "policies", "00-targets.yaml"),
      `targets:\n${targetYaml("legacy", `127.0.0.1:${sshd.port}`, rsaHostKey)}`,
    );
  });
  after(async () => {
    await sshd?.stop();
    removeDir(dir);
  });

  it("asks for the pinned key's algorithm, so a server with several host keys matches", async () => {
    const result = await setup.cli(["targets", "scan", "legacy"]);
    assert.equal(result.stdout, `host_key: "${rsaHostKey}"\n`);
    assert.equal(result.stderr, "matches the key pinned for legacy\n");
  });
});
