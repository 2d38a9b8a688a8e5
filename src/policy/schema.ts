// Strict zod schemas for one policy file (`targets`, `rulesets`, `access`,
// `signals`): structure, types, value formats and per-item consistency, and
// the defaults of `signals.behaviour`. Checks that need the whole merged
// policy (duplicate names, references) live in parse.ts.
import { z } from "zod";
import { unsafeRegexReason } from "../masking/custom-detector.js";
import { durationSchema, parseDuration, parseSize, sizeSchema } from "../util/units.js";
import { parsedString } from "../util/yaml-source.js";
import { parseHostPort } from "./address.js";
import { parseCidr } from "./cidr.js";
import { type ForwardingRules, parseDestinationPattern } from "./forwarding.js";
import { publicKeyLineSchema } from "./public-key.js";
import { checkTimeZone, parseHours, WEEKDAYS } from "./schedule.js";
import type { BehaviourSettings, WindowedSignal } from "./types.js";

/** Names of targets, rulesets, access entries and vault entries. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const LOGIN = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** The SSH user name reserved for the approver console (SPEC §2). */
export const APPROVER_CONSOLE_USER = "approvals";
export const RESERVED_TARGET_NAMES: readonly string[] = [APPROVER_CONSOLE_USER];

/** Built-in masking detectors (SPEC §9). */
export const MASK_DETECTORS = [
  "credit-card",
  "us-ssn",
  "iban",
  "aws-access-key-id",
  "aws-secret-key",
  "private-key",
  "jwt",
  "password-assignment",
  "bearer-token",
  "generic-secret",
] as const;

const nameSchema = z.string().regex(NAME, {
  error: "must start with a letter or digit and contain only letters, digits, '.', '_' and '-'",
});
const loginSchema = z.string().regex(LOGIN, { error: "not a valid login name" });
const textSchema = z.string().min(1);
const ruleActionSchema = z.enum(["allow", "warn", "approve", "deny"]);

const regexSchema = parsedString((source) => {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new RangeError(`invalid regex: ${(error as Error).message.replace(/^.*: /, "")}`);
  }
});

const principalsSchema = z
  .strictObject({ groups: z.array(textSchema).default([]), users: z.array(textSchema).default([]) })
  .refine((p) => p.groups.length + p.users.length > 0, {
    error: "needs at least one group or user",
  });

const labelsSchema = z.record(textSchema, z.string());

const targetSchema = z
  .strictObject({
    address: parsedString((text) => parseHostPort(text, { defaultPort: 22 })),
    logins: z.array(loginSchema).min(1),
    credential: z.union([nameSchema, z.record(loginSchema, nameSchema)], {
      error: "expected a vault entry name or a map of login to vault entry name",
    }),
    host_key: publicKeyLineSchema.optional(),
    host_ca: publicKeyLineSchema.optional(),
    labels: labelsSchema.default({}),
    shell: z.enum(["auto", "bash", "zsh"]).default("auto"),
  })
  .superRefine((target, ctx) => {
    if ((target.host_key === undefined) === (target.host_ca === undefined)) {
      const message =
        target.host_key === undefined
          ? "host_key or host_ca is required (unpinned targets are refused)"
          : "set host_key or host_ca, not both";
      ctx.addIssue({ code: "custom", message });
    }
    target.logins.forEach((login, index) => {
      if (target.logins.indexOf(login) !== index) {
        ctx.addIssue({
          code: "custom",
          path: ["logins", index],
          message: `duplicate login "${login}"`,
        });
      }
    });
    if (typeof target.credential === "string") return;
    for (const login of target.logins) {
      if (!Object.hasOwn(target.credential, login)) {
        ctx.addIssue({
          code: "custom",
          path: ["credential"],
          message: `no credential for login "${login}"`,
        });
      }
    }
    for (const login of Object.keys(target.credential)) {
      if (!target.logins.includes(login)) {
        ctx.addIssue({
          code: "custom",
          path: ["credential", login],
          message: `"${login}" is not in logins`,
        });
      }
    }
  });

const scheduleSchema = z
  .strictObject({
    days: z.array(z.enum(WEEKDAYS)).min(1).optional(),
    hours: parsedString(parseHours).optional(),
    tz: parsedString(checkTimeZone).default("UTC"),
  })
  .refine((when) => when.days !== undefined || when.hours !== undefined, {
    error: "needs days or hours",
  });

/** How command approvals are decided: by a rule, or by default for an access entry's commands. */
const approvalTuning = {
  quorum: z.number().int().min(1).optional(),
  reuse: durationSchema.optional(),
  justify: z.boolean().optional(),
};

const approvalSchema = z.strictObject({
  approvers: principalsSchema,
  grant: durationSchema.optional(),
  timeout: durationSchema.optional(),
  ...approvalTuning,
});

const fileRuleSchema = z
  .strictObject({ allow: textSchema.optional(), deny: textSchema.optional() })
  .refine((rule) => (rule.allow === undefined) !== (rule.deny === undefined), {
    error: "a file rule needs exactly one of allow, deny",
  });

const maskSchema = z.union(
  [
    z.enum(MASK_DETECTORS, { error: `unknown detector (built-in: ${MASK_DETECTORS.join(", ")})` }),
    z.strictObject({
      name: nameSchema,
      // Checked here, at load, rather than when a session starts masking.
      regex: regexSchema.refine((regex) => unsafeRegexReason(regex) === undefined, {
        error: "the regex may take exponential time (nested repetition); rewrite it",
      }),
    }),
  ],
  { error: "expected a detector name or {name, regex}" },
);

/** `forwarding:` deny | allow | {allow: [host:port, …], remote: allow|deny} (docs/forwarding.md). */
const forwardingSchema = z
  .union([
    z
      .strictObject({
        allow: z.array(parsedString(parseDestinationPattern)).min(1).optional(),
        remote: z.enum(["allow", "deny"]).default("deny"),
      })
      .refine((rules) => rules.allow !== undefined || rules.remote === "allow", {
        error:
          "needs allow (destinations) or remote: allow; forwarding: deny forbids all forwarding",
      })
      .transform(
        (rules): ForwardingRules => ({
          allow: rules.allow ?? [],
          remote: rules.remote === "allow",
        }),
      ),
    z.enum(["allow", "deny"]),
  ])
  .default("deny");

/** Where masking applies: `recording_only` keeps the user's screen unmasked (the recording still is). */
const maskingSchema = z.strictObject({ recording_only: z.boolean() });

const targetSelectionSchema = z
  .strictObject({ names: z.array(nameSchema).default([]), labels: labelsSchema.optional() })
  .refine((t) => t.names.length > 0 || t.labels !== undefined, {
    error: "needs names or labels",
  })
  .refine((t) => t.labels === undefined || Object.keys(t.labels).length > 0, {
    error: "labels must not be empty (it would match every target)",
    path: ["labels"],
  });

const cidrListSchema = z.array(parsedString(parseCidr)).min(1);

const accessEntrySchema = z
  .strictObject({
    name: nameSchema,
    subjects: principalsSchema,
    targets: targetSelectionSchema,
    logins: z.array(loginSchema).min(1).optional(),
    when: scheduleSchema.optional(),
    from: cidrListSchema.optional(),
    session: z.enum(["allow", "deny", "approve"]).default("allow"),
    approval: approvalSchema.optional(),
    max_session: durationSchema.optional(),
    commands: z.array(nameSchema).default([]),
    on_dynamic: ruleActionSchema.default("deny"),
    on_unverified: ruleActionSchema.default("deny"),
    file_transfer: z.enum(["allow", "deny", "approve", "readonly", "writeonly"]).default("deny"),
    files: z.array(fileRuleSchema).default([]),
    max_download: sizeSchema.optional(),
    forwarding: forwardingSchema,
    mask: z.array(maskSchema).default([]),
    // true: the same detectors as `mask`.
    mask_input: z.union([z.boolean(), z.array(maskSchema)]).default([]),
    masking: maskingSchema.optional(),
    record_input: z.boolean().optional(),
  })
  .refine((entry) => entry.session !== "approve" || entry.approval !== undefined, {
    error: "session: approve needs approval.approvers",
    path: ["session"],
  });

const globsSchema = z.union([textSchema, z.array(textSchema).min(1)], {
  error: "expected a glob or a list of globs",
});

/** `{regex: …}` or `{writes: globs, except: globs}`; one object so errors name the key at fault. */
const patternObjectSchema = z
  .strictObject({
    regex: regexSchema.optional(),
    writes: globsSchema.optional(),
    except: globsSchema.optional(),
  })
  .refine((pattern) => (pattern.regex === undefined) !== (pattern.writes === undefined), {
    error: "needs exactly one of regex, writes",
  })
  .refine((pattern) => pattern.except === undefined || pattern.writes !== undefined, {
    error: "except only applies with writes",
    path: ["except"],
  });

const patternSchema = z.union([textSchema, z.array(textSchema).min(1), patternObjectSchema], {
  error: "expected a pattern string, a list of pattern strings, {regex: ...} or {writes: ...}",
});

const RULE_ACTIONS = ruleActionSchema.options;

const ruleSchema = z
  .strictObject({
    allow: patternSchema.optional(),
    warn: patternSchema.optional(),
    approve: patternSchema.optional(),
    deny: patternSchema.optional(),
    reason: textSchema.optional(),
    risk: z.number().int().min(0).max(100).optional(),
    exact: z.boolean().default(false),
    approvers: principalsSchema.optional(),
    ...approvalTuning,
  })
  .refine((rule) => RULE_ACTIONS.filter((action) => rule[action] !== undefined).length === 1, {
    error: `a rule needs exactly one of ${RULE_ACTIONS.join(", ")}`,
  })
  .refine(
    (rule) =>
      rule.approve !== undefined ||
      (rule.quorum === undefined && rule.reuse === undefined && rule.justify === undefined),
    { error: "quorum, reuse and justify only apply to approve rules" },
  );

const rulesetSchema = z.strictObject({
  default: ruleActionSchema,
  rules: z.array(ruleSchema).default([]),
});

// ---- signals (docs/policy.md "Signal rules", docs/signals.md) ----

/** `signals.behaviour` when no file sets it, and each key's default when a file leaves it out. */
export const DEFAULT_BEHAVIOUR: BehaviourSettings = {
  lookback: parseDuration("30d"),
  min_history: 3,
  first_target: 20,
  first_label: 30,
  new_network: { score: 20, networks: [], ipv4_prefix: 24, ipv6_prefix: 64 },
  off_hours: 15,
  unusual_hour: { score: 15, min_history: 10 },
  denial_streak: { count: 3, within: parseDuration("2m"), score: 30 },
  privileged_burst: { count: 5, within: parseDuration("1m"), min_risk: 30, score: 30 },
  download_volume: { factor: 10, floor: parseSize("100MB"), score: 40 },
  approval_fanout: { count: 5, within: parseDuration("15m"), score: 25 },
  denial_override: { within: parseDuration("10m"), score: 20 },
};

const SIGNAL_RULE_NAME = /^[a-z0-9][a-z0-9-]*$/;
const percentSchema = z.number().int().min(0).max(100);
/** A behavioural signal's score: 0 turns it off. */
const behaviourScoreSchema = percentSchema;
const historySchema = z.number().int().min(0);

function windowedShape(preset: WindowedSignal) {
  return {
    count: z.number().int().min(1).default(preset.count),
    within: durationSchema.default(preset.within),
    score: behaviourScoreSchema.default(preset.score),
  };
}

const defaults = DEFAULT_BEHAVIOUR;

const prefixSchema = (max: number) => z.number().int().min(0).max(max);

/** `new_network: 20` (a score) or the long form with the networks addresses group into. */
const newNetworkSchema = z
  .union(
    [
      behaviourScoreSchema.transform((score) => ({ ...defaults.new_network, score })),
      z.strictObject({
        score: behaviourScoreSchema.default(defaults.new_network.score),
        networks: z.array(parsedString(parseCidr)).default([]),
        ipv4_prefix: prefixSchema(32).default(defaults.new_network.ipv4_prefix),
        ipv6_prefix: prefixSchema(128).default(defaults.new_network.ipv6_prefix),
      }),
    ],
    { error: "expected a score or {score, networks, ipv4_prefix, ipv6_prefix}" },
  )
  .default(defaults.new_network);

const behaviourSchema = z.strictObject({
  lookback: durationSchema.default(defaults.lookback),
  min_history: historySchema.default(defaults.min_history),
  first_target: behaviourScoreSchema.default(defaults.first_target),
  first_label: behaviourScoreSchema.default(defaults.first_label),
  new_network: newNetworkSchema,
  off_hours: behaviourScoreSchema.default(defaults.off_hours),
  unusual_hour: z
    .strictObject({
      score: behaviourScoreSchema.default(defaults.unusual_hour.score),
      min_history: historySchema.default(defaults.unusual_hour.min_history),
    })
    .default(defaults.unusual_hour),
  denial_streak: z
    .strictObject(windowedShape(defaults.denial_streak))
    .default(defaults.denial_streak),
  privileged_burst: z
    .strictObject({
      ...windowedShape(defaults.privileged_burst),
      min_risk: percentSchema.default(defaults.privileged_burst.min_risk),
    })
    .default(defaults.privileged_burst),
  download_volume: z
    .strictObject({
      factor: z.number().positive().default(defaults.download_volume.factor),
      floor: sizeSchema.default(defaults.download_volume.floor),
      score: behaviourScoreSchema.default(defaults.download_volume.score),
    })
    .default(defaults.download_volume),
  approval_fanout: z
    .strictObject(windowedShape(defaults.approval_fanout))
    .default(defaults.approval_fanout),
  denial_override: z
    .strictObject({
      within: durationSchema.default(defaults.denial_override.within),
      score: behaviourScoreSchema.default(defaults.denial_override.score),
    })
    .default(defaults.denial_override),
});

const signalConditionSchema = z
  .strictObject({
    targets: targetSelectionSchema.optional(),
    logins: z.array(loginSchema).min(1).optional(),
    subjects: principalsSchema.optional(),
    off_hours: z.boolean().optional(),
    from_outside: cidrListSchema.optional(),
  })
  .refine((when) => Object.keys(when).length > 0, {
    error: "needs at least one of targets, logins, subjects, off_hours, from_outside",
  });

const signalRuleSchema = z
  .strictObject({
    name: z.string().regex(SIGNAL_RULE_NAME, {
      error: "must start with a lower-case letter or digit and contain only a-z, 0-9 and '-'",
    }),
    commands: patternSchema.optional(),
    except: patternSchema.optional(),
    exact: z.boolean().default(false),
    paths: globsSchema.optional(),
    direction: z.enum(["download", "upload"]).optional(),
    when: signalConditionSchema.optional(),
    score: z.number().int().min(1).max(100),
    action: z.enum(["warn", "approve", "deny", "end-session"]).optional(),
    reason: textSchema.optional(),
  })
  .refine((rule) => rule.direction === undefined || rule.paths !== undefined, {
    error: "direction only applies with paths",
    path: ["direction"],
  })
  .refine((rule) => rule.except === undefined || rule.commands !== undefined, {
    error: "except only applies with commands",
    path: ["except"],
  })
  .refine(
    (rule) => rule.commands !== undefined || rule.paths !== undefined || rule.when !== undefined,
    {
      error: "a signal rule without commands or paths needs when",
    },
  );

const signalsSchema = z.strictObject({
  /** Set in one file at most. */
  business_hours: scheduleSchema.optional(),
  /** Set in one file at most. */
  behaviour: behaviourSchema.optional(),
  rules: z.array(signalRuleSchema).default([]),
});

export const policyFileSchema = z
  .strictObject({
    targets: z.record(nameSchema, targetSchema).default({}),
    rulesets: z.record(nameSchema, rulesetSchema).default({}),
    access: z.array(accessEntrySchema).default([]),
    /** The default for every access entry's `masking` (set in one file at most). */
    masking: maskingSchema.optional(),
    signals: signalsSchema.optional(),
  })
  .prefault({});

export type PolicyFile = z.output<typeof policyFileSchema>;
export type RawTarget = PolicyFile["targets"][string];
export type RawAccessEntry = PolicyFile["access"][number];
export type RawRuleset = PolicyFile["rulesets"][string];
export type RawRule = RawRuleset["rules"][number];
export type RawTargetSelection = RawAccessEntry["targets"];
export type RawSignals = NonNullable<PolicyFile["signals"]>;
export type RawSignalRule = RawSignals["rules"][number];
