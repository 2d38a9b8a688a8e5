// The schema of portcullis.yaml (SPEC §3): strict sections, defaults for
// everything optional, durations in ms, and every path resolved against the
// config file's directory. Keys keep YAML's snake_case.
import { resolve } from "node:path";
import { z } from "zod";
import { isLoopbackHost, isSecureOrLoopbackUrl } from "../oidc/loopback.js";
import { HOST_NAME_PATTERN } from "../openssh/host-name.js";
import { parseHostPort } from "../policy/address.js";
import { publicKeyLineSchema } from "../policy/public-key.js";
import { durationSchema, sizeSchema } from "../util/units.js";
import { parsedString } from "../util/yaml-source.js";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;

/** http(s) URLs only; the value is not echoed in the error (webhook URLs can carry tokens). */
function parseHttpUrl(text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url?.protocol !== "https:" && url?.protocol !== "http:") {
    throw new RangeError("expected an http:// or https:// URL");
  }
  return text;
}

const listenSchema = parsedString(
  (text) => parseHostPort(text, { allowPortZero: true }),
  "expected host:port, e.g. 0.0.0.0:2222",
);
const urlSchema = parsedString(parseHttpUrl, "expected an http:// or https:// URL");
const textSchema = z.string().min(1);

/** OIDC issuers: https, or http only on a loopback host (demo, tests). */
function parseIssuerUrl(text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url === undefined || !isSecureOrLoopbackUrl(url)) {
    throw new RangeError("expected an https:// URL (http:// only on a loopback address)");
  }
  if (url.search !== "" || url.hash !== "")
    throw new RangeError("must not have a query or fragment");
  return text;
}

const issuerSchema = parsedString(parseIssuerUrl, "expected an https:// URL");

/** How one issuer's claims become a certificate's user and groups (docs/login.md). */
const claimMappingFields = {
  groups: z.array(textSchema).default([]),
  allowed_groups: z.array(textSchema).optional(),
  group_map: z.record(textSchema, textSchema).default({}),
  required_claims: z
    .record(textSchema, z.union([textSchema, z.array(textSchema).min(1)]))
    .default({}),
  username_prefix: z.string().default(""),
  max_token_age: durationSchema.optional(),
  cap_to_token_lifetime: z.boolean().default(false),
};

const workloadIssuerSchema = z.strictObject({
  issuer: issuerSchema,
  audience: textSchema,
  username_claim: textSchema.default("sub"),
  groups_claim: textSchema.optional(),
  cert_ttl: durationSchema.prefault("1h"),
  ...claimMappingFields,
});

/** The schema for a config file in `dir` (relative paths resolve against it). */
export function configSchema(dir: string) {
  const pathSchema = textSchema.transform((path) => resolve(dir, path));
  return z
    .strictObject({
      ssh: z
        .strictObject({
          listen: listenSchema.prefault("0.0.0.0:2222"),
          host_key: pathSchema.prefault("keys/host_ed25519"),
          host_certificate: pathSchema.prefault("keys/host_ed25519-cert.pub"),
          host_ca: pathSchema.prefault("keys/host_ca.pub"),
          host_names: z
            .array(
              z.string().regex(HOST_NAME_PATTERN, {
                error: "expected a host name or address (no spaces, commas or wildcards)",
              }),
            )
            .min(1)
            .optional(),
          host_certificate_ttl: durationSchema.prefault("365d"),
          login_timeout: durationSchema.prefault("30s"),
          upstream_timeout: durationSchema.prefault("10s"),
          shell_startup_timeout: durationSchema.prefault("15s"),
          /** SIGTERM: how long open sessions may go on (they are warned) before they are ended. */
          shutdown_grace: durationSchema.prefault("30s"),
        })
        .prefault({}),
      http: z
        .strictObject({
          listen: listenSchema.prefault("127.0.0.1:8080"),
          public_url: urlSchema.optional(),
          tls: z.strictObject({ cert: pathSchema, key: pathSchema }).optional(),
          rate_limit: z
            .strictObject({
              max: z.number().int().positive().default(10),
              window: durationSchema.prefault("1m"),
            })
            .prefault({}),
        })
        .refine((http) => http.tls !== undefined || isLoopbackHost(http.listen.host), {
          error:
            "plain http is only allowed on a loopback address: set http.tls.cert and http.tls.key",
          path: ["listen"],
        })
        .optional(),
      oidc: z
        .strictObject({
          issuer: issuerSchema,
          client_id: textSchema,
          username_claim: textSchema.default("email"),
          groups_claim: textSchema.default("groups"),
          cert_ttl: durationSchema.prefault("8h"),
          ...claimMappingFields,
          workloads: z.array(workloadIssuerSchema).default([]),
        })
        .optional(),
      ca: z
        .strictObject({
          user_key: pathSchema.prefault("keys/user_ca"),
          extra_trusted: z.array(publicKeyLineSchema).default([]),
          revocation_file: pathSchema.prefault("data/revoked.txt"),
          max_ttl: durationSchema.prefault("24h"),
          default_ttl: durationSchema.prefault("8h"),
          clock_skew: durationSchema.prefault("2m"),
        })
        .refine((ca) => ca.default_ttl <= ca.max_ttl, {
          error: "must not exceed max_ttl",
          path: ["default_ttl"],
        })
        .prefault({}),
      vault: z
        .strictObject({
          path: pathSchema.prefault("vault/"),
          master_key_file: pathSchema.prefault("keys/vault.key"),
        })
        .prefault({}),
      policy: z.strictObject({ dir: pathSchema.prefault("policies/") }).prefault({}),
      recordings: z
        .strictObject({
          dir: pathSchema.prefault("recordings/"),
          record_input: z.boolean().default(false),
          fsync_interval_ms: z.number().int().positive().default(1000),
          signing_key: pathSchema.prefault("keys/audit_ed25519"),
          mode: z.enum(["required", "best_effort"]).default("required"),
          retention: durationSchema
            .refine((ms) => ms >= 86_400_000, { error: "must be at least 1d" })
            .optional(),
        })
        .prefault({}),
      database: z.strictObject({ path: pathSchema.prefault("data/portcullis.db") }).prefault({}),
      approvals: z
        .strictObject({
          webhook: urlSchema.optional(),
          webhook_secret_file: pathSchema.optional(),
          timeout: durationSchema.prefault("10m"),
        })
        .prefault({}),
      signals: z
        .strictObject({
          threshold: z.number().int().positive().default(100),
          half_life: durationSchema
            .refine((ms) => ms > 0, { error: "must be longer than 0" })
            .prefault("30m"),
          webhook: urlSchema.optional(),
          webhook_secret_file: pathSchema.optional(),
        })
        .prefault({}),
      viewer: z
        .strictObject({
          auditor_groups: z.array(textSchema).default([]),
          approver_groups: z.array(textSchema).default([]),
          session_idle: durationSchema.prefault("30m"),
          session_max: durationSchema.prefault("12h"),
          share_max_ttl: durationSchema.prefault("7d"),
        })
        .refine((viewer) => viewer.session_idle <= viewer.session_max, {
          error: "must not exceed session_max",
          path: ["session_idle"],
        })
        .prefault({}),
      /** The operations listener: /metrics, /healthz, /readyz (docs/operations.md); off when absent. */
      metrics: z.strictObject({ listen: listenSchema.prefault("127.0.0.1:9464") }).optional(),
      logging: z
        .strictObject({
          level: z.enum(LOG_LEVELS).default("info"),
          /** Append to this file (with `stdout: true`, as well as to stdout). */
          audit_file: pathSchema.optional(),
          /** Lines on stdout (journald); default: only when there is no `audit_file`. */
          stdout: z.boolean().optional(),
          /** Rotation of `audit_file`. */
          rotate: z
            .strictObject({
              size: sizeSchema.prefault("100MB"),
              frequency: z.enum(["hourly", "daily"]).optional(),
              keep: z.number().int().positive().default(10),
            })
            .optional(),
          /** RFC 5424 over TCP (TLS when `tls` is set). */
          syslog: z
            .strictObject({
              address: listenSchema,
              tls: z.union([z.boolean(), z.strictObject({ ca: pathSchema })]).default(false),
              app_name: textSchema.default("portcullis"),
              facility: z
                .enum([
                  "auth",
                  "authpriv",
                  "daemon",
                  "local0",
                  "local1",
                  "local2",
                  "local3",
                  "local4",
                  "local5",
                  "local6",
                  "local7",
                ])
                .default("authpriv"),
            })
            .optional(),
          /** Batches of JSON lines POSTed to a collector. */
          http: z
            .strictObject({
              url: urlSchema,
              /** A file whose content is sent as the Authorization header. */
              authorization_file: pathSchema.optional(),
              flush_interval: durationSchema.prefault("1s"),
            })
            .optional(),
        })
        .refine((logging) => logging.rotate === undefined || logging.audit_file !== undefined, {
          error: "rotate needs audit_file",
          path: ["rotate"],
        })
        .refine((logging) => logging.stdout !== false || logging.audit_file !== undefined, {
          error: "stdout: false needs audit_file",
          path: ["stdout"],
        })
        .transform((logging) => ({
          ...logging,
          stdout: logging.stdout ?? logging.audit_file === undefined,
        }))
        .prefault({}),
    })
    .superRefine((config, ctx) => {
      const { oidc, ca } = config;
      if (oidc === undefined) return;
      const ttls: [number, PropertyKey[]][] = [
        [oidc.cert_ttl, ["oidc", "cert_ttl"]],
        ...oidc.workloads.map((workload, index): [number, PropertyKey[]] => [
          workload.cert_ttl,
          ["oidc", "workloads", index, "cert_ttl"],
        ]),
      ];
      for (const [ttl, path] of ttls) {
        if (ttl > ca.max_ttl)
          ctx.addIssue({ code: "custom", message: "must not exceed ca.max_ttl", path });
      }
    })
    .prefault({});
}

export type Config = z.output<ReturnType<typeof configSchema>>;
