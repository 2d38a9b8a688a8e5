// Builds one Policy from the texts of policy files (pure: no I/O). Each file
// is parsed and validated on its own; the results are merged in the order
// given (targets, rulesets, access entries concatenated), duplicate names and
// unknown references are reported. Every problem of every file is collected
// and thrown as one ConfigError, `FILE:LINE:COL: path: message` per line.
import { ConfigError } from "../util/errors.js";
import {
  formatLocation,
  type Problem,
  parseAndValidate,
  type SourceLocation,
  sortProblems,
  type YamlPath,
  type YamlSource,
} from "../util/yaml-source.js";
import { CidrSet } from "./cidr.js";
import {
  type PolicyFile,
  policyFileSchema,
  type RawAccessEntry,
  type RawRule,
  type RawRuleset,
  type RawTarget,
  RESERVED_TARGET_NAMES,
} from "./schema.js";
import type { AccessEntry, Pattern, Policy, Rule, RuleAction, Ruleset, Target } from "./types.js";

export interface PolicyFileText {
  /** Shown in problems; load.ts passes the directory joined with the file name. */
  readonly name: string;
  readonly text: string;
}

interface ParsedFile {
  readonly source: YamlSource;
  readonly data: PolicyFile;
}

interface Named {
  readonly source: SourceLocation;
}

/** The policy-level `masking:` default, and where it was set. */
interface PolicyMasking {
  settings?: NonNullable<PolicyFile["masking"]>;
  source?: SourceLocation;
}

/** Merges the files in the order given (callers sort by name). Throws ConfigError listing every problem. */
export function parsePolicyFiles(files: readonly PolicyFileText[]): Policy {
  const problems: Problem[] = [];
  const parsed = files.flatMap((file) => parseFile(file, problems));
  const merger = new PolicyMerger(problems);
  for (const file of parsed) merger.addDefinitions(file);
  for (const file of parsed) merger.addAccess(file);
  if (problems.length > 0)
    throw new ConfigError(sortProblems(problems).map((problem) => problem.text));
  return merger.policy();
}

function parseFile(file: PolicyFileText, problems: Problem[]): ParsedFile[] {
  const parsed = parseAndValidate(file.name, file.text, policyFileSchema);
  if (parsed.ok) return [parsed.value];
  problems.push(...parsed.problems);
  return [];
}

class PolicyMerger {
  readonly #problems: Problem[];
  readonly #targets = new Map<string, Target>();
  readonly #rulesets = new Map<string, Ruleset>();
  readonly #access: AccessEntry[] = [];
  readonly #accessNames = new Map<string, AccessEntry>();
  readonly #masking: PolicyMasking = {};

  constructor(problems: Problem[]) {
    this.#problems = problems;
  }

  /** Targets and rulesets of one file (all files' definitions come before any reference check). */
  addDefinitions({ source, data }: ParsedFile): void {
    for (const [name, raw] of Object.entries(data.targets)) {
      const path = ["targets", name];
      if (RESERVED_TARGET_NAMES.includes(name)) {
        this.#problems.push(
          source.problem(path, `"${name}" is reserved and cannot name a target`, "key"),
        );
      } else if (this.#isNew(this.#targets, name, "target", source, path)) {
        this.#targets.set(name, buildTarget(name, raw, source.locate(path, "key")));
      }
    }
    for (const [name, raw] of Object.entries(data.rulesets)) {
      const path = ["rulesets", name];
      if (this.#isNew(this.#rulesets, name, "ruleset", source, path)) {
        this.#rulesets.set(name, buildRuleset(name, raw, source, path));
      }
    }
    if (data.masking !== undefined) this.#setMasking(data.masking, source);
  }

  addAccess({ source, data }: ParsedFile): void {
    data.access.forEach((raw, index) => {
      const path = ["access", index];
      this.#checkReferences(raw, source, path);
      if (!this.#isNew(this.#accessNames, raw.name, "access entry", source, [...path, "name"]))
        return;
      const entry = buildAccessEntry(raw, source, path, this.#masking);
      this.#accessNames.set(entry.name, entry);
      this.#access.push(entry);
    });
  }

  policy(): Policy {
    return { targets: this.#targets, rulesets: this.#rulesets, access: this.#access };
  }

  #checkReferences(raw: RawAccessEntry, source: YamlSource, path: YamlPath): void {
    raw.targets.names.forEach((name, index) => {
      if (!this.#targets.has(name)) {
        this.#problems.push(
          source.problem([...path, "targets", "names", index], `unknown target "${name}"`),
        );
      }
    });
    raw.commands.forEach((name, index) => {
      if (!this.#rulesets.has(name)) {
        this.#problems.push(
          source.problem([...path, "commands", index], `unknown ruleset "${name}"`),
        );
      }
    });
  }

  #setMasking(settings: NonNullable<PolicyFile["masking"]>, source: YamlSource): void {
    const first = this.#masking.source;
    if (first === undefined) {
      this.#masking.settings = settings;
      this.#masking.source = source.locate(["masking"], "key");
      return;
    }
    const message = `masking is set in more than one file (first at ${formatLocation(first)})`;
    this.#problems.push(source.problem(["masking"], message, "key"));
  }

  #isNew(
    defined: ReadonlyMap<string, Named>,
    name: string,
    kind: string,
    source: YamlSource,
    path: YamlPath,
  ): boolean {
    const first = defined.get(name);
    if (first === undefined) return true;
    const message = `duplicate ${kind} "${name}" (first defined at ${formatLocation(first.source)})`;
    this.#problems.push(source.problem(path, message, "key"));
    return false;
  }
}

function buildTarget(name: string, raw: RawTarget, location: SourceLocation): Target {
  const credential = raw.credential;
  const credentials = new Map(
    raw.logins.map((login) => [
      login,
      typeof credential === "string" ? credential : (credential[login] ?? ""),
    ]),
  );
  return {
    name,
    source: location,
    address: raw.address,
    logins: raw.logins,
    credentials,
    ...(raw.host_key === undefined ? {} : { host_key: raw.host_key }),
    ...(raw.host_ca === undefined ? {} : { host_ca: raw.host_ca }),
    labels: new Map(Object.entries(raw.labels)),
    shell: raw.shell,
  };
}

function buildRuleset(name: string, raw: RawRuleset, source: YamlSource, path: YamlPath): Ruleset {
  return {
    name,
    source: source.locate(path, "key"),
    default: raw.default,
    rules: raw.rules.map((rule, index) =>
      buildRule(`${name}#${index + 1}`, rule, source.locate([...path, "rules", index])),
    ),
  };
}

function buildRule(id: string, raw: RawRule, location: SourceLocation): Rule {
  const { allow, warn, approve, deny, reason, risk, exact, approvers, quorum, reuse, justify } =
    raw;
  const [action, pattern] = ruleAction({ allow, warn, approve, deny });
  return {
    id,
    action,
    pattern,
    exact,
    source: location,
    ...(reason === undefined ? {} : { reason }),
    ...(risk === undefined ? {} : { risk }),
    ...(approvers === undefined ? {} : { approvers }),
    ...(quorum === undefined ? {} : { quorum }),
    ...(reuse === undefined ? {} : { reuse }),
    ...(justify === undefined ? {} : { justify }),
  };
}

type RawPattern = NonNullable<RawRule["allow"]>;

/** The rule's one action (the schema guarantees exactly one is set). */
function ruleAction(actions: Record<RuleAction, RawPattern | undefined>): [RuleAction, Pattern] {
  for (const [action, pattern] of Object.entries(actions) as [
    RuleAction,
    RawPattern | undefined,
  ][]) {
    if (pattern !== undefined) return [action, toPattern(pattern)];
  }
  throw new Error("rule without action passed validation");
}

function toPattern(raw: RawPattern): Pattern {
  if (typeof raw === "string") return { kind: "words", alternatives: [raw] };
  if (Array.isArray(raw)) return { kind: "words", alternatives: raw };
  return { kind: "regex", regex: raw.regex };
}

function buildAccessEntry(
  raw: RawAccessEntry,
  source: YamlSource,
  path: YamlPath,
  masking: PolicyMasking,
): AccessEntry {
  const { targets, from, files, mask, mask_input, masking: entryMasking, ...rest } = raw;
  const detectors = (specs: RawAccessEntry["mask"]) =>
    specs.map((spec) => (typeof spec === "string" ? { name: spec } : spec));
  return {
    ...rest,
    source: source.locate(path),
    targets: {
      names: targets.names,
      ...(targets.labels === undefined ? {} : { labels: new Map(Object.entries(targets.labels)) }),
    },
    ...(from === undefined ? {} : { from: new CidrSet(from) }),
    files: files.map((rule, index) => ({
      action: rule.allow === undefined ? "deny" : "allow",
      glob: rule.allow ?? rule.deny ?? "",
      source: source.locate([...path, "files", index]),
    })),
    mask: detectors(mask),
    mask_input: mask_input === true ? detectors(mask) : detectors(mask_input || []),
    mask_recording_only: (entryMasking ?? masking.settings)?.recording_only ?? false,
  };
}
