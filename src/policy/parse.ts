// Builds one Policy from the texts of policy files (pure: no I/O). Each file
// is parsed and validated on its own; the results are merged in the order
// given (targets, rulesets, access entries and signal rules concatenated),
// duplicate names, unknown references and settings made in two files are
// reported. Every problem of every file is collected
// and thrown as one ConfigError, `FILE:LINE:COL: path: message` per line.
import { ConfigError } from "../util/errors.js";
import {
  formatLocation,
  formatYamlPath,
  type Problem,
  parseAndValidate,
  type SourceLocation,
  sortProblems,
  type YamlPath,
  type YamlSource,
} from "../util/yaml-source.js";
import { CidrSet } from "./cidr.js";
import type { Schedule } from "./schedule.js";
import {
  DEFAULT_BEHAVIOUR,
  type PolicyFile,
  policyFileSchema,
  type RawAccessEntry,
  type RawRule,
  type RawRuleset,
  type RawSignalRule,
  type RawTarget,
  type RawTargetSelection,
  RESERVED_TARGET_NAMES,
} from "./schema.js";
import type {
  AccessEntry,
  BehaviourSettings,
  Pattern,
  Policy,
  Rule,
  RuleAction,
  Ruleset,
  SignalCondition,
  SignalRule,
  Target,
  TargetSelection,
} from "./types.js";

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

/** A policy-level setting at most one file may make (`masking:`, `signals.behaviour`…), and where. */
interface FileSetting<T> {
  value?: T;
  source?: SourceLocation;
}

type MaskingSettings = NonNullable<PolicyFile["masking"]>;

/** Merges the files in the order given (callers sort by name). Throws ConfigError listing every problem. */
export function parsePolicyFiles(files: readonly PolicyFileText[]): Policy {
  const problems: Problem[] = [];
  const parsed = files.flatMap((file) => parseFile(file, problems));
  const merger = new PolicyMerger(problems);
  for (const file of parsed) merger.addDefinitions(file);
  for (const file of parsed) {
    merger.addAccess(file);
    merger.addSignals(file);
  }
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
  readonly #masking: FileSetting<MaskingSettings> = {};
  readonly #signalRules: SignalRule[] = [];
  readonly #signalNames = new Map<string, SignalRule>();
  readonly #businessHours: FileSetting<Schedule> = {};
  readonly #behaviour: FileSetting<BehaviourSettings> = {};

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
    if (data.masking !== undefined) this.#setOnce(this.#masking, data.masking, source, ["masking"]);
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

  /** Signal rules (after every file's targets), `business_hours` and `behaviour` of one file. */
  addSignals({ source, data }: ParsedFile): void {
    if (data.signals === undefined) return;
    const { business_hours, behaviour, rules } = data.signals;
    if (business_hours !== undefined) {
      this.#setOnce(this.#businessHours, business_hours, source, ["signals", "business_hours"]);
    }
    if (behaviour !== undefined) {
      this.#setOnce(this.#behaviour, behaviour, source, ["signals", "behaviour"]);
    }
    rules.forEach((raw, index) => {
      const path = ["signals", "rules", index];
      const targets = raw.when?.targets;
      if (targets !== undefined) this.#checkTargets(targets, source, [...path, "when", "targets"]);
      if (!this.#isNew(this.#signalNames, raw.name, "signal rule", source, [...path, "name"]))
        return;
      const rule = buildSignalRule(raw, source.locate(path));
      this.#signalNames.set(rule.name, rule);
      this.#signalRules.push(rule);
    });
  }

  policy(): Policy {
    const businessHours = this.#businessHours.value;
    return {
      targets: this.#targets,
      rulesets: this.#rulesets,
      access: this.#access,
      signals: {
        rules: this.#signalRules,
        behaviour: this.#behaviour.value ?? DEFAULT_BEHAVIOUR,
        ...(businessHours === undefined ? {} : { business_hours: businessHours }),
      },
    };
  }

  #checkTargets(selection: RawTargetSelection, source: YamlSource, path: YamlPath): void {
    selection.names.forEach((name, index) => {
      if (!this.#targets.has(name)) {
        this.#problems.push(source.problem([...path, "names", index], `unknown target "${name}"`));
      }
    });
  }

  #checkReferences(raw: RawAccessEntry, source: YamlSource, path: YamlPath): void {
    this.#checkTargets(raw.targets, source, [...path, "targets"]);
    raw.commands.forEach((name, index) => {
      if (!this.#rulesets.has(name)) {
        this.#problems.push(
          source.problem([...path, "commands", index], `unknown ruleset "${name}"`),
        );
      }
    });
  }

  #setOnce<T>(setting: FileSetting<T>, value: T, source: YamlSource, path: YamlPath): void {
    const first = setting.source;
    if (first === undefined) {
      setting.value = value;
      setting.source = source.locate(path, "key");
      return;
    }
    const message = `${formatYamlPath(path)} is set in more than one file (first at ${formatLocation(first)})`;
    this.#problems.push(source.problem(path, message, "key"));
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
  if (raw.writes !== undefined) {
    return { kind: "writes", globs: [raw.writes].flat(), except: [raw.except ?? []].flat() };
  }
  if (raw.regex !== undefined) return { kind: "regex", regex: raw.regex };
  throw new Error("pattern without regex or writes passed validation");
}

function buildAccessEntry(
  raw: RawAccessEntry,
  source: YamlSource,
  path: YamlPath,
  masking: FileSetting<MaskingSettings>,
): AccessEntry {
  const { targets, from, files, mask, mask_input, masking: entryMasking, ...rest } = raw;
  const detectors = (specs: RawAccessEntry["mask"]) =>
    specs.map((spec) => (typeof spec === "string" ? { name: spec } : spec));
  return {
    ...rest,
    source: source.locate(path),
    targets: buildTargetSelection(targets),
    ...(from === undefined ? {} : { from: new CidrSet(from) }),
    files: files.map((rule, index) => ({
      action: rule.allow === undefined ? "deny" : "allow",
      glob: rule.allow ?? rule.deny ?? "",
      source: source.locate([...path, "files", index]),
    })),
    mask: detectors(mask),
    mask_input: mask_input === true ? detectors(mask) : detectors(mask_input || []),
    mask_recording_only: (entryMasking ?? masking.value)?.recording_only ?? false,
  };
}

function buildTargetSelection(raw: RawTargetSelection): TargetSelection {
  return {
    names: raw.names,
    ...(raw.labels === undefined ? {} : { labels: new Map(Object.entries(raw.labels)) }),
  };
}

function buildSignalRule(raw: RawSignalRule, location: SourceLocation): SignalRule {
  const { commands, except, paths, direction, when, ...rest } = raw;
  return {
    ...rest,
    source: location,
    ...(commands === undefined ? {} : { commands: toPattern(commands) }),
    ...(except === undefined ? {} : { except: toPattern(except) }),
    ...(paths === undefined
      ? {}
      : {
          paths: {
            globs: typeof paths === "string" ? [paths] : paths,
            ...(direction === undefined ? {} : { direction }),
          },
        }),
    ...(when === undefined ? {} : { when: buildSignalCondition(when) }),
  };
}

function buildSignalCondition(raw: NonNullable<RawSignalRule["when"]>): SignalCondition {
  const { targets, from_outside, ...rest } = raw;
  return {
    ...rest,
    ...(targets === undefined ? {} : { targets: buildTargetSelection(targets) }),
    ...(from_outside === undefined ? {} : { from_outside: new CidrSet(from_outside) }),
  };
}
