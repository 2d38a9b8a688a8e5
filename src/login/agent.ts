// Loading the key and its new certificate into a running ssh-agent
// (`SSH_AUTH_SOCK`), with a lifetime equal to the certificate's remaining
// validity (`ssh-add -t`); the previous certificate is removed first
// (while its file is still in place, since ssh-add finds it by file). An
// agent that refuses is reported, never fatal: the files are in place.

import { execFile } from "node:child_process";
import { printable } from "./messages.js";

const SSH_ADD_TIMEOUT_MS = 10_000;

export type AgentResult =
  | { readonly loaded: true; readonly lifetimeSeconds: number }
  | { readonly loaded: false; readonly reason: string };

function sshAdd(args: readonly string[], socket: string): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(
      "ssh-add",
      args,
      { env: { ...process.env, SSH_AUTH_SOCK: socket }, timeout: SSH_ADD_TIMEOUT_MS },
      (error, stdout, stderr) =>
        resolve({ ok: error === null, output: `${stderr}${stdout}`.trim() }),
    );
  });
}

/** Removes the key and the certificate now beside it from the agent (absent is fine). */
export async function removeFromAgent(privateKeyPath: string, socket: string): Promise<void> {
  await sshAdd(["-d", privateKeyPath], socket);
}

/** Adds the key and the certificate beside it to the agent at `socket`. */
export async function loadIntoAgent(
  privateKeyPath: string,
  lifetimeSeconds: number,
  socket: string,
): Promise<AgentResult> {
  const seconds = Math.max(1, Math.floor(lifetimeSeconds));
  // ssh-add loads KEY-cert.pub along with KEY.
  const added = await sshAdd(["-t", String(seconds), privateKeyPath], socket);
  if (added.ok) return { loaded: true, lifetimeSeconds: seconds };
  const reason = printable(added.output.split("\n")[0] || "ssh-add failed");
  return { loaded: false, reason };
}
