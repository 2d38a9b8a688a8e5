// Property tests: the built-in detectors (keyed ones running only where their
// names occur) find exactly what today's whole-text regex scans find
// (test/masking/reference-detectors.ts), alone and merged by findSecrets, on
// random mixes of secrets, look-alikes, key names in any case, digit runs
// and noise (seeded, so a failure reproduces).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { builtInDetector, findSecrets } from "../../src/masking/detectors.js";
import { MASK_DETECTORS } from "../../src/policy/schema.js";
import { BEGIN_KEY, END_KEY } from "./pem-text.js";
import { referenceDetectors } from "./reference-detectors.js";

const JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const RANDOM_VALUE = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

const SECRETS = [
  "4111 1111 1111 1111",
  "4111-1111-1111-1111",
  "4111111111111111",
  "3782 822463 10005",
  "123-45-6789",
  "DE89 3704 0044 0532 0130 00",
  "GB29NWBK60161331926819",
  "AKIAIOSFODNN7EXAMPLE",
  AWS_SECRET,
  JWT,
  "eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ.",
  RANDOM_VALUE,
  "hunter2",
  "'open sesame'",
  '"c0rrect \\"horse\\""',
  BEGIN_KEY,
  END_KEY,
];
const NAMES = [
  "password",
  "PGPASSWORD",
  "passwd",
  "--password",
  "--passwd",
  "passphrase",
  "MYSQL_PWD",
  "_pwd",
  "PWD",
  "aws_secret_access_key",
  "AWS_SECRET_ACCESS_KEY",
  "SecretAccessKey",
  "secret-access-key",
  "aws_session_token",
  "SessionToken",
  "Authorization",
  "authorization",
  "Bearer",
  "bearer",
  "BEARER",
  "GITHUB_TOKEN",
  "client_secret",
  "api_key",
  "apikey",
  "API-KEY",
  "access_key",
  "private_key",
  "auth",
  "credentials",
  "Credential",
  "token",
  "ToKeN",
  "key",
  "ken",
  "cret",
  "uth",
  "hrase",
  "://",
  "postgres://app:s3cret@db",
  "https://user@example.com/a:b@c",
  "://a:",
  "@",
  "/",
  "w",
];
const GAPS = ["=", ": ", ' = "', '": "', " => '", " ", "\t", ":", "=", "  "];
const NOISE = [
  " ",
  "\n",
  "\r\n",
  "-",
  ".",
  "x",
  "_",
  "İ", // lower-cases to two characters
  "\u212a", // Kelvin sign: lower-cases to k
  "\u017f", // long s: upper-cases to S
  "é",
  "2026-11-22",
  "9990001234",
  "1700000012345",
  "0000000000401126",
  "ED25519 SHA256:",
  "Basic ",
  "token ",
  "null",
];

const digits = fc
  .array(fc.constantFrom(..."0123456789"), { minLength: 1, maxLength: 22 })
  .map((list) => list.join(""));
const piece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SECRETS) },
  { weight: 4, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 3, arbitrary: fc.constantFrom(...GAPS) },
  { weight: 3, arbitrary: fc.constantFrom(...NOISE) },
  { weight: 2, arbitrary: digits },
  { weight: 2, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 4 }) },
);
const texts = fc.array(piece, { maxLength: 24 }).map((parts) => parts.join(""));

const fast = MASK_DETECTORS.map(builtInDetector);
const reference = referenceDetectors();

describe("the built-in detectors agree with whole-text regex scans", () => {
  test("the reference holds the same detectors, in the same order", () =>
    assert.deepEqual(
      reference.map((detector) => detector.name),
      fast.map((detector) => detector.name),
    ));

  test("property: each detector alone, on random mixes", () => {
    fc.assert(
      fc.property(texts, (text) => {
        for (const [index, detector] of fast.entries())
          assert.deepEqual(detector.find(text), reference[index]?.find(text), detector.name);
      }),
      { numRuns: 3000, seed: 20261122 },
    );
  });

  test("property: all of them merged by findSecrets, on random mixes", () => {
    fc.assert(
      fc.property(texts, (text) =>
        assert.deepEqual(findSecrets(fast, text), findSecrets(reference, text)),
      ),
      { numRuns: 3000, seed: 8 },
    );
  });

  test("names and secrets in every letter case", () => {
    const flip = (text: string, mask: number) =>
      [...text].map((char, i) => ((mask >> (i % 31)) & 1 ? char.toUpperCase() : char)).join("");
    fc.assert(
      fc.property(
        fc.constantFrom(...NAMES),
        fc.constantFrom(...GAPS),
        fc.constantFrom(...SECRETS),
        fc.integer(),
        (name, gap, secret, mask) => {
          const text = `x ${flip(name, mask)}${gap}${secret} y`;
          assert.deepEqual(findSecrets(fast, text), findSecrets(reference, text));
        },
      ),
      { numRuns: 2000, seed: 42 },
    );
  });
});
