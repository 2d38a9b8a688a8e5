// Shared by the login tests: a private home directory, a `$BROWSER` script
// that records the URLs it is asked to open, `portcullis login` as a real
// child process on a pseudo-terminal with nothing from the test runner's
// environment leaking in (agent, server, display), and a stand-in
// Portcullis server that serves only a discovery document.

import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI } from "../harness/bastion.js";
import { PtyDriver } from "../harness/pty.js";

export interface TestHome {
  readonly dir: string;
  /** The `$BROWSER` command: appends each URL to `openedFile`. */
  readonly browser: string;
  readonly openedFile: string;
  /** `~/.ssh/config`, for `ssh -F`. */
  readonly sshConfig: string;
  remove(): void;
}

export function makeTestHome(): TestHome {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-login-"));
  const openedFile = join(dir, "opened-urls");
  const browser = join(dir, "record-browser.sh");
  writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${openedFile}'\n`);
  chmodSync(browser, 0o755);
  return {
    dir,
    browser,
    openedFile,
    sshConfig: join(dir, ".ssh", "config"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The environment `portcullis login` and `ssh` run with in tests. */
export function loginEnvironment(home: TestHome, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    HOME: home.dir,
    BROWSER: home.browser,
    SSH_AUTH_SOCK: "",
    PORTCULLIS_SERVER: "",
    XDG_CONFIG_HOME: "",
    DISPLAY: "",
    WAYLAND_DISPLAY: "",
    ...extra,
  };
}

/** `portcullis login ARGS` on a pseudo-terminal. */
export function startLogin(
  home: TestHome,
  args: string[],
  extra: NodeJS.ProcessEnv = {},
): PtyDriver {
  return new PtyDriver(process.execPath, [CLI, "login", ...args], {
    cols: 200,
    env: loginEnvironment(home, extra),
  });
}

/** The URLs the `$BROWSER` script was asked to open, once there are `count`. */
export async function openedUrls(home: TestHome, count = 1, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const urls = existsSync(home.openedFile)
      ? readFileSync(home.openedFile, "utf8").split("\n").filter(Boolean)
      : [];
    if (urls.length >= count) return urls;
    if (Date.now() > deadline) throw new Error(`the browser script opened ${urls.length} URLs`);
    await new Promise((wake) => setTimeout(wake, 25));
  }
}

/** The verification URL and user code a device-flow login printed. */
export async function devicePrompt(pty: PtyDriver): Promise<{ uri: string; code: string }> {
  const output = await pty.expect(/enter the code: (\S+)/);
  const uri = /open (\S+)\r?\n/.exec(output)?.[1];
  const code = /enter the code: (\S+)/.exec(output)?.[1];
  if (uri === undefined || code === undefined) throw new Error(`no device prompt in ${output}`);
  return { uri, code };
}

/** A server answering only `GET /.well-known/portcullis` with `document`. */
export async function startDiscoveryStub(
  document: Record<string, unknown>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url !== "/.well-known/portcullis") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(document));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
