// The server `portcullis login` used last (and the SSH host each server
// advertised), kept in ~/.config/portcullis/login.json so that the next
// `login` and `login --status` need no --server.

import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { PortcullisError } from "../util/errors.js";
import { ensurePrivateDir, writeFileAtomic } from "./files.js";

const BastionSchema = z.object({ host: z.string(), port: z.number().int() });
const StateSchema = z.object({
  last_server: z.string().optional(),
  servers: z.record(z.string(), BastionSchema).default({}),
});

export type RememberedBastion = z.infer<typeof BastionSchema>;
export type LoginState = z.infer<typeof StateSchema>;

/** The state file's contents; empty when it does not exist or cannot be read as state. */
export function readLoginState(path: string): LoginState {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { servers: {} };
  }
  try {
    return StateSchema.parse(JSON.parse(text));
  } catch {
    return { servers: {} };
  }
}

export function rememberServer(path: string, server: string, bastion: RememberedBastion): void {
  const state = readLoginState(path);
  const next: LoginState = {
    last_server: server,
    servers: { ...state.servers, [server]: bastion },
  };
  ensurePrivateDir(dirname(path));
  writeFileAtomic(path, `${JSON.stringify(next, null, 2)}\n`, 0o600);
}

/** `--server`, else `$PORTCULLIS_SERVER`, else the server used last. */
export function chooseServer(
  flag: string | undefined,
  environment: string | undefined,
  state: LoginState,
): string {
  const chosen = flag || environment || state.last_server;
  if (chosen === undefined || chosen === "") {
    throw new PortcullisError(
      "ERR_LOGIN_NO_SERVER",
      "no server: pass --server URL (or set PORTCULLIS_SERVER) the first time",
      2,
    );
  }
  return chosen.replace(/\/+$/, "");
}
