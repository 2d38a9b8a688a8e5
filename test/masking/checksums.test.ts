// Tests for src/masking/checksums.ts: Luhn and IBAN mod-97 against published
// valid numbers and single-digit changes of them, and Shannon entropy values.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ibanValid, luhnValid, shannonEntropy } from "../../src/masking/checksums.js";

const CARDS = [
  "4111111111111111",
  "5555555555554444",
  "378282246310005",
  "6011111111111117",
  "30569309025904",
  "3530111333300000",
];
const IBANS = [
  "DE89370400440532013000",
  "GB29NWBK60161331926819",
  "FR1420041010050500013M02606",
  "NO9386011117947",
  "MT84MALT011000012345MTLCAST001S",
  "CH9300762011623852957",
];

/** `text` with the digit at `at` changed to `digit` (no change when it is that digit already). */
const withDigit = (text: string, at: number, digit: number) =>
  `${text.slice(0, at)}${digit}${text.slice(at + 1)}`;

test("Luhn accepts the test card numbers and refuses any single-digit change", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...CARDS),
      fc.nat(),
      fc.integer({ min: 0, max: 9 }),
      (card, position, digit) => {
        assert.equal(luhnValid(card), true);
        const changed = withDigit(card, position % card.length, digit);
        assert.equal(luhnValid(changed), changed === card);
      },
    ),
  );
});

test("IBAN mod-97 accepts registry examples and refuses single-digit changes and wrong lengths", () => {
  for (const iban of IBANS) assert.equal(ibanValid(iban), true, iban);
  fc.assert(
    fc.property(
      fc.constantFrom(...IBANS),
      fc.integer({ min: 2, max: 40 }),
      fc.integer({ min: 0, max: 9 }),
      (iban, at, digit) => {
        const position = at % iban.length;
        if (!/\d/.test(iban[position] ?? "")) return;
        const changed = withDigit(iban, position, digit);
        assert.equal(ibanValid(changed), changed === iban);
      },
    ),
  );
  assert.equal(ibanValid("DE8937040044053201300"), false);
  assert.equal(ibanValid("DE89"), false);
});

test("Shannon entropy: zero for one symbol, log2(n) for n equally frequent symbols", () => {
  assert.equal(shannonEntropy("aaaa"), 0);
  assert.equal(shannonEntropy("abab"), 1);
  assert.equal(shannonEntropy("0123456789abcdef"), 4);
});
