// Policy test files (SPEC §5.7, `*.test.yaml`): cases of "this user, this
// target, this command line → this decision (and these signals)", parsed and
// validated with their source locations (pure: the caller reads the files).
// Problems are `FILE:LINE:COL: path: message`, all files' problems thrown
// together.
import { z } from "zod";
import { ConfigError } from "../util/errors.js";
import {
  type Problem,
  parseAndValidate,
  parsedString,
  type SourceLocation,
  sortProblems,
} from "../util/yaml-source.js";
import type { PolicyFileText } from "./parse.js";
import type { RuleAction } from "./types.js";

export interface PolicyTestCase {
  readonly name: string;
  readonly user: string;
  readonly groups: readonly string[];
  readonly target: string;
  /** Absent: the target's default login. */
  readonly login?: string;
  /** The client address; absent: the caller's default. */
  readonly from?: string;
  /** Absent: the moment the test runs. */
  readonly at?: Date;
  readonly command: string;
  /** The line's decision (`deny` when the session itself is denied). */
  readonly expect: RuleAction;
  /** When present, the rule that decided the line must be this one. */
  readonly expect_rule?: string;
  /** When present, exactly these policy signal rules must fire on the line (`[]`: none). */
  readonly signals?: readonly string[];
  readonly source: SourceLocation;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO 8601 date or date-time (`2026-11-23T10:00:00+01:00`). */
export function parseInstant(text: string): Date {
  const at = new Date(text);
  if (!ISO_INSTANT.test(text) || Number.isNaN(at.getTime())) {
    throw new Error(`expected an ISO 8601 time such as 2026-11-23T10:00:00+01:00, got "${text}"`);
  }
  return at;
}

const name = z.string().min(1);
const action = z.enum(["allow", "warn", "approve", "deny"]);

const testCaseSchema = z.strictObject({
  name,
  user: name,
  groups: z.array(name).default([]),
  target: name,
  login: name.optional(),
  from: name.optional(),
  at: parsedString(parseInstant, "expected an ISO 8601 time as a string").optional(),
  command: z.string(),
  expect: action,
  expect_rule: name.optional(),
  signals: z.array(name).optional(),
});

const testFileSchema = z.strictObject({ tests: z.array(testCaseSchema) });

/** Parses every test file; throws one ConfigError with every problem of every file. */
export function parsePolicyTestFiles(files: readonly PolicyFileText[]): PolicyTestCase[] {
  const problems: Problem[] = [];
  const cases = files.flatMap((file) => parseTestFile(file, problems));
  if (problems.length > 0)
    throw new ConfigError(sortProblems(problems).map((problem) => problem.text));
  return cases;
}

function parseTestFile(file: PolicyFileText, problems: Problem[]): PolicyTestCase[] {
  const parsed = parseAndValidate(file.name, file.text, testFileSchema);
  if (!parsed.ok) {
    problems.push(...parsed.problems);
    return [];
  }
  const { source, data } = parsed.value;
  return data.tests.map((test, index) => ({ ...test, source: source.locate(["tests", index]) }));
}
