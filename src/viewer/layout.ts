// The page shell every viewer page shares: head (the one stylesheet, page
// scripts by URL only, an empty icon so browsers do not ask for a missing
// /favicon.ico), a skip link, the navigation for the viewer's roles,
// who is signed in and the sign-out form (a POST with the CSRF token), then
// the page's main content. Later pages add their nav entry to NAV.

import { html, type SafeHtml } from "./html.js";
import type { Roles, Viewer } from "./roles.js";

export const STYLESHEET = "/assets/viewer.css";

interface NavEntry {
  readonly href: string;
  readonly label: string;
  /** Shown only to viewers with this role; everyone when absent. */
  readonly role?: keyof Roles;
}

const NAV: readonly NavEntry[] = [
  { href: "/sessions", label: "Sessions" },
  { href: "/signals", label: "Signals", role: "auditor" },
  { href: "/approvals", label: "Approvals", role: "approver" },
];

export interface Page {
  readonly title: string;
  readonly main: SafeHtml;
  /** The signed-in person; absent on the sign-in and error pages for visitors. */
  readonly viewer?: Viewer;
  /** The path of the current page (marks its nav entry). */
  readonly current?: string;
  readonly scripts?: readonly string[];
  readonly stylesheets?: readonly string[];
}

function navigation(viewer: Viewer, current: string | undefined): SafeHtml {
  const entries = NAV.filter((entry) => entry.role === undefined || viewer.roles[entry.role]);
  return html`<nav aria-label="Main"><ul>${entries.map(
    (entry) =>
      html`<li><a href="${entry.href}"${current === entry.href ? html` aria-current="page"` : ""}>${entry.label}</a></li>`,
  )}</ul></nav>`;
}

function roleLabel(roles: Roles): string {
  const names = [roles.auditor ? "auditor" : "", roles.approver ? "approver" : ""].filter(Boolean);
  return names.length === 0 ? "own sessions" : names.join(", ");
}

function account(viewer: Viewer): SafeHtml {
  return html`<div class="account">
<span class="who">${viewer.user} <span class="roles">(${roleLabel(viewer.roles)})</span></span>
<form method="post" action="/auth/logout" class="inline">
<input type="hidden" name="_csrf" value="${viewer.csrfToken}">
<button type="submit">Sign out</button>
</form>
</div>`;
}

export function layout(page: Page): string {
  const { viewer } = page;
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${page.title} · Portcullis</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${STYLESHEET}">
${(page.stylesheets ?? []).map((href) => html`<link rel="stylesheet" href="${href}">\n`)}
${(page.scripts ?? []).map((src) => html`<script src="${src}" defer></script>\n`)}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/">Portcullis</a>
${viewer === undefined ? "" : [navigation(viewer, page.current), account(viewer)]}
</header>
<main id="main" tabindex="-1">
${page.main}
</main>
</body>
</html>
`.text;
}
