// SSH "signal" channel requests pass through the bastion to the target (the
// OpenSSH client never sends them, so an ssh2 client with the user's
// certificate does). OpenSSH's sshd delivers them only to non-root sessions
// ("session signalling requires privilege separation" for root, which CI
// logs in as), so the proof is either the exit signal or sshd's log line
// showing that it received the request.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type ssh2 from "ssh2";
import { startTestBastion, type TestBastion } from "../harness/bastion.js";
import {
  certificateIdentity,
  connectWithAgent,
  ed25519Signer,
  SigningAgent,
} from "../harness/certs.js";

interface ChannelEnd {
  output: string;
  exit: unknown[];
}

/** Starts `command`, sends `signal` once `ready` is printed, resolves with what came back. */
function execAndSignal(client: ssh2.Client, command: string, signal: string): Promise<ChannelEnd> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) return reject(error);
      let output = "";
      let exit: unknown[] = [];
      channel.on("data", (data: Buffer) => {
        output += data.toString();
        if (output.includes("ready")) channel.signal(signal);
      });
      channel.on("exit", (...args: unknown[]) => {
        exit = args;
      });
      channel.on("close", () => resolve({ output, exit }));
    });
  });
}

describe("signals through the bastion", { timeout: 60_000 }, () => {
  let bastion: TestBastion;
  let client: ssh2.Client;

  before(async () => {
    bastion = await startTestBastion();
    const alice = await bastion.issueUser("alice@example.com", ["ops"]);
    const hostKeyBase64 = readFileSync(bastion.knownHostsPath, "utf8").trim().split(/\s+/)[2] ?? "";
    client = await connectWithAgent({
      port: bastion.port,
      username: "web1",
      hostKeyBase64,
      agent: new SigningAgent(
        certificateIdentity(alice.certPath, alice.publicPath),
        ed25519Signer(alice.privatePath),
      ),
    });
  });
  after(async () => {
    client?.end();
    await bastion?.stop();
  });

  it("passes a signal request on to the target", async () => {
    const ended = await execAndSignal(client, "echo ready; exec sleep 3", "TERM");
    assert.match(ended.output, /ready/);
    const sshdLog = readFileSync(bastion.sshd.logPath, "utf8");
    const delivered = ended.exit[0] === null && ended.exit[1] === "TERM";
    const receivedButRefusedForRoot =
      /session_signal_req: session signalling requires privilege separation/.test(sshdLog);
    assert.ok(
      delivered || receivedButRefusedForRoot,
      `signal lost: exit ${JSON.stringify(ended.exit)}`,
    );
  });
});
