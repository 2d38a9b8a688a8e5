// Inputs built to make a regex backtrack (long runs of what a detector's
// pattern starts with), shared by the detector tests (which check the
// results) and bench/masking-detectors (which times them).
import { BEGIN_KEY } from "./pem-text.js";

export const PATHOLOGICAL_INPUTS: readonly string[] = [
  "1".repeat(100_000),
  "4111 ".repeat(20_000),
  "A1".repeat(50_000),
  "DE89 ".repeat(20_000),
  "eyJ".repeat(33_000),
  "eyJa.".repeat(20_000),
  "password=".repeat(11_000),
  "token: ".repeat(14_000),
  "Bearer ".repeat(14_000),
  BEGIN_KEY.repeat(4000),
  "a.".repeat(50_000),
  "123-".repeat(25_000),
  "://a:".repeat(20_000),
  '"password": "\\'.repeat(8000),
];

/** A custom regex that is quadratic on a long run of digits, and such a run. */
export const QUADRATIC_CUSTOM = { regex: /\d+x/, text: "1".repeat(100_000) };
