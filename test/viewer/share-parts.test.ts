// Share links' pure parts and store: lifetimes offered under
// `share_max_ttl`, tokens (random, only the hash stored), log redaction,
// liveness, and the store's revoke and once-an-hour use audit.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openSqliteShareLinkStore } from "../../src/store/share-links.js";
import {
  hashToken,
  isLive,
  looksLikeToken,
  newShareToken,
  redactSharePath,
  ttlChoices,
} from "../../src/viewer/share-tokens.js";

const HOUR = 3_600_000;

describe("share link parts", () => {
  test("offers 1 h, 24 h and 7 d up to the maximum, and the maximum itself", () => {
    assert.deepEqual(
      ttlChoices(7 * 24 * HOUR).map((choice) => choice.label),
      ["1 hour", "24 hours", "7 days"],
    );
    assert.deepEqual(
      ttlChoices(48 * HOUR).map((choice) => choice.ms),
      [HOUR, 24 * HOUR, 48 * HOUR],
    );
    assert.deepEqual(ttlChoices(6000), [{ ms: 6000, label: "6s" }]);
  });

  test("tokens are random, 256 bits, and only their hash names them", () => {
    const first = newShareToken();
    const second = newShareToken();
    assert.ok(looksLikeToken(first.token));
    assert.notEqual(first.token, second.token);
    assert.equal(first.tokenHash, hashToken(first.token));
    assert.ok(!first.tokenHash.includes(first.token));
    assert.match(first.id, /^[0-9a-f]{16}$/);
    assert.equal(looksLikeToken("../etc/passwd"), false);
  });

  test("log lines keep only a token's first characters", () => {
    const { token } = newShareToken();
    const redacted = redactSharePath(`/share/${token}/recording.cast`);
    assert.ok(!redacted.includes(token));
    assert.equal(redacted, `/share/${token.slice(0, 6)}…/recording.cast`);
  });

  test("the store finds by hash, lists live links, revokes once, audits a use once an hour", () => {
    const store = openSqliteShareLinkStore({ path: ":memory:" });
    try {
      const now = new Date("2026-11-22T10:00:00Z");
      const { tokenHash, id } = newShareToken();
      store.create({
        id,
        tokenHash,
        session: "s1",
        recording: "r1",
        createdBy: "audrey@example.com",
        createdAt: now,
        expiresAt: new Date(now.getTime() + HOUR),
      });
      const row = store.findByTokenHash(tokenHash);
      assert.equal(row?.id, id);
      assert.ok(row !== undefined && isLive(row, now));
      assert.equal(isLive(row, new Date(now.getTime() + HOUR)), false, "expired at its end");
      assert.deepEqual(
        store.active("s1", now).map((link) => link.id),
        [id],
      );
      assert.equal(store.claimUseAudit(id, now, HOUR), true);
      assert.equal(store.claimUseAudit(id, new Date(now.getTime() + 60_000), HOUR), false);
      assert.equal(store.claimUseAudit(id, new Date(now.getTime() + HOUR), HOUR), true);
      assert.equal(store.revoke(id, "audrey@example.com", now), true);
      assert.equal(store.revoke(id, "audrey@example.com", now), false);
      const revoked = store.find(id);
      assert.ok(revoked !== undefined && !isLive(revoked, now));
      assert.deepEqual(store.active("s1", now), []);
    } finally {
      store.close();
    }
  });
});
