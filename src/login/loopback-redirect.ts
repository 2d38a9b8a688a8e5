// The loopback redirect of the browser flow (RFC 8252 §7.3): an HTTP server
// on 127.0.0.1 and an ephemeral port that takes the first request to
// /callback and holds the browser's answer until login knows the outcome,
// then shows a small "you can close this tab" page.

import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const CALLBACK_PATH = "/callback";

export interface Callback {
  /** The full redirect URL the browser was sent to (code, state, or error). */
  readonly url: URL;
  /** Answers the browser with the outcome. */
  finish(ok: boolean, message: string): void;
}

export interface LoopbackRedirect {
  readonly redirectUri: string;
  /** The first request to /callback. */
  readonly callback: Promise<Callback>;
  close(): Promise<void>;
}

export async function startLoopbackRedirect(): Promise<LoopbackRedirect> {
  let deliver: (callback: Callback) => void = () => {};
  const callback = new Promise<Callback>((resolve) => {
    deliver = resolve;
  });
  let taken = false;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method !== "GET" || url.pathname !== CALLBACK_PATH || taken) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    taken = true;
    deliver({
      url: new URL(url.pathname + url.search, redirectUri),
      finish: (ok, message) => answer(res, ok, message),
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`;
  return {
    redirectUri,
    callback,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function answer(res: ServerResponse, ok: boolean, message: string): void {
  const title = ok ? "Signed in" : "Sign-in failed";
  res.writeHead(ok ? 200 : 400, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'",
  });
  res.end(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>portcullis login: ${title}</title></head>
<body><h1>${title}</h1><p>${escapeHtml(message)}</p></body></html>
`);
}
