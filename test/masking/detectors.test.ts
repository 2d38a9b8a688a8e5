// Tests for src/masking/detectors.ts: each built-in detector on secrets in
// realistic surrounding text (masked) and on look-alikes (not masked), the
// merging of findSecrets, detectorsFor, property checks, and pathological
// inputs that must stay fast.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  builtInDetector,
  type Detector,
  detectorsFor,
  findSecrets,
  type MaskDetectorName,
  PRIVATE_KEY_MAX_LENGTH,
} from "../../src/masking/detectors.js";
import { MASK_DETECTORS } from "../../src/policy/schema.js";
import { PortcullisError } from "../../src/util/errors.js";
import { PATHOLOGICAL_INPUTS, QUADRATIC_CUSTOM } from "./pathological.js";
import { BEGIN_KEY, END_KEY, pemLine } from "./pem-text.js";

/** The matched texts of `detector` in `text`. */
function found(detector: Detector, text: string): string[] {
  return detector.find(text).map((span) => text.slice(span.start, span.end));
}

/** A table of texts: each with exactly the secrets `name` must find in it (none for a look-alike). */
function decisionTable(name: MaskDetectorName, rows: readonly [string, string[]][]): void {
  describe(name, () => {
    const detector = builtInDetector(name);
    for (const [text, expected] of rows)
      test(`${expected.length === 0 ? "leaves" : "masks"}: ${JSON.stringify(text).slice(0, 90)}`, () =>
        assert.deepEqual(found(detector, text), expected));
  });
}

decisionTable("credit-card", [
  ["Card: 4111 1111 1111 1111 exp 12/27 cvv 123", ["4111 1111 1111 1111"]],
  ['{"pan":"4111111111111111","amount":12.5}', ["4111111111111111"]],
  ["mastercard 5555-5555-5555-4444.", ["5555-5555-5555-4444"]],
  ["amex 3782 822463 10005 diners 3056 930902 5904", ["3782 822463 10005", "3056 930902 5904"]],
  ["visa13=4222222222222 discover=6011111111111117", ["4222222222222", "6011111111111117"]],
  ["1|4012888888881881|bob", ["4012888888881881"]],
  ["not Luhn: 4111 1111 1111 1112 or 4111111111111112", []],
  ["timestamp 1732262400000 and 1732262400000000000 ns", []],
  ["nm: 0000000000401126 T main", []],
  ["pi=3.1415926535897932 e=2.7182818284590452", []],
  ["longer run 41111111111111110000000", []],
  ["inside a word: id4111111111111111 and 4111111111111111x", []],
  ["mixed separators 4111 1111-1111 1111", []],
  ["phone +1 555-123-4567, order 12345", []],
]);

decisionTable("us-ssn", [
  ["SSN: 123-45-6789", ["123-45-6789"]],
  ['{"ssn":"078-05-1121","name":"x"}', ["078-05-1121"]],
  ["area 000-12-3456 666-12-3456 900-12-3456 999-99-9999", []],
  ["group 123-00-4567 serial 123-45-0000", []],
  ["date 2026-11-22, phone 555-123-4567, part 1234-56-7890", []],
  ["embedded ab123-45-6789 and 123-45-6789-01", []],
]);

decisionTable("iban", [
  ["IBAN: DE89 3704 0044 0532 0130 00 (EUR)", ["DE89 3704 0044 0532 0130 00"]],
  ["GB29NWBK60161331926819 paid", ["GB29NWBK60161331926819"]],
  ["to FR1420041010050500013M02606.", ["FR1420041010050500013M02606"]],
  ["NO9386011117947", ["NO9386011117947"]],
  ["DE89 3704 0044 0532 0130 00 DATE 2026", ["DE89 3704 0044 0532 0130 00"]],
  ["bad check digits GB28NWBK60161331926819", []],
  ["wrong length for DE: DE8937040044053201300", []],
  ["lower case gb29nwbk60161331926819", []],
  ["SHA256 ED25519 AB12CDEF34GHIJ56KL", []],
]);

decisionTable("aws-access-key-id", [
  ["aws_access_key_id = AKIAIOSFODNN7EXAMPLE", ["AKIAIOSFODNN7EXAMPLE"]],
  ['"AccessKeyId": "ASIAY34FZKBOKMUTVV7A",', ["ASIAY34FZKBOKMUTVV7A"]],
  ["AROA1234567890ABCDEF role", ["AROA1234567890ABCDEF"]],
  ["too short AKIAIOSFODNN7EXAMPL, too long AKIAIOSFODNN7EXAMPLEX", []],
  ["lower akiaiosfodnn7example and prefix XAKIAIOSFODNN7EXAMPLE", []],
]);

const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
decisionTable("aws-secret-key", [
  [`[default]\naws_secret_access_key = ${AWS_SECRET}\n`, [AWS_SECRET]],
  [`export AWS_SECRET_ACCESS_KEY="${AWS_SECRET}"`, [AWS_SECRET]],
  [
    `{"SecretAccessKey": "${AWS_SECRET}", "SessionToken": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH"}`,
    [AWS_SECRET, "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH"],
  ],
  [`aws configure set aws_secret_access_key ${AWS_SECRET}`, [AWS_SECRET]],
  [`the same value alone: ${AWS_SECRET}`, []],
  [`aws_secret_access_key = ${AWS_SECRET}X (41 characters)`, []],
  ["aws_secret_access_key     ****************EKEY shared-credentials-file", []],
]);

const JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const jwtHeaderWithout = (json: string) => Buffer.from(json).toString("base64url");
decisionTable("jwt", [
  [`id_token=${JWT}&state=x`, [JWT]],
  [`{"access_token":"${JWT}"}`, [JWT]],
  [
    "unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ. end",
    ["eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ."],
  ],
  [`no alg: ${jwtHeaderWithout('{"typ":"JWT"}')}.eyJzdWIiOiJib2IifQ.c2ln`, []],
  ["not JSON: eyJhbGciOiJIUzI1NiIsInR5cCI6.eyJzdWIiOiJib2IifQ.c2ln", []],
  ["two segments eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ", []],
]);

decisionTable("password-assignment", [
  ["$ PGPASSWORD=hunter2 psql -h db", ["hunter2"]],
  ['{"user":"bob","password":"c0rrect \\"horse\\""}', ['c0rrect \\"horse\\"']],
  ["MYSQL_PWD='s3 cr3t' mysql", ["s3 cr3t"]],
  ["spring.datasource.password: Tr0ub4dor&3", ["Tr0ub4dor&3"]],
  ["mysql --password=pa55 -h db; mysql --password pa66", ["pa55", "pa66"]],
  ["DATABASE_URL=postgres://app:s3cret@db:5432/app", ["s3cret"]],
  ["{ passphrase => 'open sesame' }", ["open sesame"]],
  ["[sudo] password for bob: ", []],
  ['"password": null, "password": "", password: ********', []],
  ["PWD=/home/bob\nOLDPWD=/tmp\npassword_hash_algorithm yescrypt", []],
  ["mkdir -pv x; ssh -p2222 host; mysql -psecret (not masked: -p)", []],
  ["https://user@example.com/a:b@c ssh://git@github.com:22/x", []],
]);

decisionTable("bearer-token", [
  ["> Authorization: Bearer abc.def-123", ["abc.def-123"]],
  ['-H "authorization: token ghp_abc"', ["ghp_abc"]],
  ["Authorization: Basic dXNlcjpwYXNzd29yZA==", ["dXNlcjpwYXNzd29yZA=="]],
  ["token_type Bearer 0123456789abcdefXYZ/+=", ["0123456789abcdefXYZ/+="]],
  ["the bearer of bad news; Bearer short1", []],
  ['curl -H "Authorization: Bearer $TOKEN"', []],
]);

decisionTable("generic-secret", [
  [
    "GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    ["ghp_16C7e42F292c6912E7710c838347Ae178B4a"],
  ],
  ['{"client_secret": "dGhpcyBpcyBhIHJhbmRvbSBzZWNyZXQ9"}', ["dGhpcyBpcyBhIHJhbmRvbSBzZWNyZXQ9"]],
  [
    "api_key: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
    ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"],
  ],
  ["STRIPE_API_KEY='sk_live_4eC39HqLyjWDarjtT1zdp7dc'", ["sk_live_4eC39HqLyjWDarjtT1zdp7dc"]],
  ["request id 16C7e42F292c6912E7710c838347Ae178B4a ok", []],
  ["secret: my-app-database-credentials", []],
  ["token: 00000000000000000000000000", []],
  ["secretName: db-secret-production-v2", []],
  ['"prompt_tokens": 1234, "tokenizer": "cl100k_base_tokenizer_v2"', []],
]);

describe("private-key", () => {
  const detector = builtInDetector("private-key");
  const pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
    type: "pkcs1",
    format: "pem",
  }) as string;
  const openssh = [
    pemLine("BEGIN", "OPENSSH PRIVATE KEY"),
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    pemLine("END", "OPENSSH PRIVATE KEY"),
  ].join("\r\n");

  test("a PEM block in terminal output is one match, BEGIN to END across lines", () => {
    const text = `$ cat id_rsa\r\n${pem.trimEnd().replaceAll("\n", "\r\n")}\r\n$ `;
    assert.deepEqual(found(detector, text), [pem.trimEnd().replaceAll("\n", "\r\n")]);
  });

  test("every kind of private key block, also inside one JSON string", () => {
    for (const kind of ["", "EC ", "DSA ", "ENCRYPTED ", "OPENSSH "]) {
      const label = `${kind}PRIVATE KEY`;
      const block = `${pemLine("BEGIN", label)}\nMIIB\n${pemLine("END", label)}`;
      assert.deepEqual(found(detector, `x ${block} y`), [block]);
    }
    const json = `{"private_key": "${BEGIN_KEY}\\nMIIE\\n${END_KEY}\\n"}`;
    assert.deepEqual(found(detector, json), [`${BEGIN_KEY}\\nMIIE\\n${END_KEY}`]);
    assert.equal(detector.find(`${openssh}\n${openssh}`).length, 2);
  });

  test("public keys and certificates are not private keys", () => {
    const text =
      "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----";
    assert.deepEqual(detector.find(text), []);
  });

  test("a block without its END yet is open to the end of the text", () => {
    const text = `before\n${openssh.slice(0, 80)}`;
    assert.deepEqual(detector.find(text), [{ start: 7, end: text.length, open: true }]);
  });

  test("a block longer than the cap is masked up to the cap, not open", () => {
    const text = `${pemLine("BEGIN", "RSA PRIVATE KEY")}\n${"A".repeat(PRIVATE_KEY_MAX_LENGTH)}\nrest`;
    assert.deepEqual(detector.find(text), [{ start: 0, end: PRIVATE_KEY_MAX_LENGTH }]);
  });
});

describe("custom detectors", () => {
  test("the whole match, or the first capture group when there is one", () => {
    const [whole, group] = detectorsFor([
      { name: "ticket", regex: /TCK-\d{6}/ },
      { name: "pin", regex: /PIN=(\d{4})/ },
    ]);
    assert.ok(whole !== undefined && group !== undefined);
    assert.deepEqual(found(whole, "see TCK-123456 and TCK-654321"), ["TCK-123456", "TCK-654321"]);
    assert.deepEqual(found(group, "PIN=1234 PIN=12"), ["1234"]);
  });

  test("zero-length matches are skipped and do not loop", () => {
    const [empty] = detectorsFor([{ name: "empty", regex: /x*/ }]);
    assert.ok(empty !== undefined);
    assert.deepEqual(found(empty, "ab xx c"), ["xx"]);
  });

  test("matches across the search windows of a long text are found once each", () => {
    const [detector] = detectorsFor([{ name: "ticket", regex: /TCK-\d{6}/ }]);
    assert.ok(detector !== undefined);
    const text = Array.from(
      { length: 2000 },
      (_, i) => `line ${i} TCK-${String(i).padStart(6, "0")}`,
    ).join("\n");
    const matches = detector.find(text);
    assert.equal(matches.length, 2000);
    assert.ok(
      matches.every(
        (span, i) => text.slice(span.start, span.end) === `TCK-${String(i).padStart(6, "0")}`,
      ),
    );
  });

  test("a regex with nested repetition (exponential backtracking) is refused", () => {
    for (const regex of [/(\w+\s?)+$/, /(a{1,2})*b/, /(?:x+y?)*z/]) {
      assert.throws(
        () => detectorsFor([{ name: "evil", regex }]),
        (error: unknown) => error instanceof PortcullisError && error.code === "ERR_MASK_REGEX",
      );
    }
    for (const regex of [/(ab)+/, /(\d{4}-)+\d/, /[(+]+x/, /\(a+\)+/])
      detectorsFor([{ name: "ok", regex }]);
  });
});

describe("detectorsFor and findSecrets", () => {
  test("every name policies accept has a built-in detector", () => {
    for (const name of MASK_DETECTORS) assert.equal(builtInDetector(name).name, name);
  });

  test("names once each, in order; an unknown name throws", () => {
    const detectors = detectorsFor(["jwt", { name: "us-ssn" }, "jwt", "credit-card"]);
    assert.deepEqual(
      detectors.map((d) => d.name),
      ["jwt", "us-ssn", "credit-card"],
    );
    assert.throws(
      () => detectorsFor(["no-such-detector"]),
      (error: unknown) => error instanceof PortcullisError && error.code === "ERR_MASK_DETECTOR",
    );
  });

  test("overlapping matches of several detectors are joined, sorted", () => {
    const detectors = detectorsFor(["generic-secret", "jwt", "bearer-token", "us-ssn"]);
    const text = `ssn 123-45-6789; Authorization: Bearer ${JWT}; token=${JWT}`;
    const matches = findSecrets(detectors, text);
    assert.deepEqual(
      matches.map((m) => [m.detector, text.slice(m.start, m.end)]),
      [
        ["us-ssn", "123-45-6789"],
        ["jwt", JWT], // the same span as bearer-token's: the detector listed first
        ["generic-secret", JWT],
      ],
    );
  });

  test("an open match stays open when joined", () => {
    const text = `password=${BEGIN_KEY}\nMIIE`;
    const [match, ...rest] = findSecrets(
      detectorsFor(["password-assignment", "private-key"]),
      text,
    );
    assert.deepEqual(rest, []);
    assert.deepEqual(match, { start: 9, end: text.length, open: true, detector: "private-key" });
  });

  test("property: findSecrets is sorted, non-overlapping, and inside the text", () => {
    const detectors = MASK_DETECTORS.map(builtInDetector);
    const pieces = fc.constantFrom(
      "4111 1111 1111 1111",
      "123-45-6789",
      "DE89 3704 0044 0532 0130 00",
      "AKIAIOSFODNN7EXAMPLE",
      `aws_secret_access_key=${AWS_SECRET}`,
      JWT,
      "password: x",
      "Bearer ",
      "token=",
      BEGIN_KEY,
      END_KEY,
      " ",
      "\n",
    );
    const texts = fc.array(fc.oneof(pieces, fc.string({ maxLength: 8 })), { maxLength: 20 });
    fc.assert(
      fc.property(texts, (parts) => {
        const text = parts.join("");
        let previousEnd = 0;
        for (const match of findSecrets(detectors, text)) {
          assert.ok(
            match.start >= previousEnd && match.end > match.start && match.end <= text.length,
          );
          previousEnd = match.end;
        }
      }),
      { numRuns: 500 },
    );
  });

  test("property: a valid card number is found whatever text surrounds it", () => {
    const detector = builtInDetector("credit-card");
    const card = fc
      .tuple(
        fc.constantFrom(2, 3, 4, 5, 6),
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 11, maxLength: 17 }),
      )
      .map(([first, rest]) => withLuhnDigit(`${first}${rest.join("")}`));
    const around = fc.stringMatching(/^[ a-z:=,]{0,6}$/);
    fc.assert(
      fc.property(around, card, around, (before, number, after) => {
        const text = `${before}${number}${after}`;
        const expected = /[a-z]$/.test(before) || /^[a-z]/.test(after) ? [] : [number];
        assert.deepEqual(found(detector, text), expected);
      }),
      { numRuns: 500 },
    );
  });
});

/** `digits` plus the check digit that makes it Luhn-valid. */
function withLuhnDigit(digits: string): string {
  for (let check = 0; check <= 9; check++) {
    const candidate = `${digits}${check}`;
    let sum = 0;
    for (let i = candidate.length - 1, double = false; i >= 0; i--, double = !double) {
      const digit = Number(candidate[i]) * (double ? 2 : 1);
      sum += digit > 9 ? digit - 9 : digit;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error("unreachable");
}

// How long these take is measured by bench/masking-detectors (no timing asserted here).
describe("pathological inputs: the detectors finish with sorted, separate matches inside the text", () => {
  const detectors = MASK_DETECTORS.map(builtInDetector);
  for (const text of PATHOLOGICAL_INPUTS)
    test(`${JSON.stringify(text.slice(0, 16))}… (${text.length} chars)`, () => {
      let end = 0;
      for (const match of findSecrets(detectors, text)) {
        assert.ok(match.start >= end && match.end > match.start, JSON.stringify(match));
        end = match.end;
      }
      assert.ok(end <= text.length);
    });

  test("a custom regex that is quadratic on long runs is tried only in bounded windows", () => {
    const [detector] = detectorsFor([{ name: "slow", ...QUADRATIC_CUSTOM }]);
    assert.deepEqual(detector?.find(QUADRATIC_CUSTOM.text), []);
  });
});
