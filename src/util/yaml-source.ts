// Parses YAML text while keeping node positions, and reports problems as
// `FILE:LINE:COL: path.to.key: message`: YAML syntax errors (duplicate keys
// included), and zod validation issues mapped back to the offending node.
// Used by the config and policy loaders; does no I/O.
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLError,
} from "yaml";
import { z } from "zod";

/** Keys and list indices from the document root to a node. */
export type YamlPath = readonly PropertyKey[];

/** Where a problem is reported: at a mapping key itself, or at its value (the default). */
export type Anchor = "key" | "value";

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** One problem: its location (for sorting) and its formatted line. */
export interface Problem extends SourceLocation {
  readonly text: string;
}

export type Validated<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly Problem[] };

/** A parsed YAML document that can locate any path inside it. */
export class YamlSource {
  readonly file: string;
  /** The document as plain data; `undefined` for an empty document. */
  readonly value: unknown;
  readonly #document: Document;
  readonly #lineCounter: LineCounter;

  constructor(file: string, document: Document, lineCounter: LineCounter, value: unknown) {
    this.file = file;
    this.#document = document;
    this.#lineCounter = lineCounter;
    this.value = value;
  }

  /** Location of the node at `path`, or of its deepest existing ancestor. */
  locate(path: YamlPath, anchor: Anchor = "value"): SourceLocation {
    const offset = this.#offsetOf(path, anchor);
    const { line, col } = this.#lineCounter.linePos(offset);
    return { file: this.file, line, col };
  }

  /** A problem about the node at `path`: `FILE:LINE:COL: path: message`. */
  problem(path: YamlPath, message: string, anchor: Anchor = "value"): Problem {
    const location = this.locate(path, anchor);
    const prefix = path.length === 0 ? "" : `${formatYamlPath(path)}: `;
    return { ...location, text: `${formatLocation(location)}: ${prefix}${message}` };
  }

  #offsetOf(path: YamlPath, anchor: Anchor): number {
    let node = this.#resolve(this.#document.contents);
    let offset = node?.range?.[0] ?? 0;
    for (const segment of path) {
      const step = this.#child(node, segment);
      if (step === undefined) return offset;
      node = step.value;
      const valueOffset = hasSource(node) ? node?.range?.[0] : undefined;
      offset = anchor === "key" || valueOffset === undefined ? step.keyOffset : valueOffset;
    }
    return offset;
  }

  #child(
    node: Node | null,
    segment: PropertyKey,
  ): { value: Node | null; keyOffset: number } | undefined {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (pair === undefined || !isScalar(pair.key)) return undefined;
      return {
        value: this.#resolve(pair.value as Node | null),
        keyOffset: pair.key.range?.[0] ?? 0,
      };
    }
    if (isSeq(node) && typeof segment === "number") {
      const item = this.#resolve(node.items[segment] as Node | null | undefined);
      if (item === null || item === undefined) return undefined;
      return { value: item, keyOffset: item.range?.[0] ?? 0 };
    }
    return undefined;
  }

  #resolve(node: Node | null | undefined): Node | null {
    if (node === undefined || node === null) return null;
    return isAlias(node) ? ((node.resolve(this.#document) as Node | undefined) ?? null) : node;
  }
}

/** An empty value (`key:` with nothing after it) is located at its key instead. */
function hasSource(node: Node | null): boolean {
  return node !== null && !(isScalar(node) && node.value === null && node.source === "");
}

export function formatLocation(location: SourceLocation): string {
  return `${location.file}:${location.line}:${location.col}`;
}

/** `["access", 2, "subjects", "groups"]` → `access[2].subjects.groups`. */
export function formatYamlPath(path: YamlPath): string {
  return path
    .map((segment, index) =>
      typeof segment === "number" ? `[${segment}]` : `${index === 0 ? "" : "."}${String(segment)}`,
    )
    .join("");
}

/** Parses one YAML document. Syntax errors, duplicate keys and unknown tags are problems. */
export function parseYaml(file: string, text: string): Validated<YamlSource> {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const errors = [...document.errors, ...document.warnings];
  if (errors.length > 0) {
    return { ok: false, problems: errors.map((error) => syntaxProblem(file, lineCounter, error)) };
  }
  try {
    const value = document.contents === null ? undefined : document.toJS({ maxAliasCount: 100 });
    return { ok: true, value: new YamlSource(file, document, lineCounter, value) };
  } catch (error) {
    return {
      ok: false,
      problems: [syntaxProblem(file, lineCounter, { pos: [0], message: (error as Error).message })],
    };
  }
}

function syntaxProblem(
  file: string,
  lineCounter: LineCounter,
  error: Pick<YAMLError, "message"> & { pos: readonly number[] },
): Problem {
  const { line, col } = lineCounter.linePos(error.pos[0] ?? 0);
  const location = { file, line, col };
  return { ...location, text: `${formatLocation(location)}: ${error.message}` };
}

/** Validates the document's data with a (strict) zod schema; issues become located problems. */
export function validateYaml<T extends z.ZodType>(
  source: YamlSource,
  schema: T,
): Validated<z.output<T>> {
  const result = schema.safeParse(source.value, { error: issueMessage });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: sortProblems(zodProblems(source, result.error.issues)) };
}

/** Parses one file and validates it: its source (to locate later problems) and its data. */
export function parseAndValidate<T extends z.ZodType>(
  file: string,
  text: string,
  schema: T,
): Validated<{ source: YamlSource; data: z.output<T> }> {
  const yaml = parseYaml(file, text);
  if (!yaml.ok) return yaml;
  const validated = validateYaml(yaml.value, schema);
  return validated.ok
    ? { ok: true, value: { source: yaml.value, data: validated.value } }
    : validated;
}

/** Maps zod issues to problems; unknown keys are reported one per key, at the key. */
export function zodProblems(
  source: YamlSource,
  issues: readonly z.core.$ZodIssue[],
  base: YamlPath = [],
): Problem[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => source.problem([...path, key], `unknown key "${key}"`, "key"));
    }
    if (issue.code === "invalid_union") {
      const branch = matchingUnionBranch(issue);
      if (branch !== undefined) return zodProblems(source, branch, path);
    }
    return [source.problem(path, issue.message)];
  });
}

/**
 * When a union failed, the branch that got furthest into the input explains it
 * best: branches failing on the input's type are ignored, then the one whose
 * shallowest issue is deepest wins (an unknown key counts as one level deep).
 */
function matchingUnionBranch(
  issue: z.core.$ZodIssueInvalidUnion,
): readonly z.core.$ZodIssue[] | undefined {
  const candidates = issue.errors.filter(
    (branch) =>
      branch.length > 0 &&
      !branch.some((inner) => inner.code === "invalid_type" && inner.path.length === 0),
  );
  const depth = (branch: readonly z.core.$ZodIssue[]) =>
    Math.min(
      ...branch.map((inner) => inner.path.length + (inner.code === "unrecognized_keys" ? 1 : 0)),
    );
  return candidates.reduce<readonly z.core.$ZodIssue[] | undefined>(
    (best, branch) => (best === undefined || depth(branch) > depth(best) ? branch : best),
    undefined,
  );
}

/** Orders problems by position within each file, keeping the order of files. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  const fileOrder = new Map<string, number>();
  for (const problem of problems) {
    if (!fileOrder.has(problem.file)) fileOrder.set(problem.file, fileOrder.size);
  }
  const rank = (problem: Problem) => fileOrder.get(problem.file) ?? 0;
  return [...problems].sort((a, b) => rank(a) - rank(b) || a.line - b.line || a.col - b.col);
}

/** Short messages for zod's generic issues; schema-specific messages take precedence. */
function issueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined
        ? "is required"
        : `expected ${describeType(issue.expected)}, got ${describeValue(issue.input)}`;
    case "invalid_value":
      return `expected one of ${issue.values.map((value) => String(value)).join(", ")}`;
    case "too_small":
      if (issue.minimum === 1 && (issue.origin === "array" || issue.origin === "string")) {
        return "must not be empty";
      }
      return `must be ${issue.inclusive === false ? "greater than" : "at least"} ${String(issue.minimum)}`;
    case "too_big":
      return `must be ${issue.inclusive === false ? "less than" : "at most"} ${String(issue.maximum)}`;
    default:
      return undefined;
  }
}

function describeType(expected: string): string {
  if (expected === "object" || expected === "record") return "a map";
  if (expected === "array") return "a list";
  if (expected === "int") return "an integer";
  return `a ${expected}`;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return "a string";
  if (typeof value === "boolean") return "a boolean";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a number";
  return typeof value;
}

/**
 * A YAML string parsed by `parse`; whatever it throws becomes the issue's
 * message. `typeHint` replaces the generic message when the value is not a string.
 */
export function parsedString<T>(
  parse: (text: string) => T,
  typeHint?: string,
): z.ZodPipe<z.ZodString, z.ZodTransform<Awaited<T>, string>> {
  const typeError = (issue: { input?: unknown }) =>
    issue.input === undefined ? undefined : typeHint;
  return z.string({ error: typeError }).transform((text, ctx) => {
    try {
      return parse(text) as Awaited<T>;
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });
}
