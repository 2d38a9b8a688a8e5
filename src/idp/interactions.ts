// The embedded identity provider's sign-in pages (oidc-provider's
// `/interaction/:uid`): a username/password form checked against the demo
// users. Consent is never asked: signing in also grants the requested
// scopes, so `login` is the only prompt handled here.

import type { IncomingMessage, ServerResponse } from "node:http";
import type Provider from "oidc-provider";
import { authenticate, type DemoUser } from "./accounts.js";

export const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)$/;
const MAX_FORM_BYTES = 8192;

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}

function loginPage(uid: string, message: string): string {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Portcullis demo sign-in</title></head>
<body>
<h1>Sign in</h1>
<p>${escapeHtml(message)}</p>
<form id="login" method="post" action="/interaction/${escapeHtml(uid)}">
  <input type="hidden" name="prompt" value="login">
  <label>Username <input name="login" autocomplete="username" autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>
</body></html>`;
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
  });
  res.end(html);
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) req.destroy(new Error("sign-in form too large"));
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

async function submitLogin(
  provider: Provider,
  users: readonly DemoUser[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const form = await readForm(req);
  const user = authenticate(users, form.get("login") ?? "", form.get("password") ?? "");
  if (user === undefined) {
    sendHtml(res, 401, loginPage(details.uid, "Wrong username or password."));
    return;
  }
  const grant = new provider.Grant({
    accountId: user.username,
    clientId: String(details.params.client_id),
  });
  grant.addOIDCScope(String(details.params.scope ?? "openid"));
  const consent = { grantId: await grant.save() };
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: user.username }, consent },
    { mergeWithLastSubmission: false },
  );
}

async function renderLogin(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name !== "login") {
    sendHtml(res, 501, "<p>Only sign-in is supported by the demo identity provider.</p>");
    return;
  }
  sendHtml(res, 200, loginPage(details.uid, "Sign in with a demo user."));
}

/** Serves GET (the form) and POST (the check) on `/interaction/:uid`. */
export async function handleInteraction(
  provider: Provider,
  users: readonly DemoUser[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    if (req.method === "POST") await submitLogin(provider, users, req, res);
    else await renderLogin(provider, req, res);
  } catch {
    if (!res.headersSent) sendHtml(res, 400, "<p>This sign-in request is no longer valid.</p>");
    else res.end();
  }
}
