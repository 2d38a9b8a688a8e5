// The issuers Portcullis trusts for `POST /v1/certs`, built from the `oidc`
// config section: the people's issuer (audience = client_id) and any
// workload issuers (CI providers), each with its own claim mapping.

import type { Config } from "../config/index.js";

export type IssuerKind = "person" | "workload";

export interface TrustedIssuer {
  readonly kind: IssuerKind;
  /** Exactly as in the tokens' `iss`. */
  readonly issuer: string;
  /** Must be (one of) the tokens' `aud`. */
  readonly audience: string;
  readonly usernameClaim: string;
  /** Prepended to the username claim (keeps issuers' user names apart). */
  readonly usernamePrefix: string;
  /** Absent: the tokens carry no groups (only `staticGroups` apply). */
  readonly groupsClaim?: string;
  /** Given to every identity from this issuer. */
  readonly staticGroups: readonly string[];
  /** IdP group name → Portcullis group name, applied first. */
  readonly groupMap: ReadonlyMap<string, string>;
  /** When present, only these (renamed) groups reach the certificate. */
  readonly allowedGroups?: ReadonlySet<string>;
  /** Claim name → accepted string values; every one must match. */
  readonly requiredClaims: ReadonlyMap<string, readonly string[]>;
  /** Refuse tokens issued (`iat`) longer ago than this. */
  readonly maxTokenAgeMs?: number;
  readonly certTtlMs: number;
  /** End certificates no later than the token expires. */
  readonly capToTokenLifetime: boolean;
}

type OidcConfig = NonNullable<Config["oidc"]>;
type MappingConfig = Pick<
  OidcConfig,
  | "groups"
  | "allowed_groups"
  | "group_map"
  | "required_claims"
  | "username_prefix"
  | "max_token_age"
  | "cap_to_token_lifetime"
>;

function mapping(config: MappingConfig) {
  return {
    usernamePrefix: config.username_prefix,
    staticGroups: config.groups,
    groupMap: new Map(Object.entries(config.group_map)),
    ...(config.allowed_groups === undefined
      ? {}
      : { allowedGroups: new Set(config.allowed_groups) }),
    requiredClaims: new Map(
      Object.entries(config.required_claims).map(([name, value]) => [
        name,
        typeof value === "string" ? [value] : value,
      ]),
    ),
    ...(config.max_token_age === undefined ? {} : { maxTokenAgeMs: config.max_token_age }),
    capToTokenLifetime: config.cap_to_token_lifetime,
  };
}

export function trustedIssuers(oidc: OidcConfig): TrustedIssuer[] {
  const person: TrustedIssuer = {
    kind: "person",
    issuer: oidc.issuer,
    audience: oidc.client_id,
    usernameClaim: oidc.username_claim,
    groupsClaim: oidc.groups_claim,
    certTtlMs: oidc.cert_ttl,
    ...mapping(oidc),
  };
  const workloads = oidc.workloads.map(
    (workload): TrustedIssuer => ({
      kind: "workload",
      issuer: workload.issuer,
      audience: workload.audience,
      usernameClaim: workload.username_claim,
      ...(workload.groups_claim === undefined ? {} : { groupsClaim: workload.groups_claim }),
      certTtlMs: workload.cert_ttl,
      ...mapping(workload),
    }),
  );
  return [person, ...workloads];
}
