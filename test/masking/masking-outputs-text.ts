// Output with planted secrets for the end-to-end masking tests
// (test/ssh/masking-outputs.test.ts): each text is built twice at once, as
// the target prints it and as the user must see it, from the known places
// of the secrets planted in it, never by calling the masker. Values come
// from the detectors' unit tests (known true and false positives); private
// keys are generated when the tests run.

/** The custom detector of the test policy, and a value it masks. */
export const CUSTOM_DETECTOR = { name: "account-ref", regex: "ACCT-[0-9]{4}-[A-Z]{4}" } as const;
const CUSTOM_VALUE = "ACCT-4821-QXZV";

export const GROUPED_CARD = "4111 1111 1111 1111";
export const PLAIN_CARD = "4012888888881881";
export const SSN = "078-05-1121";
const GROUPED_IBAN = "DE89 3704 0044 0532 0130 00";
export const COMPACT_IBAN = "GB29NWBK60161331926819";
const AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
export const JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
export const PASSWORD = "Sup3r-S3cret!";
const BEARER = "abc.def-123xyz";
const HIGH_ENTROPY_TOKENS = [
  "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
  "dGhpcyBpcyBhIHJhbmRvbSBzZWNyZXQ9",
  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
  "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
] as const;

/** Lines that look like secrets and are not (each fails the check its detector makes). */
export const LOOK_ALIKES = [
  "order 4111111111111112 shipped (16 digits, Luhn fails)",
  "iban check GB28NWBK60161331926819 (wrong check digits)",
  "ssn area 000-12-3456 (never issued)",
  "password=null",
  "token=aaaaaaaaaaaaaaaaaaaaaaaa",
  "payload aGVsbG8gd29ybGQsIHRoaXMgaXMgYmFzZTY0 (base64, no key name)",
] as const;

/** What the user sees for a secret: `*` per character, line breaks kept. */
export function masked(value: string): string {
  return value.replace(/[^\r\n]/g, "*");
}

export interface Planted {
  readonly detector: string;
  readonly value: string;
}

/** A text as printed (`plain`) and as masked (`masked`), with the secrets planted in it. */
export class PlantedText {
  private readonly plainParts: string[] = [];
  private readonly maskedParts: string[] = [];
  readonly planted: Planted[] = [];
  /** Characters of `plain` so far. */
  length = 0;

  text(value: string): this {
    this.length += value.length;
    this.plainParts.push(value);
    this.maskedParts.push(value);
    return this;
  }

  secret(detector: string, value: string): this {
    this.length += value.length;
    this.plainParts.push(value);
    this.maskedParts.push(masked(value));
    this.planted.push({ detector, value });
    return this;
  }

  plainText(): string {
    return this.plainParts.join("");
  }

  maskedText(): string {
    return this.maskedParts.join("");
  }

  /** How many secrets each detector must mask. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { detector } of this.planted) counts[detector] = (counts[detector] ?? 0) + 1;
    return counts;
  }
}

/** One of each kind of secret the policy masks, in its usual context, then the look-alikes. */
export function everyKindOfSecret(privateKeys: readonly string[]): PlantedText {
  const file = new PlantedText()
    .text("Card: ")
    .secret("credit-card", GROUPED_CARD)
    .text(" exp 12/27\n")
    .text('{"pan":"')
    .secret("credit-card", PLAIN_CARD)
    .text('","amount":12.5}\n')
    .text("SSN: ")
    .secret("us-ssn", SSN)
    .text("\nIBAN: ")
    .secret("iban", GROUPED_IBAN)
    .text(" (EUR)\npaid to ")
    .secret("iban", COMPACT_IBAN)
    .text(" today\naws_access_key_id = ")
    .secret("aws-access-key-id", AWS_KEY_ID)
    .text("\naws_secret_access_key = ")
    .secret("aws-secret-key", AWS_SECRET)
    .text("\njwt: ")
    .secret("jwt", JWT)
    .text("\npassword=")
    .secret("password-assignment", PASSWORD)
    .text('\n{"user": "bob", "password": "')
    .secret("password-assignment", "c0rrect-h0rse")
    .text('"}\nPGPASSWORD=')
    .secret("password-assignment", "hunter2x")
    .text(" psql -h db\n> Authorization: Bearer ")
    .secret("bearer-token", BEARER)
    .text("\nGITHUB_TOKEN=")
    .secret("generic-secret", HIGH_ENTROPY_TOKENS[0])
    .text("\nref ")
    .secret(CUSTOM_DETECTOR.name, CUSTOM_VALUE)
    .text(" closed\n");
  for (const key of privateKeys)
    file.text("key file:\n").secret("private-key", key.trimEnd()).text("\n");
  return file.text(`${LOOK_ALIKES.join("\n")}\n`);
}

const CARDS = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"];

/** The secret field of record `n` (a JSON member), each kind in turn. */
const SECRET_FIELDS: ReadonlyArray<(n: number, into: PlantedText) => void> = [
  (n, into) => into.text('"card":"').secret("credit-card", pick(CARDS, n)).text('"'),
  (_, into) => into.text('"ssn":"').secret("us-ssn", SSN).text('"'),
  (_, into) => into.text('"iban":"').secret("iban", COMPACT_IBAN).text('"'),
  (_, into) => into.text('"AccessKeyId":"').secret("aws-access-key-id", AWS_KEY_ID).text('"'),
  (n, into) => into.text('"password":"').secret("password-assignment", `pw-${n}-Xy9!`).text('"'),
  (n, into) =>
    into.text('"api_key":"').secret("generic-secret", pick(HIGH_ENTROPY_TOKENS, n)).text('"'),
  (_, into) => into.text('"session":"').secret("jwt", JWT).text('"'),
  (_, into) => into.text('"ref":"').secret(CUSTOM_DETECTOR.name, CUSTOM_VALUE).text('"'),
];

/** The look-alike field of record `n`: benign, each kind in turn. */
const BENIGN_FIELDS = [
  '"card":"4111111111111112"',
  '"ssn":"000-12-3456"',
  '"iban":"GB28NWBK60161331926819"',
  '"password":null',
  '"token":"aaaaaaaaaaaaaaaaaaaaaaaa"',
  '"payload":"aGVsbG8gd29ybGQsIHRoaXMgaXMgYmFzZTY0"',
  '"amount":"4111.11"',
] as const;

function pick<T>(values: readonly T[], n: number): T {
  const value = values[n % values.length];
  if (value === undefined) throw new Error("empty list");
  return value;
}

/**
 * A JSON array of at least `bytes` bytes, one record a line: every
 * `secretEvery`th record has a secret field, the others a look-alike.
 */
export function jsonDocument(bytes: number, secretEvery: number): PlantedText {
  const doc = new PlantedText().text("[\n");
  for (let n = 0; doc.length < bytes || n === 0; n++) {
    doc.text(`${n === 0 ? "" : ",\n"}{"id":${n},"name":"user-${n}",`);
    if (n % secretEvery === 0) pick(SECRET_FIELDS, n / secretEvery)(n, doc);
    else doc.text(pick(BENIGN_FIELDS, n));
    doc.text(`,"note":"record ${n} of the export, nothing to see"}`);
  }
  return doc.text("\n]\n");
}

/** At least `bytes` bytes of lines with a grouped card number each. */
export function groupedCardLines(bytes: number): PlantedText {
  const lines = new PlantedText();
  while (lines.length < bytes)
    lines.text("Card: ").secret("credit-card", GROUPED_CARD).text(" exp 12/27\n");
  return lines;
}
