// Registry test for AUTH_FAILURE_CODES: names are snake_case with a
// description, the guard matches the table, and the decision function
// refers to every code (a code nobody can produce is a dead entry).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { AUTH_FAILURE_CODES, isAuthFailureCode } from "../../src/auth/failure-codes.js";

test("codes are snake_case with a one-line description", () => {
  for (const [code, description] of Object.entries(AUTH_FAILURE_CODES)) {
    assert.match(code, /^[a-z]+(_[a-z]+)*$/);
    assert.match(description, /^[a-z].*[^.]$/);
    assert.ok(!description.includes("\n"));
  }
});

test("isAuthFailureCode accepts exactly the table's keys", () => {
  for (const code of Object.keys(AUTH_FAILURE_CODES)) assert.equal(isAuthFailureCode(code), true);
  for (const other of ["toString", "__proto__", "ok", "", "EXPIRED"])
    assert.equal(isAuthFailureCode(other), false);
});

test("certificate-check.ts refers to every code, in the table's order", () => {
  const source = readFileSync("src/auth/certificate-check.ts", "utf8");
  const positions = Object.keys(AUTH_FAILURE_CODES).map((code) => source.indexOf(`"${code}"`));
  assert.ok(
    positions.every((position) => position >= 0),
    "a code is never produced",
  );
});
