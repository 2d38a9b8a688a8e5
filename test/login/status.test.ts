// `portcullis login --status` output (src/login/status.ts): valid,
// expired, not yet valid, never logged in.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CertificateSummary } from "../../src/login/certificate.js";
import { statusReport } from "../../src/login/status.js";

const NOW = new Date("2026-11-22T08:00:00Z");
const CERT: CertificateSummary = {
  keyId: "alice@example.com",
  principals: ["alice@example.com"],
  groups: ["ops", "dba"],
  serial: 42n,
  validAfter: new Date("2026-11-22T07:59:00Z"),
  validBefore: new Date("2026-11-22T16:00:00Z"),
};
const BASE = { server: "https://b.example", sshHost: "b.example", certificatePath: "/h/c" };

describe("login status", () => {
  it("shows identity, groups, principals, remaining validity, server", () => {
    const report = statusReport({ ...BASE, certificate: CERT, now: NOW });
    assert.equal(report.valid, true);
    assert.equal(report.problem, undefined);
    assert.deepEqual(report.lines, [
      "identity:    alice@example.com",
      "groups:      ops, dba",
      "principals:  alice@example.com",
      "valid:       until 2026-11-22T16:00:00.000Z (8h00m left)",
      "server:      https://b.example",
      "certificate: /h/c",
      "connect:     ssh TARGET@b.example",
    ]);
  });

  it("an expired or not yet valid certificate is not valid, with the reason", () => {
    const expired = statusReport({
      ...BASE,
      certificate: CERT,
      now: new Date("2026-11-22T16:00:00Z"),
    });
    assert.equal(expired.valid, false);
    assert.equal(
      expired.problem,
      "certificate expired at 2026-11-22T16:00:00.000Z: run portcullis login",
    );
    const early = statusReport({
      ...BASE,
      certificate: CERT,
      now: new Date("2026-11-22T07:00:00Z"),
    });
    assert.equal(early.valid, false);
    assert.match(
      early.problem ?? "",
      /^certificate not yet valid \(from 2026-11-22T07:59:00\.000Z\)/,
    );
  });

  it("no certificate: not logged in", () => {
    const none = statusReport({ ...BASE, certificate: undefined, now: NOW });
    assert.equal(none.valid, false);
    assert.equal(none.problem, "not logged in: run portcullis login");
  });
});
