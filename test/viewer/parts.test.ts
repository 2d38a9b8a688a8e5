// The viewer's pure parts and its session store: escaping by construction,
// the sign-in's redirect target, query parsing and the own-sessions pin,
// roles, and signed-in sessions' idle and absolute expiry (SQLite, in memory).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openSqliteWebSessionStore } from "../../src/store/web-sessions.js";
import { safeNext } from "../../src/viewer/auth-routes.js";
import {
  indexFilter,
  PAGE_SIZE,
  parseSessionQuery,
  queryString,
} from "../../src/viewer/filters.js";
import { duration, offset } from "../../src/viewer/format.js";
import { html, trustedHtml } from "../../src/viewer/html.js";
import { ViewerRefusal } from "../../src/viewer/refusal.js";
import { canSeeSession, rolesOf, type Viewer } from "../../src/viewer/roles.js";
import { cookieName, cookieOptions, WebSessions } from "../../src/viewer/web-sessions.js";

const groups = { auditorGroups: ["auditors"], approverGroups: ["approvers"] };
const viewer = (user: string, memberOf: string[]): Viewer => ({
  user,
  groups: memberOf,
  roles: rolesOf(memberOf, groups),
  csrfToken: "t",
});

describe("html template", () => {
  it("escapes every interpolation, nested templates and arrays included", () => {
    const evil = `<script>alert("x")</script>' onload='`;
    const page = html`<p title="${evil}">${evil}${[evil, html`<b>${evil}</b>`]}</p>`;
    assert.doesNotMatch(page.text, /<script>|' onload='/);
    assert.match(page.text, /<b>&lt;script&gt;/);
    assert.equal(html`${trustedHtml("<hr>")}${undefined}${false}${0}`.text, "<hr>0");
  });
});

describe("sign-in redirect target", () => {
  it("keeps paths on this server and refuses everything else", () => {
    assert.equal(safeNext("/sessions/abc?x=1"), "/sessions/abc?x=1");
    for (const bad of ["https://evil.example/", "//evil.example/", "/\\evil", "/a\nb", 7, ""])
      assert.equal(safeNext(bad), "/sessions", String(bad));
  });
});

describe("sessions query", () => {
  it("pins a non-auditor to their own sessions, whatever the query says", () => {
    const query = parseSessionQuery({ user: "alice@example.com", q: "rm -rf", page: "3" });
    const own = indexFilter(query, viewer("carol@example.com", ["ops"]), PAGE_SIZE + 1);
    assert.equal(own.user, "carol@example.com");
    assert.equal(own.text, "rm -rf");
    assert.equal(own.offset, 2 * PAGE_SIZE);
    const audit = indexFilter(query, viewer("audrey@example.com", ["auditors"]), 10);
    assert.equal(audit.user, "alice@example.com");
  });

  it("reads times as UTC and refuses what it cannot read with 400", () => {
    const filter = indexFilter(
      parseSessionQuery({ from: "2025-01-31T09:30", to: "2025-02-01" }),
      viewer("a", ["auditors"]),
      10,
    );
    assert.equal(filter.since?.toISOString(), "2025-01-31T09:30:00.000Z");
    assert.equal(filter.until?.toISOString(), "2025-02-01T00:00:00.000Z");
    for (const bad of [{ from: "yesterday" }, { page: "0" }, { decision: "maybe" }]) {
      assert.throws(
        () => parseSessionQuery(bad),
        (error: unknown) => error instanceof ViewerRefusal && error.status === 400,
      );
    }
  });

  it("keeps the filters in page links", () => {
    const query = parseSessionQuery({ target: "web1", decision: "deny" });
    assert.equal(queryString(query, 2), "?target=web1&decision=deny&page=2");
    assert.equal(queryString(parseSessionQuery({}), 1), "");
  });
});

describe("roles", () => {
  it("lets auditors see every session and others only their own", () => {
    assert.ok(canSeeSession(viewer("audrey", ["auditors"]), "alice"));
    assert.ok(canSeeSession(viewer("alice", ["ops"]), "alice"));
    assert.ok(!canSeeSession(viewer("carol", ["ops", "approvers"]), "alice"));
    assert.ok(!canSeeSession(viewer("carol", ["ops"]), undefined));
    assert.deepEqual(rolesOf(["approvers"], groups), { auditor: false, approver: true });
  });
});

describe("signed-in sessions", () => {
  const identity = { user: "alice", groups: ["ops"], issuer: "https://idp", subject: "s1" };
  const at = (ms: number) => new Date(Date.UTC(2025, 0, 1) + ms);

  it("stores only a hash of the id and ends after the idle time or the absolute limit", () => {
    const store = openSqliteWebSessionStore({ path: ":memory:" });
    try {
      const sessions = new WebSessions(store, { idleMs: 600_000, maxMs: 3_600_000 });
      const { id, row } = sessions.start(identity, at(0));
      assert.notEqual(row.idHash, id);
      assert.equal(store.find(id), undefined);
      assert.equal(sessions.resume(id, at(500_000))?.user, "alice");
      assert.equal(
        sessions.resume(id, at(1_000_000))?.user,
        "alice",
        "activity moved the idle end",
      );
      assert.equal(sessions.resume(`${id}x`, at(1_000_000)), undefined);
      assert.equal(sessions.resume(id, at(1_700_000)), undefined, "idle too long");
      assert.equal(store.find(row.idHash), undefined, "an expired session is removed");

      const busy = sessions.start(identity, at(0)).id;
      for (let ms = 300_000; ms < 3_600_000; ms += 300_000)
        assert.ok(sessions.resume(busy, at(ms)), `active at ${ms}`);
      assert.equal(sessions.resume(busy, at(3_600_000)), undefined, "absolute limit");

      const ended = sessions.start(identity, at(0)).id;
      sessions.end(ended);
      assert.equal(sessions.resume(ended, at(1)), undefined);
    } finally {
      store.close();
    }
  });
});

describe("session cookie", () => {
  it("is HttpOnly and SameSite=Lax; under TLS also Secure and __Host- prefixed", () => {
    assert.equal(cookieName(false, "portcullis_session"), "portcullis_session");
    assert.equal(cookieName(true, "portcullis_session"), "__Host-portcullis_session");
    assert.deepEqual(cookieOptions(true, 60), {
      path: "/",
      httpOnly: true,
      sameSite: "lax",
      secure: true,
      maxAge: 60,
    });
    assert.equal(cookieOptions(false).secure, false);
  });
});

describe("formats", () => {
  it("writes durations and offsets compactly", () => {
    assert.equal(duration(0), "0s");
    assert.equal(duration(3_725_000), "1h 2m");
    assert.equal(duration(61_000), "1m 1s");
    assert.equal(offset(83_450), "1:23.5");
  });
});
